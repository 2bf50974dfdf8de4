"""Compute Savings Plans rates for Fargate, and the account's active plans, from AWS or the dated table.

With ``--pricing live`` the Savings Plans API answers two questions:

* ``DescribeSavingsPlansOfferingRates``: what a Compute Savings Plan charges per Fargate
  vCPU-hour and GB-hour in the run's region, for a 1- and a 3-year term paid with no upfront
  payment. The discount of a term is then computed against the on-demand rates the run already
  has (:mod:`.prices`), on the fleet's own vCPU/GB mix, instead of a fixed percentage.
* ``DescribeSavingsPlans`` (state ``active``): the hourly commitments the account already pays.
  Usage those plans cover is billed at the plan rate, so cutting it saves the discounted rate,
  not the on-demand one (:func:`existing_plan_cost`; the model and its limits are in
  ``docs/savings.md``).

Any failure (no access, throttled, an empty or unexpected answer) falls back to the dated
table :data:`TABLE_DISCOUNTS` with one warning that names why, and
the report says which source it used.
"""

from __future__ import annotations

import datetime as _dt
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from ..core.fargate import ARM64, X86_64
from .prices import _FARGATE_USAGE_TYPES, PRICE_LIST_PREFIX, PriceTable, fargate_task_hourly

#: The IAM actions this module's AWS calls need (collected into iam_actions.json by
#: :mod:`ecs_optimizer.apply.permissions`). Both are read-only and take no resource ARN.
IAM_ACTIONS = ("savingsplans:DescribeSavingsPlansOfferingRates", "savingsplans:DescribeSavingsPlans")

logger = logging.getLogger(__name__)

#: The Savings Plans API has one global endpoint, signed for us-east-1.
SAVINGS_PLANS_ENDPOINT_REGION = "us-east-1"

#: The date the table's discounts were last checked (docs/savings.md).
TABLE_RATES_AS_OF = "2026-11-01"

#: Term name -> its duration in seconds, as the Savings Plans API reports it.
TERM_SECONDS: Dict[str, int] = {"1yr-no-upfront": 31_536_000, "3yr-no-upfront": 94_608_000}

#: Discount off the on-demand Fargate rate, per term, for a Compute Savings Plan paid with no
#: upfront payment: the offline default. The published rates differ by a fraction of a point
#: between regions and between vCPU and GB hours; these are typical Linux figures, rounded
#: down, so the saving shown is a floor. Source and caveats: docs/savings.md.
TABLE_DISCOUNTS: Dict[str, Fraction] = {
    "1yr-no-upfront": Fraction(20, 100),
    "3yr-no-upfront": Fraction(45, 100),
}

LIVE = "live"
TABLE = "table"

#: A reference task (1 vCPU, 2 GB, x86) prices a term's discount when the fleet has no usage.
_REFERENCE_TASK = (1024, 2048, X86_64)


@dataclass(frozen=True)
class ExistingPlan:
    """One active Savings Plan of the account."""

    plan_id: str
    plan_type: str  # Compute, EC2Instance, SageMaker, Database
    term_seconds: int
    payment_option: str
    hourly_commitment: Fraction

    @property
    def covers_fargate(self) -> bool:
        """Only a Compute Savings Plan applies to Fargate."""
        return self.plan_type == "Compute"

    @property
    def term(self) -> str:
        """The table's term name closest to this plan's duration (1 or 3 years)."""
        return min(TERM_SECONDS, key=lambda t: abs(TERM_SECONDS[t] - self.term_seconds))


@dataclass(frozen=True)
class CommitmentRates:
    """Savings Plan rates per term, where they came from, and the account's active plans.

    ``rates`` maps a term to the plan's per-hour rate for each :class:`PriceTable` Fargate
    field (``fargate_vcpu_hour_x86`` ...); it is empty for the table source, whose
    ``table_discounts`` apply to every rate instead.
    """

    source: str  # LIVE or TABLE
    as_of: str
    description: str
    rates: Mapping[str, Mapping[str, Decimal]] = field(default_factory=dict)
    table_discounts: Mapping[str, Fraction] = field(default_factory=lambda: dict(TABLE_DISCOUNTS))
    existing: Tuple[ExistingPlan, ...] = ()

    @property
    def terms(self) -> Tuple[str, ...]:
        return tuple(TERM_SECONDS)

    def task_hourly(self, term: str, cpu: int, memory: int, architecture: str, prices: PriceTable) -> Fraction:
        """What one task of this size costs an hour under a ``term`` plan."""
        on_demand = Fraction(fargate_task_hourly(cpu, memory, architecture, prices))
        if self.source != LIVE:
            return on_demand * (1 - self.table_discounts[term])
        rates = self.rates[term]
        arch = "arm" if architecture == ARM64 else "x86"
        vcpu = Fraction(rates[f"fargate_vcpu_hour_{arch}"])
        gb = Fraction(rates[f"fargate_gb_hour_{arch}"])
        return Fraction(cpu, 1024) * vcpu + Fraction(memory, 1024) * gb

    def discount(self, term: str, usage: List[Tuple[int, int, str, Fraction]], prices: PriceTable) -> Fraction:
        """The ``term`` discount on ``usage`` ((cpu, memory, architecture, tasks) rows), its
        weighted vCPU/GB mix; a reference 1 vCPU / 2 GB task when the usage is empty."""
        rows = [row for row in usage if row[3] > 0] or [(*_REFERENCE_TASK, Fraction(1))]
        on_demand = sum(
            (Fraction(fargate_task_hourly(c, m, a, prices)) * n for c, m, a, n in rows),
            Fraction(0),
        )
        planned = sum((self.task_hourly(term, c, m, a, prices) * n for c, m, a, n in rows), Fraction(0))
        return 1 - planned / on_demand if on_demand else Fraction(0)

    def label(self) -> str:
        return f"{self.source} ({self.description}), as of {self.as_of}"


def table_rates() -> CommitmentRates:
    return CommitmentRates(
        source=TABLE,
        as_of=TABLE_RATES_AS_OF,
        description="embedded table of typical Compute Savings Plan discounts for Fargate",
    )


class EmptyAnswer(LookupError):
    """The Savings Plans API answered, but without the rates the report needs."""


def load_commitment_rates(
    region: str,
    source: str,
    session: Any = None,
    warn: Optional[Callable[[str], None]] = None,
) -> CommitmentRates:
    """The rates for ``region`` from AWS (``source="live"``) or the table, with the active plans.

    A failure of the rates read falls back to the table with one warning naming why; a failure
    of the plans read keeps the live rates and warns that existing plans are not accounted for.
    """
    table = table_rates()
    if source != LIVE:
        return table
    warn = warn or logger.warning
    try:
        if session is None:
            import boto3  # imported here so the table path never needs boto3 configured

            session = boto3.Session()
        savingsplans = session.client("savingsplans", region_name=SAVINGS_PLANS_ENDPOINT_REGION)
        rates = read_offering_rates(savingsplans, region)
    except Exception as exc:  # noqa: BLE001 - every failure has the same, documented answer
        warn(
            f"Savings Plans rates for {region} could not be read ({_why(exc)}); "
            f"using the embedded discounts dated {table.as_of}"
        )
        return table
    try:
        existing = read_active_plans(savingsplans)
    except Exception as exc:  # noqa: BLE001
        warn(f"the account's active Savings Plans could not be read ({_why(exc)}); existing discounts not applied")
        existing = ()
    today = _dt.datetime.now(_dt.timezone.utc).date().isoformat()
    return CommitmentRates(
        source=LIVE,
        as_of=today,
        description=f"AWS Savings Plans offering rates, Compute, Fargate, {region}, No Upfront",
        rates=rates,
        existing=existing,
    )


def _why(exc: BaseException) -> str:
    """A short reason: the AWS error code (AccessDeniedException, ThrottlingException ...) or
    the exception's type, with its message."""
    response = getattr(exc, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return f"{code or type(exc).__name__}: {exc}"


def read_offering_rates(savingsplans: Any, region: str) -> Dict[str, Dict[str, Decimal]]:
    """Term -> PriceTable Fargate field -> the Compute Savings Plan rate in USD per hour."""
    prefix = PRICE_LIST_PREFIX.get(region)
    if prefix is None:
        raise EmptyAnswer(f"no usage-type prefix known for region {region}")
    wanted = {f"{prefix}-{suffix}": name for name, suffix in _FARGATE_USAGE_TYPES.items()}
    by_seconds = {seconds: term for term, seconds in TERM_SECONDS.items()}
    found: Dict[str, Dict[str, set]] = {term: {} for term in TERM_SECONDS}
    token: Optional[str] = None
    while True:
        request: Dict[str, Any] = {
            "savingsPlanTypes": ["Compute"],
            "products": ["Fargate"],
            "serviceCodes": ["AmazonECS"],
            "savingsPlanPaymentOptions": ["No Upfront"],
            "usageTypes": sorted(wanted),
            "filters": [{"name": "region", "values": [region]}],
        }
        if token:
            request["nextToken"] = token
        page = savingsplans.describe_savings_plans_offering_rates(**request)
        for result in page.get("searchResults", []):
            offering = result.get("savingsPlanOffering", {})
            term = by_seconds.get(int(offering.get("durationSeconds") or 0))
            name = wanted.get(result.get("usageType", ""))
            if term is None or name is None or offering.get("currency", "USD") != "USD":
                continue
            if offering.get("planType") != "Compute" or offering.get("paymentOption") != "No Upfront":
                continue
            found[term].setdefault(name, set()).add(Decimal(result["rate"]))
        token = page.get("nextToken")
        if not token:
            break
    rates: Dict[str, Dict[str, Decimal]] = {}
    for term, fields in found.items():
        missing = sorted(set(wanted.values()) - set(fields))
        if missing:
            raise EmptyAnswer(f"empty answer: no {term} rate for {', '.join(missing)}")
        rates[term] = {}
        for name, values in fields.items():
            if len(values) > 1:
                raise EmptyAnswer(f"several {term} rates for {name}: {', '.join(str(v) for v in sorted(values))}")
            rates[term][name] = values.pop()
    return rates


def read_active_plans(savingsplans: Any) -> Tuple[ExistingPlan, ...]:
    """The account's active Savings Plans, every type (only Compute ones apply to Fargate)."""
    plans: List[ExistingPlan] = []
    token: Optional[str] = None
    while True:
        request: Dict[str, Any] = {"states": ["active"]}
        if token:
            request["nextToken"] = token
        page = savingsplans.describe_savings_plans(**request)
        for plan in page.get("savingsPlans", []):
            if plan.get("currency", "USD") != "USD":
                continue
            plans.append(
                ExistingPlan(
                    plan_id=plan.get("savingsPlanId", ""),
                    plan_type=plan.get("savingsPlanType", ""),
                    term_seconds=int(plan.get("termDurationInSeconds") or 0),
                    payment_option=plan.get("paymentOption", ""),
                    hourly_commitment=Fraction(Decimal(plan.get("commitment") or "0")),
                )
            )
        token = page.get("nextToken")
        if not token:
            break
    return tuple(plans)


@dataclass(frozen=True)
class ExistingCoverage:
    """What the account's Compute Savings Plans already cover of the fleet's on-demand Fargate."""

    hourly_commitment: Fraction  # dollars of discounted spend an hour, Compute plans only
    covered_on_demand_hourly: Fraction  # the on-demand usage that commitment pays for
    plans: Tuple[ExistingPlan, ...]

    def cost(self, on_demand_hourly: Fraction) -> Fraction:
        """The hourly bill of ``on_demand_hourly`` of Fargate usage under the plans: the
        commitment is paid whatever the use, and only usage beyond what it covers is billed
        on-demand."""
        return self.hourly_commitment + max(Fraction(0), on_demand_hourly - self.covered_on_demand_hourly)


def existing_coverage(
    rates: CommitmentRates, usage: List[Tuple[int, int, str, Fraction]], prices: PriceTable
) -> Optional[ExistingCoverage]:
    """The active Compute plans' coverage, each plan's commitment turned into the on-demand
    usage it pays for at its term's discount on ``usage``; None without such plans."""
    plans = tuple(p for p in rates.existing if p.covers_fargate and p.hourly_commitment > 0)
    if not plans:
        return None
    covered = Fraction(0)
    for plan in plans:
        discount = rates.discount(plan.term, usage, prices)
        covered += plan.hourly_commitment / (1 - discount) if discount < 1 else plan.hourly_commitment
    return ExistingCoverage(
        hourly_commitment=sum((p.hourly_commitment for p in plans), Fraction(0)),
        covered_on_demand_hourly=covered,
        plans=plans,
    )
