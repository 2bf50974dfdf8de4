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

The discount of each term comes from :mod:`.commitments`: the Compute Savings Plans rates read
from AWS (``--pricing live``), weighted by the floor's vCPU/GB mix, or the dated table. The
floor the account's active Compute plans already cover is left out of the recommendation.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Dict, List, Mapping, Optional, Tuple

from ..core.model import ServiceState
from .commitments import TABLE_DISCOUNTS, TABLE_RATES_AS_OF, CommitmentRates, ExistingCoverage, table_rates
from .prices import HOURS_PER_MONTH, PriceTable, fargate_task_hourly

#: The offline default's date and discounts (the dated table lives with the live reader).
SAVINGS_PLAN_RATES_AS_OF = TABLE_RATES_AS_OF
COMPUTE_SAVINGS_PLAN_DISCOUNTS: Dict[str, Fraction] = dict(TABLE_DISCOUNTS)

_HOURS = Fraction(HOURS_PER_MONTH)

#: (cpu units, memory MiB, architecture, tasks)
Usage = Tuple[int, int, str, Fraction]


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
    rates_source: str = "table"
    #: the on-demand floor the account's active Compute plans already cover ($/hour)
    already_covered_hourly: Fraction = Fraction(0)

    @property
    def floor_monthly(self) -> Fraction:
        return self.floor_hourly * _HOURS

    def risk_note(self) -> str:
        """What happens to the commitment if load, and with it the floor, falls."""
        if self.floor_hourly == 0 and self.already_covered_hourly > 0:
            return "the account's active Compute Savings Plans already cover the on-demand floor: nothing more to commit to"
        if self.floor_hourly == 0:
            return "no on-demand floor: nothing to commit to"
        worst = min(self.terms, key=lambda t: t.discount)
        return (
            "the commitment is paid every hour whether used or not; it covers only the "
            "minimum on-demand tasks, so it is fully used while they run. If the floor falls "
            f"below {float(worst.break_even_utilization) * 100:.0f}% of today's "
            f"(the {worst.term} break-even), the {worst.term} plan costs more than on-demand"
        )


def usage_rows(states: Mapping[str, ServiceState], tasks_of: Callable[[ServiceState], Fraction]) -> List[Usage]:
    """(cpu, memory, architecture, tasks) of each service, ``tasks_of`` counting the tasks."""
    return [(s.cpu, s.memory, s.architecture, Fraction(tasks_of(s))) for _, s in sorted(states.items())]


def recommend_savings_plan(
    after: Mapping[str, ServiceState],
    prices: PriceTable,
    rates: Optional[CommitmentRates] = None,
    coverage: Optional[ExistingCoverage] = None,
) -> SavingsPlanRecommendation:
    """The Compute Savings Plan that covers the on-demand floor of ``after`` (keyed by service)
    that the account's active plans (``coverage``) do not cover yet, at ``rates`` (the dated
    table when None): each term's discount is computed on the floor's own vCPU/GB mix."""
    rates = rates or table_rates()
    by_service: List[Tuple[str, Fraction, Fraction]] = []
    for name in sorted(after):
        state = after[name]
        tasks = on_demand_floor_tasks(state)
        hourly = Fraction(fargate_task_hourly(state.cpu, state.memory, state.architecture, prices))
        by_service.append((name, tasks, hourly * tasks))
    whole_floor = sum((hourly for _, _, hourly in by_service), Fraction(0))
    covered = min(whole_floor, coverage.covered_on_demand_hourly) if coverage else Fraction(0)
    floor = whole_floor - covered
    mix = usage_rows(after, on_demand_floor_tasks)
    discounts = {term: rates.discount(term, mix, prices) for term in rates.terms}
    terms = tuple(
        SavingsPlanTerm(
            term=term,
            discount=discount,
            hourly_commitment=floor * (1 - discount),
            monthly_savings=floor * discount * _HOURS,
        )
        for term, discount in discounts.items()
    )
    return SavingsPlanRecommendation(
        floor_hourly=floor,
        floor_by_service=tuple(by_service),
        terms=terms,
        rates_as_of=rates.as_of,
        rates_source=rates.source,
        already_covered_hourly=covered,
    )
