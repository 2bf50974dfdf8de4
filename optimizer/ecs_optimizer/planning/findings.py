"""A finding per service, in the terms of AWS Compute Optimizer's ECS recommendations:
over-provisioned, under-provisioned, optimized or idle, each with its reason codes, the
lookback it was read over, and the performance risk and confidence of the recommendation.

Pure (no AWS call): :mod:`planning.plan` calls :func:`service_finding` once per service with
the state before and after the plan, the utilization history, what autoscaling tracks, the
requests the service's target group served and the out-of-memory stops recorded.

In order (the first that holds decides, ``docs/recommendations.md``):

``Idle``
    The service's target group served no request over the lookback (``AWS/ApplicationELB``,
    summed) and its CPU stayed under :data:`IDLE_CPU_FLOOR_PCT` of its reservation in every
    hour, over at least the history the metrics policy wants. Reported, never acted on: only a
    person can tell an unused service from one that waits for a rare caller.
``Underprovisioned``
    The history shows the service short of capacity: p95 CPU, spread over the autoscaling
    maximum, above the CPU target-tracking value (above :data:`CPU_NEAR_LIMIT_PCT` without
    one); memory peaks at :data:`MEMORY_NEAR_LIMIT_PCT` of the reservation or more; tasks
    stopped for running out of memory. Or the plan grows the task's CPU or memory. The plan
    grows these services, and the reports price the growth as a cost of its own.
``Overprovisioned``
    The plan lowers the task's CPU, memory or the desired count.
``Optimized``
    Nothing of the above: the size fits (other levers, Spot or ECR retention, may still save).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ..core.model import ServiceState
from ..core.usage import Usage
from .alarm_thresholds import CPU_HIGH
from .risk import Risk, assess, risk_inputs

OVERPROVISIONED = "Overprovisioned"
UNDERPROVISIONED = "Underprovisioned"
OPTIMIZED = "Optimized"
IDLE = "Idle"
#: The findings, in the order the report groups them.
FINDINGS = (IDLE, UNDERPROVISIONED, OVERPROVISIONED, OPTIMIZED)

#: Reason codes (Compute Optimizer's where it has one).
CPU_OVER = "CPUOverprovisioned"
CPU_UNDER = "CPUUnderprovisioned"
MEMORY_OVER = "MemoryOverprovisioned"
MEMORY_UNDER = "MemoryUnderprovisioned"
TASK_COUNT_OVER = "TaskCountOverprovisioned"
OUT_OF_MEMORY = "OutOfMemoryStops"
NO_REQUESTS = "NoRequests"
CPU_IDLE = "CPUBelowIdleFloor"
REASON_CODES = (CPU_OVER, CPU_UNDER, MEMORY_OVER, MEMORY_UNDER, TASK_COUNT_OVER, OUT_OF_MEMORY, NO_REQUESTS, CPU_IDLE)

#: Idle: the busiest hour's average CPU stays under this percentage of the reservation.
IDLE_CPU_FLOOR_PCT = 2.0
#: Under-provisioned memory: a peak at or above this percentage of the reservation.
MEMORY_NEAR_LIMIT_PCT = 90.0
#: Under-provisioned CPU without a CPU target-tracking policy: p95 at the maximum at or above this.
CPU_NEAR_LIMIT_PCT = 90.0


@dataclass(frozen=True)
class Reason:
    """One reason for a finding: its code (one of :data:`REASON_CODES`; empty for
    ``Optimized``, which Compute Optimizer gives none either) and what the history showed."""

    code: str
    detail: str

    def to_dict(self) -> Dict[str, str]:
        return {"code": self.code, "detail": self.detail}


@dataclass(frozen=True)
class Finding:
    """One service's finding, its reasons and the risk of what the plan recommends."""

    service: str
    finding: str
    reasons: Tuple[Reason, ...]
    lookback_days: int
    risk: Risk

    @property
    def reason_codes(self) -> Tuple[str, ...]:
        return tuple(dict.fromkeys(r.code for r in self.reasons if r.code))

    def summary(self) -> str:
        """One line: the reasons' details."""
        return "; ".join(r.detail for r in self.reasons)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "finding": self.finding,
            "reasonCodes": list(self.reason_codes),
            "reasons": [r.to_dict() for r in self.reasons],
            "lookbackPeriodInDays": self.lookback_days,
            "performanceRisk": self.risk.level,
            "confidence": self.risk.confidence,
            "risk": self.risk.to_dict(),
        }


@dataclass(frozen=True)
class Activity:
    """What the service did over the lookback besides CPU and memory (None: not measured)."""

    requests: Optional[float] = None  # requests its target group served, summed
    oom_stops: Optional[int] = None  # tasks stopped for running out of memory


#: Nothing measured besides CPU and memory.
UNMEASURED = Activity()


def idle_reasons(usage: Optional[Usage], activity: Activity, min_history_days: float) -> List[Reason]:
    """The reasons ``usage`` and ``activity`` make a service idle; empty when it is not (or
    when requests were not measured, or the history is too short to tell)."""
    if usage is None or activity.requests is None or usage.days_covered < min_history_days:
        return []
    peak = usage.cpu_peak_pct if usage.cpu_peak_pct is not None else usage.cpu_p95_pct
    if activity.requests > 0 or peak >= IDLE_CPU_FLOOR_PCT:
        return []
    return [
        Reason(NO_REQUESTS, f"no requests through its target group in {usage.days_covered:.1f} days"),
        Reason(CPU_IDLE, f"CPU at most {peak:.2f}% of its reservation in every hour (floor {IDLE_CPU_FLOOR_PCT:g}%)"),
    ]


def under_evidence(
    before: ServiceState, usage: Optional[Usage], targets: Mapping[str, float], activity: Activity
) -> List[Reason]:
    """What the history says the service lacks (see the module docstring)."""
    reasons: List[Reason] = []
    if activity.oom_stops:
        reasons.append(
            Reason(OUT_OF_MEMORY, f"{activity.oom_stops} task(s) stopped for running out of memory in the lookback")
        )
    if usage is None or before.max_capacity <= 0 or before.desired_count <= 0:
        return reasons
    at_max = usage.cpu_p95_pct * before.desired_count / before.max_capacity
    limit = targets.get(CPU_HIGH)
    bar = limit if limit is not None else CPU_NEAR_LIMIT_PCT
    if at_max > bar:
        what = f"the CPU target of {limit:g}%" if limit is not None else f"{CPU_NEAR_LIMIT_PCT:g}%"
        reasons.append(
            Reason(
                CPU_UNDER,
                f"p95 CPU is {at_max:.1f}% of the tasks at the autoscaling maximum of {before.max_capacity}, above {what}",
            )
        )
    if usage.mem_peak_pct >= MEMORY_NEAR_LIMIT_PCT:
        reasons.append(
            Reason(
                MEMORY_UNDER,
                f"memory peaks at {usage.mem_peak_pct:.1f}% of the reservation (at or above {MEMORY_NEAR_LIMIT_PCT:g}%)",
            )
        )
    return reasons


def _size_reasons(before: ServiceState, after: ServiceState) -> Tuple[List[Reason], List[Reason]]:
    """(growth, cuts) of the task size and count the plan makes."""
    grow: List[Reason] = []
    cut: List[Reason] = []
    if after.cpu > before.cpu:
        grow.append(Reason(CPU_UNDER, f"task CPU grows {before.cpu} -> {after.cpu} units"))
    elif after.cpu < before.cpu:
        cut.append(Reason(CPU_OVER, f"task CPU {before.cpu} -> {after.cpu} units covers the observed need"))
    if after.memory > before.memory:
        grow.append(Reason(MEMORY_UNDER, f"task memory grows {before.memory} -> {after.memory} MiB"))
    elif after.memory < before.memory:
        cut.append(Reason(MEMORY_OVER, f"task memory {before.memory} -> {after.memory} MiB covers the observed need"))
    if after.desired_count < before.desired_count:
        cut.append(Reason(TASK_COUNT_OVER, f"desired count {before.desired_count} -> {after.desired_count}"))
    return grow, cut


def service_finding(
    before: ServiceState,
    after: ServiceState,
    usage: Optional[Usage],
    targets: Mapping[str, float],
    activity: Activity,
    lookback_days: int,
    min_history_days: float,
) -> Finding:
    """The finding of one service whose plan turns ``before`` into ``after``."""
    risk = assess(risk_inputs(before, after, usage, lookback_days))
    idle = idle_reasons(usage, activity, min_history_days)
    if idle:
        return Finding(before.service, IDLE, tuple(idle), lookback_days, risk)
    grow, cut = _size_reasons(before, after)
    evidence = under_evidence(before, usage, targets, activity)
    if evidence or grow:
        if after.max_capacity > before.max_capacity:
            grow.append(Reason(CPU_UNDER, f"autoscaling maximum grows {before.max_capacity} -> {after.max_capacity}"))
        return Finding(before.service, UNDERPROVISIONED, tuple(evidence + grow), lookback_days, risk)
    if cut:
        return Finding(before.service, OVERPROVISIONED, tuple(cut), lookback_days, risk)
    return Finding(
        before.service,
        OPTIMIZED,
        (Reason("", "the task size and count fit the observed use"),),
        lookback_days,
        risk,
    )
