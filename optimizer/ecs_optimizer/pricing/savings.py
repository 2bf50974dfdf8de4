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
from .commitments import CommitmentRates, ExistingCoverage, existing_coverage, table_rates
from .components import (
    Component,
    service_components,
)
from .costs import NetworkCosts, apportion_cents, lever_states, money, network_costs, round_half_up, service_monthly
from .prices import HOURS_PER_MONTH, PriceTable, fargate_task_hourly
from .savings_plan import SavingsPlanRecommendation, Usage, recommend_savings_plan, usage_rows

NETWORK_CATEGORY = "network"
#: The finding of a service that did nothing over the lookback (``planning.findings.IDLE``).
IDLE_FINDING = "Idle"
#: The breakdown's categories: the levers' savings steps, then the network (the savings report
#: schema lists them; a lever adding one is a schema change).
CATEGORIES = tuple(step.category for step in registry.savings_steps()) + (NETWORK_CATEGORY,)


def _out(value: Decimal) -> float:
    """A rounded amount as a JSON number, without a negative zero."""
    return float(value) if value != 0 else 0.0


# --------------------------------------------------------------------------- report

#: Version of the JSON document :meth:`SavingsReport.to_dict` returns; its JSON Schema is
#: ``schemas/savings-report.schema.json``. Bump it on any change that is not additive.
SCHEMA_VERSION = "2.1"

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
    #: The plan's finding for the service (``planning.findings.Finding.to_dict``), when planned.
    finding: Optional[Mapping[str, Any]] = None

    @property
    def monthly_savings(self) -> Fraction:
        return self.before - self.after


def on_demand_tasks(state: ServiceState) -> Fraction:
    """Tasks of ``state`` billed at the on-demand rate (its desired count less the Spot share)."""
    return Fraction(state.desired_count) - state.strategy.spot_task_fraction(state.desired_count)


def _on_demand_hourly(usage: List[Usage], prices: PriceTable) -> Fraction:
    return sum((Fraction(fargate_task_hourly(c, m, a, prices)) * n for c, m, a, n in usage), Fraction(0))


@dataclass(frozen=True)
class ExistingPlansEffect:
    """How the account's active Compute Savings Plans change what the cut saves.

    Usage the plans cover is billed at the plan rate and the commitment is paid whatever the
    use, so cutting covered usage saves nothing until the usage falls below what the
    commitment covers (docs/savings.md, "Savings after existing plans").
    """

    coverage: ExistingCoverage
    on_demand_before_hourly: Fraction  # on-demand Fargate usage before, at on-demand rates
    on_demand_after_hourly: Fraction

    @property
    def billed_saving_hourly(self) -> Fraction:
        """What the Fargate bill falls by an hour, under the plans."""
        return self.coverage.cost(self.on_demand_before_hourly) - self.coverage.cost(self.on_demand_after_hourly)

    @property
    def reduction_monthly(self) -> Fraction:
        """The part of the on-demand-priced saving the existing plans absorb, a month."""
        on_demand_saving = self.on_demand_before_hourly - self.on_demand_after_hourly
        return (on_demand_saving - self.billed_saving_hourly) * HOURS_PER_MONTH


@dataclass(frozen=True)
class IdleResource:
    """A resource that did nothing over the lookback, with what it costs a month; reported,
    never changed, and not counted in the totals (docs/recommendations.md)."""

    resource: str  # "service" or "natGateway"
    id: str
    monthly: Fraction
    reason: str

    def to_dict(self) -> Dict[str, Any]:
        return {
            "resource": self.resource,
            "id": self.id,
            "monthly": _out(money(self.monthly)),
            "reason": self.reason,
            "applied": False,
        }


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
    idle: Tuple[IdleResource, ...] = ()
    commitment_rates: CommitmentRates = field(default_factory=table_rates)
    existing_plans: Optional[ExistingPlansEffect] = None

    @property
    def monthly_savings_after_existing_plans(self) -> Fraction:
        """The saving once the account's active Savings Plans are accounted for."""
        reduction = self.existing_plans.reduction_monthly if self.existing_plans else Fraction(0)
        return self.monthly_savings - reduction

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
        findings = {s.service: s.finding for s in self.services}
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
                "commitmentRates": {
                    "source": self.commitment_rates.source,
                    "asOf": self.commitment_rates.as_of,
                    "description": self.commitment_rates.description,
                },
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
                {
                    "service": name,
                    "before": _out(before),
                    "after": _out(after),
                    "monthlySavings": _out(before - after),
                    **_finding_fields(findings.get(name)),
                }
                for name, before, after in r["services"]
            ],
            "network": None,
            "components": self._components(),
            "savingsPlan": _savings_plan_dict(self.savings_plan),
            "existingSavingsPlans": self._existing_plans_dict(r["before"] - r["after"]),
            "notes": list(self.notes),
            "cuts": _moves(r["services"], lambda saved: saved > 0),
            "growth": _moves(r["services"], lambda saved: saved < 0),
            "idle": [i.to_dict() for i in self.idle],
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

    def _existing_plans_dict(self, rounded_savings: Decimal) -> Optional[dict]:
        effect = self.existing_plans
        if effect is None:
            return None
        reduction = money(effect.reduction_monthly)
        return {
            "hourlyCommitment": _out(round_half_up(effect.coverage.hourly_commitment, 4)),
            "coveredOnDemandHourly": _out(round_half_up(effect.coverage.covered_on_demand_hourly, 4)),
            "onDemandBeforeHourly": _out(round_half_up(effect.on_demand_before_hourly, 4)),
            "onDemandAfterHourly": _out(round_half_up(effect.on_demand_after_hourly, 4)),
            "absorbedMonthly": _out(reduction),
            "monthlySavingsAfterExistingPlans": _out(rounded_savings - reduction),
            "plans": [
                {
                    "savingsPlanId": p.plan_id,
                    "type": p.plan_type,
                    "term": p.term,
                    "paymentOption": p.payment_option,
                    "hourlyCommitment": _out(round_half_up(p.hourly_commitment, 4)),
                }
                for p in effect.coverage.plans
            ],
        }

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


def _moves(rows: List[Tuple[str, Decimal, Decimal]], which: Any) -> Dict[str, Any]:
    """The services whose printed monthly cost falls (cuts) or rises (growth), and the amount as
    a positive sum of their printed rows: growth is shown as a cost of its own, never netted."""
    chosen = [(name, before - after) for name, before, after in rows if which(before - after)]
    return {
        "monthly": _out(abs(sum((saved for _, saved in chosen), Decimal(0)))),
        "services": [name for name, _ in chosen],
    }


def _finding_fields(finding: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """A service row's finding, reasons, lookback, performance risk and confidence."""
    if not finding:
        return {}
    return {
        "finding": finding["finding"],
        "reasonCodes": list(finding["reasonCodes"]),
        "reasons": [r["detail"] for r in finding["reasons"]],
        "lookbackPeriodInDays": finding["lookbackPeriodInDays"],
        "performanceRisk": finding["performanceRisk"],
        "confidence": finding["confidence"],
        "risk": {k: finding["risk"][k] for k in ("score", "points", "inputs")},
    }


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
        "ratesSource": plan.rates_source,
        "alreadyCoveredHourly": _out(round_half_up(plan.already_covered_hourly, 4)),
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
    findings: Optional[Mapping[str, Mapping[str, Any]]] = None,
    commitments: Optional[CommitmentRates] = None,
) -> SavingsReport:
    """Price ``before`` and ``after`` (keyed by service) and split the difference by lever.

    A service missing from ``after`` is taken as unchanged (skipped or failed services);
    one in ``after`` but not in ``before`` is an error, since it could not be priced before.
    ``spot_discount`` is how much cheaper Fargate Spot is than on-demand (about 70%; the
    Price List does not carry a reliable Spot price). The Savings Plan recommendation is
    computed on the after state and never counted in the totals. ``findings`` (service ->
    ``Finding.to_dict()``) adds each service's finding and risk to its row; idle services and
    NAT gateways (``network.idle_nat_gateways``) are listed with their monthly cost, apart. ``commitments`` are the
    Savings Plans rates and the account's active plans (:mod:`.commitments`; the dated table
    and no plans when None): with active Compute plans the report also states the saving
    after the discount they already give.
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
                finding=(findings or {}).get(name),
            )
        )
    idle = [
        IdleResource("service", s.service, s.after, "; ".join(r["detail"] for r in s.finding["reasons"]))
        for s in services
        if s.finding and s.finding["finding"] == IDLE_FINDING
    ]
    for gateway in network.idle_nat_gateways if network is not None else ():
        monthly = Fraction(prices.nat_gateway_hour) * HOURS_PER_MONTH
        idle.append(IdleResource("natGateway", gateway, monthly, "processed no byte over the lookback"))
    notes: List[str] = []
    net: Optional[NetworkCosts] = None
    if network is not None:
        net = network_costs(network, prices)
        levels = [level + net.before for level in levels[:-1]] + [levels[-1] + net.after]
        notes.append(net.note)
    rates = commitments or table_rates()
    before_usage = usage_rows(before, on_demand_tasks)
    coverage = existing_coverage(rates, before_usage, prices)
    effect = (
        ExistingPlansEffect(
            coverage,
            _on_demand_hourly(before_usage, prices),
            _on_demand_hourly(usage_rows(finals, on_demand_tasks), prices),
        )
        if coverage
        else None
    )
    plan = recommend_savings_plan(finals, prices, rates, coverage) if finals else None
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
        idle=tuple(idle),
        commitment_rates=rates,
        existing_plans=effect,
    )
