"""What a run applied, per service: from an optimize run's results or from a journal."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple

from ..journal import ALARM_PREFIX, JournalContents, realised_states, restore_plan
from ..model import ServiceState
from ..planning import ServiceResult, Status
from ..targets import ALARM_PATTERNS
from .keys import THRESHOLD_KINDS


@dataclass(frozen=True)
class AppliedService:
    """The values one service was changed to (None: that value did not change)."""

    service: str
    critical: bool
    size: Optional[Tuple[int, int]] = None  # (cpu units, MiB)
    desired_count: Optional[int] = None
    min_capacity: Optional[int] = None
    max_capacity: Optional[int] = None
    spot_share: Optional[Fraction] = None  # FARGATE_SPOT share above the on-demand base
    keep_images: Optional[int] = None
    thresholds: Mapping[str, float] = field(default_factory=dict)  # cpuHigh / memoryHigh
    #: With ``size``: the size before rightsizing (the baseline the run halved or sized from).
    rightsized_from: Optional[Tuple[int, int]] = None
    #: The CPU architecture the run moved the service to (``--allow-arm64``).
    architecture: Optional[str] = None

    @property
    def empty(self) -> bool:
        return (
            not any(
                v is not None
                for v in (
                    self.size,
                    self.desired_count,
                    self.min_capacity,
                    self.max_capacity,
                    self.spot_share,
                    self.keep_images,
                    self.architecture,
                )
            )
            and not self.thresholds
        )


@dataclass(frozen=True)
class AppliedRun:
    """What a run applied, and the state it left each service of the run in (``final``, where
    known: a layer-wide key also reaches the services whose value the run did not change)."""

    tier: str
    services: Mapping[str, AppliedService]
    final: Mapping[str, ServiceState] = field(default_factory=dict)


def applied_service(
    name: str,
    before: ServiceState,
    after: ServiceState,
    alarm_thresholds: Mapping[str, float],
    baseline: Optional[Tuple[int, int]] = None,
) -> AppliedService:
    """The config-relevant difference between ``before`` and ``after``. ``baseline``: the size
    before any rightsizing (default: ``before``'s size, what a journal or plan knows)."""
    share = None
    resized = (after.cpu, after.memory) != (before.cpu, before.memory)
    if after.strategy != before.strategy and not after.critical and after.strategy.spot_weight:
        share = after.strategy.spot_fraction
    return AppliedService(
        service=name,
        critical=after.critical,
        size=(after.cpu, after.memory) if resized else None,
        desired_count=after.desired_count if after.desired_count != before.desired_count else None,
        min_capacity=after.min_capacity if after.min_capacity != before.min_capacity else None,
        max_capacity=after.max_capacity if after.max_capacity != before.max_capacity else None,
        spot_share=share,
        keep_images=after.ecr_keep_images if after.ecr_keep_images != before.ecr_keep_images else None,
        thresholds={k: float(v) for k, v in alarm_thresholds.items() if k in THRESHOLD_KINDS},
        rightsized_from=(baseline or (before.cpu, before.memory)) if resized else None,
        architecture=after.architecture if after.architecture != before.architecture else None,
    )


def applied_run(
    tier: str,
    rows: Iterable[Tuple[str, ServiceState, ServiceState, Mapping[str, float], bool]],
    baselines: Optional[Mapping[str, Tuple[int, int]]] = None,
) -> AppliedRun:
    """Build an :class:`AppliedRun` from ``(name, before, after, alarm thresholds, applied)``
    rows: engine results, a fleet plan or a journal all reduce to these. ``baselines``: service
    -> size before rightsizing, where known (else the row's before size)."""
    services: Dict[str, AppliedService] = {}
    final: Dict[str, ServiceState] = {}
    for name, before, after, thresholds, applied in rows:
        svc = applied_service(name, before, after, thresholds, (baselines or {}).get(name)) if applied else None
        if svc is not None and not svc.empty:
            services[name] = svc
        final[name] = after if applied else before
    return AppliedRun(tier, dict(sorted(services.items())), dict(sorted(final.items())))


def applied_from_results(tier: str, results: Iterable[ServiceResult], dry_run: bool = False) -> AppliedRun:
    """What an optimize run applied (``applied`` services), or for a dry run what it would
    (``planned``). A ``failed`` service (its restore failed) is left out: its state is unknown."""
    wanted = Status.PLANNED if dry_run else Status.APPLIED
    kept = [r for r in results if r.status != Status.FAILED]
    rows = [(r.service, r.before, r.after, r.alarm_thresholds, r.status == wanted) for r in kept]
    baselines = {r.service: b for r in kept if (b := getattr(r, "baseline", None)) is not None}
    return applied_run(tier, rows, baselines)


def alarm_kind(step_target: Mapping[str, Any], alarm_name: str) -> Optional[str]:
    """The kind of a journalled alarm: recorded in its target, else read from the naming
    pattern of the observability layer (journals written before the kind was recorded)."""
    kind = step_target.get("kind")
    if isinstance(kind, str):
        return kind
    for candidate, pattern in ALARM_PATTERNS.items():
        if alarm_name.startswith(pattern.split("{service}", 1)[0]):
            return candidate
    return None


def applied_from_journal(contents: JournalContents, tier: str) -> AppliedRun:
    """What a finished run applied, from its journal: each field's latest value where it
    differs from the earliest (a service rolled back nets to nothing)."""
    before, after = realised_states(contents)
    thresholds: Dict[str, Dict[str, float]] = {}
    for step in restore_plan([c for c in contents.changes if c.resource.startswith(ALARM_PREFIX)]):
        old, new = step.before.get("threshold"), step.after.get("threshold")
        kind = alarm_kind(step.target, step.resource[len(ALARM_PREFIX) :])
        if kind in THRESHOLD_KINDS and new is not None and (old is None or abs(float(old) - float(new)) > 1e-9):
            thresholds.setdefault(step.service, {})[kind] = float(new)
    rows = [(name, before[name], after[name], thresholds.get(name, {}), True) for name in before]
    return applied_run(tier, rows)
