"""Monthly cost of the fleet before and after optimizing, and where the difference comes from.

The levers are applied one after another to the same state, so each category is the cost
difference its own change makes on top of the ones before it and nothing is counted twice:

1. ``rightsizing``  new task size at the old architecture, count and strategy
2. ``graviton``     new CPU architecture (ARM64 rates; ``--allow-arm64`` only)
3. ``taskCount``    new desired count
4. ``spot``         new capacity-provider strategy (Spot tasks at ``1 - spot_discount``)
5. ``ecrStorage``   new image retention
6. ``network``      NAT gateways against VPC endpoints (with a :class:`NetworkState` only)

A Compute Savings Plan for the on-demand floor left is recommended beside them
(:mod:`savings_plan`), never counted in the totals: it is a purchase, not a change.

The categories therefore add up to the total saving exactly. Amounts are carried as exact
fractions (a Spot share of 2/3 or an image of 1,234,567 bytes has no exact decimal within
Decimal's default precision) and rounded to cents only in :meth:`SavingsReport.to_dict`,
where each category is the difference of the rounded running totals, so the rounded
categories still add up to the rounded total.

A lever can be negative (an under-sized service grows): it is reported as a cost, not hidden.
The network lever is the exception, because it is a recommendation rather than a change the
optimizer makes; see :func:`network_costs`.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any, Dict, List, Mapping, Optional, Tuple

from .components import (
    Component,
    network_components,
    network_state_components,
    service_components,
    total,
)
from .model import NetworkState, ServiceState
from .network_lever import REQUIRED_INTERFACE_ENDPOINTS, MigrationStep, migration_plan
from .pricing import HOURS_PER_MONTH, PriceTable
from .savings_plan import SavingsPlanRecommendation, recommend_savings_plan
from .savings_render import FORMATS, render  # noqa: F401 - FORMATS: the formats render_savings takes

CATEGORIES = ("rightsizing", "graviton", "taskCount", "spot", "ecrStorage", "network")

#: Interface endpoints the recommended network design adds so that image pulls, logs,
#: secrets and parameters stop flowing through NAT (S3, for image layers, is a free gateway
#: endpoint and costs nothing either way).
RECOMMENDED_INTERFACE_ENDPOINTS = REQUIRED_INTERFACE_ENDPOINTS


def _round_half_up(value: Fraction, places: int) -> Decimal:
    """``value`` rounded half away from zero to ``places`` decimals, exactly."""
    scale = 10**places
    magnitude = (abs(value) * scale + Fraction(1, 2)).__floor__()
    sign = -1 if value < 0 else 1
    return Decimal(sign * magnitude).scaleb(-places)


def _money(value: Fraction) -> Decimal:
    return _round_half_up(value, 2)


def _out(value: Decimal) -> float:
    """A rounded amount as a JSON number, without a negative zero."""
    return float(value) if value != 0 else 0.0


# --------------------------------------------------------------------------- costs


def fargate_monthly(state: ServiceState, prices: PriceTable, spot_discount: Fraction) -> Fraction:
    """Monthly Fargate cost of ``state``'s desired tasks, Spot tasks at the discounted rate."""
    return total(c for c in service_components(state, prices, spot_discount) if c.unit != "GB-month")


def ecr_monthly(state: ServiceState, prices: PriceTable) -> Fraction:
    """Monthly ECR storage of the images the lifecycle rule keeps (all of them without a rule).

    ``ecr_image_bytes`` is newest first, the order "keep last N" keeps them in.
    """
    return total(c for c in service_components(state, prices, Fraction(0)) if c.unit == "GB-month")


def service_monthly(state: ServiceState, prices: PriceTable, spot_discount: Fraction) -> Fraction:
    """The exact sum of ``state``'s billed components (:mod:`components`)."""
    return total(service_components(state, prices, spot_discount))


def lever_states(before: ServiceState, after: ServiceState) -> List[ServiceState]:
    """``before``, then ``before`` with each lever of ``after`` applied in turn (ECR last).

    The last state prices exactly like ``after``.
    """
    sized = before.with_changes(cpu=after.cpu, memory=after.memory)
    moved = sized.with_changes(architecture=after.architecture)
    counted = moved.with_changes(desired_count=after.desired_count)
    spotted = counted.with_changes(strategy=after.strategy)
    stored = spotted.with_changes(ecr_keep_images=after.ecr_keep_images, ecr_image_bytes=after.ecr_image_bytes)
    return [before, sized, moved, counted, spotted, stored]


@dataclass(frozen=True)
class NetworkCosts:
    before_components: Tuple[Component, ...]
    recommended_components: Tuple[Component, ...]
    note: str
    steps: Tuple[MigrationStep, ...] = ()

    @property
    def before(self) -> Fraction:
        return total(self.before_components)

    @property
    def recommended(self) -> Fraction:
        return total(self.recommended_components)

    @property
    def adopted(self) -> bool:
        """Whether the recommendation is counted (it is unless it costs more than today)."""
        return self.recommended <= self.before

    @property
    def saving(self) -> Fraction:
        """What adopting the recommendation saves; zero (never negative) if it costs more."""
        return max(Fraction(0), self.before - self.recommended)

    @property
    def after(self) -> Fraction:
        """Counted after-cost: the recommended design's, or today's when that is cheaper."""
        return self.before - self.saving

    @property
    def after_components(self) -> Tuple[Component, ...]:
        return self.recommended_components if self.adopted else self.before_components


def network_costs(network: NetworkState, prices: PriceTable) -> NetworkCosts:
    """Monthly egress charges of the current design against the recommended one.

    Recommended: one NAT gateway instead of one per AZ, and interface endpoints for
    :data:`RECOMMENDED_INTERFACE_ENDPOINTS` in every AZ so AWS-bound traffic skips NAT. It
    is applied by the network layer (``natStrategy`` and ``interfaceEndpoints``), not by the
    optimizer: the saving shows what that change is worth, and :attr:`NetworkCosts.steps`
    the order to make it in. Existing endpoints are assumed to be among the recommended
    ones. AWS-bound traffic is priced at the NAT gateway's per-GB processing charge while
    there are no interface endpoints and at the endpoints' per-GB charge after; internet-bound
    traffic stays on NAT. Without traffic figures the result is a floor.
    """
    aws_gb = Fraction(str(network.aws_traffic_gb_month))
    internet_gb = Fraction(str(network.internet_traffic_gb_month))
    before = network_state_components(network, prices)
    endpoints_after = max(network.interface_endpoint_count, len(RECOMMENDED_INTERFACE_ENDPOINTS))
    nat_after = min(network.nat_gateway_count, 1)
    recommended = network_components(
        nat_after, endpoints_after, network.availability_zones, aws_gb, internet_gb, prices
    )
    design = f"{nat_after} NAT gateway and {endpoints_after} interface endpoints in {network.availability_zones} AZs"
    where = "natStrategy single in stacks/network; a recommendation, not a live change"
    if aws_gb or internet_gb:
        priced = (
            f"{float(aws_gb):,.1f} GB a month of AWS-bound and {float(internet_gb):,.1f} GB of "
            "internet-bound traffic included"
        )
        if network.traffic_source:
            priced += f" ({network.traffic_source})"
    else:
        priced = "hourly charges only: pass the AWS-bound traffic to price NAT data processing"
    if total(recommended) > total(before):
        note = (
            f"network: the recommended design ({design}; {where}) costs "
            f"${_money(total(recommended) - total(before))} a month more than today's "
            f"{network.nat_gateway_count} NAT gateways and {network.interface_endpoint_count} "
            f"interface endpoints, so no network saving is counted; {priced}"
        )
        steps: Tuple[MigrationStep, ...] = ()
    else:
        note = f"network: {design} ({where}); {priced}"
        steps = tuple(migration_plan(network.nat_gateway_count, network.interface_endpoints, nat_after))
    return NetworkCosts(tuple(before), tuple(recommended), note, steps)


# --------------------------------------------------------------------------- report

#: Version of the JSON document :meth:`SavingsReport.to_dict` returns; its JSON Schema is
#: ``schemas/savings-report.schema.json``. Bump it on any change that is not additive.
SCHEMA_VERSION = "2.0"

#: What a percentage is a share of, as the report labels it.
BASE_COMPUTE = "of compute"
BASE_COMPUTE_AND_NETWORK = "of compute and network"


@dataclass(frozen=True)
class ReportContext:
    """Where and when the report was made, printed with every format."""

    environment: Optional[str] = None
    cluster: Optional[str] = None
    region: Optional[str] = None
    generated_at: Optional[str] = None  # ISO 8601 UTC

    @classmethod
    def now(cls, environment: Optional[str], cluster: Optional[str], region: Optional[str]) -> "ReportContext":
        stamp = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        return cls(environment, cluster, region, stamp)


@dataclass(frozen=True)
class ServiceSavings:
    service: str
    before: Fraction
    after: Fraction
    before_components: Tuple[Component, ...] = ()
    after_components: Tuple[Component, ...] = ()

    @property
    def monthly_savings(self) -> Fraction:
        return self.before - self.after


@dataclass(frozen=True)
class SavingsReport:
    """Before and after monthly cost, the saving by lever and by service.

    ``levels`` are the running monthly totals: before, then after each category in
    :data:`CATEGORIES` order; the last one is the after total. All amounts are exact
    fractions of a dollar; :meth:`to_dict` rounds them.
    """

    pricing_source: str
    pricing_region: str
    pricing_as_of: str
    levels: Tuple[Fraction, ...]
    services: Tuple[ServiceSavings, ...]
    notes: Tuple[str, ...] = field(default_factory=tuple)
    network: Optional[NetworkCosts] = None
    currency: str = "USD"
    hours_per_month: int = HOURS_PER_MONTH
    savings_plan: Optional[SavingsPlanRecommendation] = None
    context: ReportContext = field(default_factory=ReportContext)

    def __post_init__(self) -> None:
        if len(self.levels) != len(CATEGORIES) + 1:
            raise ValueError(f"levels needs {len(CATEGORIES) + 1} running totals, got {len(self.levels)}")

    @property
    def before_monthly(self) -> Fraction:
        return self.levels[0]

    @property
    def after_monthly(self) -> Fraction:
        return self.levels[-1]

    @property
    def monthly_savings(self) -> Fraction:
        return self.before_monthly - self.after_monthly

    @property
    def compute_before(self) -> Fraction:
        """Fargate and ECR before: the total without the network."""
        return sum((s.before for s in self.services), Fraction(0))

    def breakdown(self) -> Dict[str, Fraction]:
        """Unrounded saving per category; the values sum to :attr:`monthly_savings`."""
        return {category: self.levels[i] - self.levels[i + 1] for i, category in enumerate(CATEGORIES)}

    @property
    def percent_base(self) -> str:
        """What :attr:`percent` is a share of."""
        return BASE_COMPUTE_AND_NETWORK if self.network is not None else BASE_COMPUTE

    @property
    def percent(self) -> Decimal:
        """Saving as a percentage of the before total (:attr:`percent_base`), to 0.1."""
        return _percent(self.monthly_savings, self.before_monthly)

    def percentages(self) -> List[dict]:
        """The saving as a share of each base it can be read against, each labelled."""
        out: List[Dict[str, Any]] = [
            {"base": BASE_COMPUTE, "savings": self.monthly_savings - self._network_saving(), "of": self.compute_before}
        ]
        if self.network is not None:
            out.append({"base": BASE_COMPUTE_AND_NETWORK, "savings": self.monthly_savings, "of": self.before_monthly})
        return [
            {
                "base": p["base"],
                "monthlySavings": _out(_money(p["savings"])),
                "percent": _out(_percent(p["savings"], p["of"])),
            }
            for p in out
        ]

    def _network_saving(self) -> Fraction:
        return self.network.saving if self.network is not None else Fraction(0)

    def to_dict(self) -> dict:
        """The documented JSON shape (``schemas/savings-report.schema.json``); money rounded
        to cents, percentages to 0.1.

        The ``services`` rows plus the ``network`` row add up to the totals exactly: the
        network row is what the rounded totals hold beyond the rounded service rows.
        """
        rounded = [_money(level) for level in self.levels]
        services = [
            {
                "service": s.service,
                "before": _out(_money(s.before)),
                "after": _out(_money(s.after)),
                "monthlySavings": _out(_money(s.before) - _money(s.after)),
            }
            for s in self.services
        ]
        data = {
            "schemaVersion": SCHEMA_VERSION,
            "environment": self.context.environment,
            "cluster": self.context.cluster,
            "region": self.context.region or self.pricing_region,
            "generatedAt": self.context.generated_at,
            "currency": self.currency,
            "hoursPerMonth": self.hours_per_month,
            "pricing": {
                "source": self.pricing_source,
                "region": self.pricing_region,
                "asOf": self.pricing_as_of,
            },
            "before": {"monthly": _out(rounded[0])},
            "after": {"monthly": _out(rounded[-1])},
            "monthlySavings": _out(rounded[0] - rounded[-1]),
            "percent": _out(self.percent),
            "percentBase": self.percent_base,
            "percentages": self.percentages(),
            "breakdown": [
                {"category": category, "monthly": _out(rounded[i] - rounded[i + 1])}
                for i, category in enumerate(CATEGORIES)
            ],
            "services": services,
            "network": None,
            "components": self._components(),
            "savingsPlan": _savings_plan_dict(self.savings_plan),
            "notes": list(self.notes),
        }
        if self.network is not None:
            net_before = rounded[0] - sum(_money(s.before) for s in self.services)
            net_after = rounded[-1] - sum(_money(s.after) for s in self.services)
            data["network"] = {
                "before": _out(net_before),
                "after": _out(net_after),
                "monthlySavings": _out(net_before - net_after),
                "adopted": self.network.adopted,
                "recommendedMonthly": _out(_money(self.network.recommended)),
                "migrationPlan": [step.to_dict() for step in self.network.steps],
            }
        return data

    def _components(self) -> List[dict]:
        rows: List[dict] = []
        for side in ("before", "after"):
            groups: List[Tuple[Component, ...]] = [
                s.before_components if side == "before" else s.after_components for s in self.services
            ]
            if self.network is not None:
                groups.append(self.network.before_components if side == "before" else self.network.after_components)
            for group in groups:
                rows.extend(_component_dict(c, side) for c in group)
        return rows


def _percent(part: Fraction, whole: Fraction) -> Decimal:
    return _round_half_up(part / whole * 100, 1) if whole else Decimal(0)


def _component_dict(c: Component, side: str) -> dict:
    return {
        "state": side,
        "scope": c.scope,
        "item": c.item,
        "quantity": _out(_round_half_up(c.quantity, 4)),
        "unit": c.unit,
        "unitPrice": _out(_round_half_up(c.unit_price, 6)),
        "monthly": _out(_money(c.monthly)),
    }


def _savings_plan_dict(plan: Optional[SavingsPlanRecommendation]) -> Optional[dict]:
    if plan is None:
        return None
    return {
        "applied": False,
        "ratesAsOf": plan.rates_as_of,
        "onDemandFloorHourly": _out(_round_half_up(plan.floor_hourly, 4)),
        "onDemandFloorMonthly": _out(_money(plan.floor_monthly)),
        "floor": [
            {"service": name, "tasks": _out(_round_half_up(tasks, 2)), "hourly": _out(_round_half_up(hourly, 4))}
            for name, tasks, hourly in plan.floor_by_service
        ],
        "terms": [
            {
                "term": t.term,
                "discountPercent": _out(_round_half_up(t.discount * 100, 1)),
                "hourlyCommitment": _out(_round_half_up(t.hourly_commitment, 4)),
                "monthlySavings": _out(_money(t.monthly_savings)),
                "breakEvenUtilizationPercent": _out(_round_half_up(t.break_even_utilization * 100, 1)),
            }
            for t in plan.terms
        ],
        "risk": plan.risk_note(),
    }


def compute_savings(
    before: Mapping[str, ServiceState],
    after: Mapping[str, ServiceState],
    prices: PriceTable,
    network: Optional[NetworkState] = None,
    spot_discount: float = 0.70,
    context: Optional[ReportContext] = None,
) -> SavingsReport:
    """Price ``before`` and ``after`` (keyed by service) and split the difference by lever.

    A service missing from ``after`` is taken as unchanged (skipped or failed services);
    one in ``after`` but not in ``before`` is an error, since it could not be priced before.
    ``spot_discount`` is how much cheaper Fargate Spot is than on-demand (about 70%; the
    Price List does not carry a reliable Spot price). The Savings Plan recommendation is
    computed on the after state and never counted in the totals.
    """
    if not 0 <= spot_discount <= 1:
        raise ValueError(f"spot_discount must be between 0 and 1, got {spot_discount}")
    unknown = sorted(set(after) - set(before))
    if unknown:
        raise ValueError(f"services planned but not in the current state: {', '.join(unknown)}")
    discount = Fraction(str(spot_discount))
    levels = [Fraction(0)] * (len(CATEGORIES) + 1)
    services: List[ServiceSavings] = []
    finals: Dict[str, ServiceState] = {}
    for name in sorted(before):
        chain = lever_states(before[name], after.get(name, before[name]))
        finals[name] = after.get(name, before[name])
        costs = [service_monthly(state, prices, discount) for state in chain]
        for i, cost in enumerate(costs):
            levels[i] += cost
        # the network lever does not touch services: their after total is the last lever's
        levels[len(costs)] += costs[-1]
        services.append(
            ServiceSavings(
                service=name,
                before=costs[0],
                after=costs[-1],
                before_components=tuple(service_components(chain[0], prices, discount)),
                after_components=tuple(service_components(chain[-1], prices, discount)),
            )
        )
    notes: List[str] = []
    net: Optional[NetworkCosts] = None
    if network is not None:
        net = network_costs(network, prices)
        levels = [level + net.before for level in levels[:-1]] + [levels[-1] + net.after]
        notes.append(net.note)
    plan = recommend_savings_plan(finals, prices) if finals else None
    return SavingsReport(
        pricing_source=prices.source,
        pricing_region=prices.region,
        pricing_as_of=prices.as_of,
        levels=tuple(levels),
        services=tuple(services),
        notes=tuple(notes),
        network=net,
        savings_plan=plan,
        context=context or ReportContext(),
    )


# --------------------------------------------------------------------------- rendering


def render_savings(report: SavingsReport, fmt: str = "table") -> str:
    """The report in ``fmt`` (one of :data:`FORMATS`); see :mod:`savings_render`."""
    return render(report.to_dict(), fmt)
