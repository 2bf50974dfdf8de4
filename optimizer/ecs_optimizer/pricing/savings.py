"""Monthly cost of the fleet before and after optimizing, and where the difference comes from.

The levers are applied one after another to the same state, so each category is the cost
difference its own change makes on top of the ones before it and nothing is counted twice (each
lever declares its categories: :attr:`levers.base.Lever.savings_steps`):

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
Decimal's default precision) and rounded to cents only in :meth:`SavingsReport.to_dict`, by
one rule (:data:`ROUNDING_RULE`): each billed line is rounded to the cent, a row (a service,
the network) is the sum of its rounded lines, a total is the sum of its rows, and the
levers' savings are split to the cent by largest remainder (:func:`costs.apportion_cents`)
so that they add up to the total saving. Every printed total is thus the sum of the printed
rows, and a lever or a row that changes nothing is exactly zero.

A lever can be negative (an under-sized service grows): it is reported as a cost, not hidden.
The network lever is the exception, because it is a recommendation rather than a change the
optimizer makes; see :func:`costs.network_costs`.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ..core.model import NetworkState, ServiceState
from ..levers import registry
from .components import (
    Component,
    service_components,
)
from .costs import NetworkCosts, apportion_cents, lever_states, money, network_costs, round_half_up, service_monthly
from .prices import HOURS_PER_MONTH, PriceTable
from .savings_plan import SavingsPlanRecommendation, recommend_savings_plan

NETWORK_CATEGORY = "network"
#: The breakdown's categories: the levers' savings steps, then the network (the savings report
#: schema lists them; a lever adding one is a schema change).
CATEGORIES = tuple(step.category for step in registry.savings_steps()) + (NETWORK_CATEGORY,)


def _out(value: Decimal) -> float:
    """A rounded amount as a JSON number, without a negative zero."""
    return float(value) if value != 0 else 0.0


# --------------------------------------------------------------------------- report

#: Version of the JSON document :meth:`SavingsReport.to_dict` returns; its JSON Schema is
#: ``schemas/savings-report.schema.json``. Bump it on any change that is not additive.
SCHEMA_VERSION = "2.0"

#: Whether the report prices a plan (an estimate) or what a finished run did (realised).
ESTIMATE = "estimate"
REALISED = "realised"

#: The rounding rule, printed with every report.
ROUNDING_RULE = (
    "Rounding: each billed line is rounded to the cent (half up); a row is the sum of its rounded lines, "
    "a total the sum of its rows; the levers' savings are split to the cent by largest remainder so "
    "they add up to the total saving."
)

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
    account: Optional[str] = None
    #: :data:`ESTIMATE` (the live state against a plan) or :data:`REALISED` (a finished run).
    basis: str = ESTIMATE

    @classmethod
    def now(
        cls,
        environment: Optional[str],
        cluster: Optional[str],
        region: Optional[str],
        account: Optional[str] = None,
        basis: str = ESTIMATE,
    ) -> "ReportContext":
        stamp = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        return cls(environment, cluster, region, stamp, account, basis)


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
        """The saving as a share of each base it can be read against, each labelled (from the
        rounded rows, as :meth:`to_dict` prints them)."""
        return self._rounded()["percentages"]

    def _network_saving(self) -> Fraction:
        return self.network.saving if self.network is not None else Fraction(0)

    def _rounded(self) -> Dict[str, Any]:
        """The rows, totals, breakdown and percentages rounded by :data:`ROUNDING_RULE`."""
        services = [
            (s.service, _rounded_sum(s.before_components), _rounded_sum(s.after_components)) for s in self.services
        ]
        compute_before = sum((b for _, b, _ in services), Decimal(0))
        compute_after = sum((a for _, _, a in services), Decimal(0))
        net_before = net_after = Decimal(0)
        if self.network is not None:
            net_before = _rounded_sum(self.network.before_components)
            net_after = _rounded_sum(self.network.after_components)
        before, after = compute_before + net_before, compute_after + net_after
        exact = self.breakdown()
        levers = [c for c in CATEGORIES if c != NETWORK_CATEGORY]
        split = apportion_cents([exact[c] for c in levers], compute_before - compute_after)
        breakdown = dict(zip(levers, split))
        breakdown[NETWORK_CATEGORY] = net_before - net_after
        shares = [(BASE_COMPUTE, compute_before - compute_after, compute_before)]
        if self.network is not None:
            shares.append((BASE_COMPUTE_AND_NETWORK, before - after, before))
        return {
            "services": services,
            "network": (net_before, net_after),
            "before": before,
            "after": after,
            "breakdown": breakdown,
            "percent": _percent(Fraction(before - after), Fraction(before)),
            "percentages": [
                {
                    "base": base,
                    "monthlySavings": _out(saving),
                    "percent": _out(_percent(Fraction(saving), Fraction(of))),
                }
                for base, saving, of in shares
            ],
        }

    def to_dict(self) -> dict:
        """The documented JSON shape (``schemas/savings-report.schema.json``); money rounded
        to cents by :data:`ROUNDING_RULE`, percentages to 0.1.

        The ``services`` rows plus the ``network`` row add up to the totals exactly, the
        ``breakdown`` to the total saving, and each side's ``components`` to its total.
        """
        r = self._rounded()
        data = {
            "schemaVersion": SCHEMA_VERSION,
            "basis": self.context.basis,
            "environment": self.context.environment,
            "cluster": self.context.cluster,
            "account": self.context.account,
            "region": self.context.region or self.pricing_region,
            "generatedAt": self.context.generated_at,
            "currency": self.currency,
            "hoursPerMonth": self.hours_per_month,
            "pricing": {
                "source": self.pricing_source,
                "region": self.pricing_region,
                "asOf": self.pricing_as_of,
            },
            "rounding": ROUNDING_RULE,
            "before": {"monthly": _out(r["before"])},
            "after": {"monthly": _out(r["after"])},
            "monthlySavings": _out(r["before"] - r["after"]),
            "percent": _out(r["percent"]),
            "percentBase": self.percent_base,
            "percentages": r["percentages"],
            "breakdown": [{"category": category, "monthly": _out(r["breakdown"][category])} for category in CATEGORIES],
            "services": [
                {"service": name, "before": _out(before), "after": _out(after), "monthlySavings": _out(before - after)}
                for name, before, after in r["services"]
            ],
            "network": None,
            "components": self._components(),
            "savingsPlan": _savings_plan_dict(self.savings_plan),
            "notes": list(self.notes),
        }
        if self.network is not None:
            net_before, net_after = r["network"]
            data["network"] = {
                "before": _out(net_before),
                "after": _out(net_after),
                "monthlySavings": _out(net_before - net_after),
                "adopted": self.network.adopted,
                "recommendedMonthly": _out(money(self.network.recommended)),
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


def _rounded_sum(components: Tuple[Component, ...]) -> Decimal:
    """A row's monthly cost: the sum of its lines, each rounded to the cent."""
    return sum((money(c.monthly) for c in components), Decimal(0))


def _percent(part: Fraction, whole: Fraction) -> Decimal:
    return round_half_up(part / whole * 100, 1) if whole else Decimal(0)


def _component_dict(c: Component, side: str) -> dict:
    return {
        "state": side,
        "scope": c.scope,
        "item": c.item,
        "quantity": _out(round_half_up(c.quantity, 4)),
        "unit": c.unit,
        "unitPrice": _out(round_half_up(c.unit_price, 6)),
        "monthly": _out(money(c.monthly)),
    }


def _savings_plan_dict(plan: Optional[SavingsPlanRecommendation]) -> Optional[dict]:
    if plan is None:
        return None
    return {
        "applied": False,
        "ratesAsOf": plan.rates_as_of,
        "onDemandFloorHourly": _out(round_half_up(plan.floor_hourly, 4)),
        "onDemandFloorMonthly": _out(money(plan.floor_monthly)),
        "floor": [
            {"service": name, "tasks": _out(round_half_up(tasks, 2)), "hourly": _out(round_half_up(hourly, 4))}
            for name, tasks, hourly in plan.floor_by_service
        ],
        "terms": [
            {
                "term": t.term,
                "discountPercent": _out(round_half_up(t.discount * 100, 1)),
                "hourlyCommitment": _out(round_half_up(t.hourly_commitment, 4)),
                "monthlySavings": _out(money(t.monthly_savings)),
                "breakEvenUtilizationPercent": _out(round_half_up(t.break_even_utilization * 100, 1)),
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
