"""What a run applied, per service: from an optimize run's results or from a journal. Each
lever of the registry fills in its own fields (:meth:`levers.base.Lever.applied`)."""

from __future__ import annotations

from typing import Any, Dict, Iterable, Mapping, Optional, Tuple

from ..apply.journal import JournalContents
from ..core.changes import restore_plan
from ..core.model import ServiceState
from ..levers import registry
from ..planning.plan import ServiceResult, Status
from ..pricing.realised import realised_states
from .applied_values import AppliedRun, AppliedService


def applied_service(
    name: str,
    before: ServiceState,
    after: ServiceState,
    alarm_thresholds: Mapping[str, float],
    baseline: Optional[Tuple[int, int]] = None,
) -> AppliedService:
    """The config-relevant difference between ``before`` and ``after``, lever by lever.
    ``baseline``: the size before any rightsizing (default: ``before``'s size, what a journal
    or plan knows)."""
    values: Dict[str, Any] = {}
    for lever in registry.LEVERS:
        values.update(lever.applied(before, after, alarm_thresholds, baseline or (before.cpu, before.memory)))
    return AppliedService(service=name, critical=after.critical, **values)


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


def applied_from_journal(contents: JournalContents, tier: str) -> AppliedRun:
    """What a finished run applied, from its journal: each field's latest value where it
    differs from the earliest (a service rolled back nets to nothing)."""
    before, after = realised_states(contents)
    thresholds = registry.journal_thresholds(restore_plan(contents.changes))
    rows = [(name, before[name], after[name], thresholds.get(name, {}), True) for name in before]
    return applied_run(tier, rows)
