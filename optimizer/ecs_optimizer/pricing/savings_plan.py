"""A Compute Savings Plan recommendation for the on-demand Fargate floor left after the plan.

Reported, never applied: buying a Savings Plan is a one- or three-year financial commitment,
which is a decision for whoever owns the bill, not for a tuning tool.

The floor is the on-demand Fargate spend that runs every hour of the month after the plan:

* a critical service runs on-demand only, and never fewer than its autoscaling minimum;
* a non-critical service keeps its capacity-provider ``base`` tasks on-demand, whatever the
  load (the tasks above the base are mostly Spot, which no Savings Plan covers).

A Compute Savings Plan is bought as an hourly commitment in dollars of *discounted* spend, so
covering an on-demand floor of ``F`` dollars an hour at a discount ``d`` takes a commitment
of ``F x (1 - d)``; the saving is ``F x d`` an hour. If the floor falls (a service is removed
or scaled in for good), the commitment is still paid: the plan stays cheaper than on-demand
as long as the usage it covers is at least ``1 - d`` of the commitment's on-demand value,
which is the break-even utilization the report states.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Dict, List, Mapping, Tuple

from ..core.model import ServiceState
from .prices import HOURS_PER_MONTH, PriceTable, fargate_task_hourly

#: The date the Savings Plan discounts below were set (docs/savings.md says how far they
#: were checked against AWS's Compute Savings Plans rates for Fargate).
SAVINGS_PLAN_RATES_AS_OF = "2026-11-01"

#: Discount off the on-demand Fargate rate, per term, for a Compute Savings Plan paid with no
#: upfront payment. The published rates differ by a fraction of a point between regions and
#: between vCPU and GB hours; these are typical Linux figures, rounded down, so the saving
#: shown is a floor. Source and caveats: docs/savings.md.
COMPUTE_SAVINGS_PLAN_DISCOUNTS: Dict[str, Fraction] = {
    "1yr-no-upfront": Fraction(20, 100),
    "3yr-no-upfront": Fraction(45, 100),
}

_HOURS = Fraction(HOURS_PER_MONTH)


def on_demand_floor_tasks(state: ServiceState) -> Fraction:
    """Tasks of ``state`` that run on-demand in every hour, whatever the load: its on-demand
    share at the autoscaling minimum (all of it for an on-demand-only service)."""
    return state.min_capacity - state.strategy.spot_task_fraction(state.min_capacity)


@dataclass(frozen=True)
class SavingsPlanTerm:
    term: str
    discount: Fraction
    hourly_commitment: Fraction
    monthly_savings: Fraction

    @property
    def break_even_utilization(self) -> Fraction:
        """Share of the commitment that must be used for the plan to beat on-demand."""
        return 1 - self.discount


@dataclass(frozen=True)
class SavingsPlanRecommendation:
    """The on-demand floor after the plan, and what a Compute Savings Plan on it saves."""

    floor_hourly: Fraction
    floor_by_service: Tuple[Tuple[str, Fraction, Fraction], ...]  # (service, tasks, on-demand $/hour)
    terms: Tuple[SavingsPlanTerm, ...]
    rates_as_of: str = SAVINGS_PLAN_RATES_AS_OF

    @property
    def floor_monthly(self) -> Fraction:
        return self.floor_hourly * _HOURS

    def risk_note(self) -> str:
        """What happens to the commitment if load, and with it the floor, falls."""
        if self.floor_hourly == 0:
            return "no on-demand floor: nothing to commit to"
        worst = min(self.terms, key=lambda t: t.discount)
        return (
            "the commitment is paid every hour whether used or not; it covers only the "
            "minimum on-demand tasks, so it is fully used while they run. If the floor falls "
            f"below {float(worst.break_even_utilization) * 100:.0f}% of today's "
            f"(the {worst.term} break-even), the {worst.term} plan costs more than on-demand"
        )


def recommend_savings_plan(after: Mapping[str, ServiceState], prices: PriceTable) -> SavingsPlanRecommendation:
    """The Compute Savings Plan that covers the on-demand floor of ``after`` (keyed by service)."""
    by_service: List[Tuple[str, Fraction, Fraction]] = []
    for name in sorted(after):
        state = after[name]
        tasks = on_demand_floor_tasks(state)
        hourly = Fraction(fargate_task_hourly(state.cpu, state.memory, state.architecture, prices))
        by_service.append((name, tasks, hourly * tasks))
    floor = sum((hourly for _, _, hourly in by_service), Fraction(0))
    terms = tuple(
        SavingsPlanTerm(
            term=term,
            discount=discount,
            hourly_commitment=floor * (1 - discount),
            monthly_savings=floor * discount * _HOURS,
        )
        for term, discount in COMPUTE_SAVINGS_PLAN_DISCOUNTS.items()
    )
    return SavingsPlanRecommendation(floor_hourly=floor, floor_by_service=tuple(by_service), terms=terms)
