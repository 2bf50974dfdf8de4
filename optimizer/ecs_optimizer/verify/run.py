"""``verify``: read a finished run's journal, compare each changed service's signals in a
window after the run with a window of the same length before it, give each a verdict, and
optionally undo exactly the regressed services through the journal (the ``rollback`` code,
limited to them).

Reads are batched across services: one GetMetricData plan for every metric of every service
(:mod:`verify.signals`), one alarm-history listing (:mod:`verify.alarm_history`), and, where
the compute outputs name the task-stop log group, one task-stop read.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from ..apply.journal import JournalContents
from ..apply.rollback import RollbackOutcome, rollback
from ..core.changes import CONFIG_FILE
from ..core.errors import BadInput
from ..live.alarm_history import AlarmTransition, transitions_to_alarm
from ..live.aws import AwsContext
from ..live.targets import Targets
from ..live.task_stops import TaskStopLogMissing, read_task_stops
from . import verdicts as vd
from .signals import (
    CPU,
    ERRORS_5XX,
    MEMORY,
    REQUESTS,
    RESPONSE_TIME,
    ServiceMetrics,
    Sides,
    by_service,
    read_series,
    requests_for,
    weighted_response_times,
)
from .windows import Windows, windows_for

log = logging.getLogger(__name__)


@dataclass
class VerifyOutcome:
    """What ``verify`` found, and what ``--rollback-regressed`` restored."""

    journal: str
    cluster: str
    run_id: Optional[str]
    windows: Windows
    thresholds: vd.Thresholds
    services: List[vd.ServiceVerdict] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    rollback: Optional[RollbackOutcome] = None

    def of(self, verdict: vd.Verdict) -> List[vd.ServiceVerdict]:
        return [s for s in self.services if s.verdict == verdict]


def parse_time(value: object, where: str) -> dt.datetime:
    if not isinstance(value, str):
        raise BadInput(f"{where}: expected an ISO 8601 UTC time, got {value!r}")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadInput(f"{where}: {value!r} is not an ISO 8601 time") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class Deployment:
    """When a change reached AWS outside the journal's own writes: the Pulumi-first path's
    reviewed ``pulumi up`` (``verify --since/--until``)."""

    start: dt.datetime
    end: dt.datetime


def run_times(contents: JournalContents) -> Tuple[dt.datetime, dt.datetime]:
    """(start, end) of the run: its header's time and its journal's last line's time."""
    start = parse_time(contents.header.get("time"), f"{contents.path}: header time")
    end = parse_time(contents.finished, f"{contents.path}: last line's time") if contents.finished else start
    return start, max(start, end)


def changed_services(contents: JournalContents) -> List[str]:
    """Services the run changed or may have changed (a write journalled as intended counts)."""
    return sorted({c.service for c in contents.restorable if c.resource != CONFIG_FILE and c.service})


def _check_targets(contents: JournalContents, targets: Targets, services: Sequence[str]) -> None:
    cluster = contents.header.get("cluster")
    if cluster != targets.cluster_name:
        raise BadInput(
            f"{contents.path}: the journal's cluster is {cluster}, the outputs' ({targets.source}) is {targets.cluster_name}"
        )
    unknown = [s for s in services if s not in targets.services]
    if unknown:
        raise BadInput(f"{contents.path}: service {', '.join(unknown)} of the journal is not in {targets.source}")


def _values(series: Mapping[dt.datetime, float]) -> List[float]:
    return [series[ts] for ts in sorted(series)]


def _service_signals(
    name: str,
    metrics: Mapping[Tuple[str, str], Sides],
    groups: Sequence[str],
    alarms: Tuple[int, Sequence[AlarmTransition]],
    alarm_names: Sequence[str],
    oom: Optional[Tuple[int, int]],
    t: vd.Thresholds,
) -> vd.ServiceVerdict:
    cpu, mem = metrics.get((CPU.key, ""), Sides()), metrics.get((MEMORY.key, ""), Sides())
    datapoints = min(len(cpu.after), len(mem.after))
    signals: List[vd.SignalResult] = []
    notes: List[str] = []
    if groups:
        sums = {
            key: (
                sum(sum(metrics.get((key, g), Sides()).before.values()) for g in groups),
                sum(sum(metrics.get((key, g), Sides()).after.values()) for g in groups),
            )
            for key in (REQUESTS.key, ERRORS_5XX.key)
        }
        (req_b, req_a), (err_b, err_a) = sums[REQUESTS.key], sums[ERRORS_5XX.key]
        signals.append(vd.error_rate(err_b, req_b, err_a, req_a, t))
        times = {
            side: weighted_response_times(
                {
                    g: (
                        getattr(metrics.get((RESPONSE_TIME.key, g), Sides()), side),
                        getattr(metrics.get((REQUESTS.key, g), Sides()), side),
                    )
                    for g in groups
                }
            )
            for side in ("before", "after")
        }
        signals.append(vd.p99(times["before"], times["after"], t))
    signals.append(vd.peak(vd.Signal.PEAK_CPU, _values(cpu.before), _values(cpu.after), t.max_peak_cpu, t))
    signals.append(vd.peak(vd.Signal.PEAK_MEMORY, _values(mem.before), _values(mem.after), t.max_peak_memory, t))
    if oom is not None:
        before, after = oom
        signals.append(vd.events(vd.Signal.OOM_STOPS, before, after, "tasks stopped for memory"))
    fired_before, fired_after = alarms
    if alarm_names:
        detail = (
            "went to ALARM: " + ", ".join(f"{a.alarm} at {a.to_dict()['at']}" for a in fired_after)
            if fired_after
            else f"{len(alarm_names)} alarms watched"
        )
        signals.append(vd.events(vd.Signal.ALARMS, fired_before, len(fired_after), detail))
    verdict = vd.verdict_of(signals, datapoints, t)
    if verdict == vd.Verdict.TOO_EARLY:
        notes.append(
            f"{datapoints} periods of CPU and memory data after the run, fewer than {t.min_datapoints}: run verify again later"
        )
    return vd.ServiceVerdict(name, verdict, signals, datapoints, notes)


def _oom_stops(
    ctx: AwsContext, log_group: Optional[str], windows: Windows, services: Mapping[str, str]
) -> Optional[Dict[str, Tuple[int, int]]]:
    """Catalog name -> (tasks stopped for memory in the window before, in the window after),
    from one read of the task-stop log over both; None without the log group."""
    if not log_group:
        return None
    before, after = windows.events_before, windows.events_after
    try:
        stops = read_task_stops(ctx.logs, log_group, before.start, after.end, list(services))
    except TaskStopLogMissing:
        return None
    out = {}
    for ecs_name, name in services.items():
        oom = [s.stopped_at for s in stops.get(ecs_name, []) if s.is_oom]
        out[name] = (sum(1 for t in oom if before.holds(t)), sum(1 for t in oom if after.holds(t)))
    return out


def verify(
    ctx: AwsContext,
    contents: JournalContents,
    targets: Targets,
    target_groups: Mapping[str, Tuple[str, ...]],
    load_balancer: Optional[str],
    thresholds: vd.Thresholds,
    window: dt.timedelta,
    period: int,
    now: Optional[dt.datetime] = None,
    task_stop_log_group: Optional[str] = None,
    notes: Sequence[str] = (),
    deployment: Optional[Deployment] = None,
) -> VerifyOutcome:
    """Judge every service the journal's run changed (``contents`` may be limited to some).
    With a ``deployment`` (the Pulumi-first path), the windows are around it instead, and a
    journal that changed no service in AWS (its record of the stack files' edits) judges
    every service of ``targets``."""
    services = changed_services(contents)
    if deployment is not None and not services:
        services = sorted(targets.services)
    _check_targets(contents, targets, services)
    start, end = (deployment.start, deployment.end) if deployment is not None else run_times(contents)
    windows = windows_for(start, end, window, now or dt.datetime.now(dt.timezone.utc), period)
    outcome = VerifyOutcome(
        contents.path, targets.cluster_name, contents.header.get("runId"), windows, thresholds, notes=list(notes)
    )
    if not services:
        outcome.notes.append("the run changed no service: nothing to verify")
        return outcome
    log.info(
        "verify: %d services, before %s..%s, after %s..%s",
        len(services),
        windows.before.start.isoformat(),
        windows.before.end.isoformat(),
        windows.after.start.isoformat(),
        windows.after.end.isoformat(),
    )
    groups = {s: tuple(target_groups.get(s, ())) if load_balancer else () for s in services}
    if not load_balancer and any(target_groups.get(s) for s in services):
        outcome.notes.append(
            "5xx rate and p99 response time not read: pass --network-outputs (the network outputs name the load balancer)"
        )
    wanted = [ServiceMetrics(s, targets.services[s].service_name, groups[s]) for s in services]
    requests = requests_for(targets.cluster_name, wanted, load_balancer or "")
    series = by_service(requests, read_series(ctx, requests, windows))
    alarm_names = {s: sorted(a.name for a in targets.services[s].alarms) for s in services}
    events, events_before = windows.events_after, windows.events_before
    fired = transitions_to_alarm(
        ctx, [n for names in alarm_names.values() for n in names], events_before.start, events.end
    )
    oom = _oom_stops(ctx, task_stop_log_group, windows, {targets.services[s].service_name: s for s in services})
    if oom is None:
        outcome.notes.append(
            f"OOM stops not read: the task-stop log group {task_stop_log_group} does not exist"
            if task_stop_log_group
            else "OOM stops not read: the compute outputs name no task-stop log group (taskStopLogGroupName; an older compute stack)"
        )
    for name in services:
        transitions = sorted((t for n in alarm_names[name] for t in fired.get(n, [])), key=lambda t: t.at)
        outcome.services.append(
            _service_signals(
                name,
                series.get(name, {}),
                groups[name],
                (
                    sum(1 for t in transitions if events_before.holds(t.at)),
                    [t for t in transitions if events.holds(t.at)],
                ),
                alarm_names[name],
                None if oom is None else oom[name],
                thresholds,
            )
        )
    return outcome


def undo_regressed(
    ctx: AwsContext,
    contents: JournalContents,
    outcome: VerifyOutcome,
    environment_suffix: Optional[str],
    wait_timeout: float,
    poll_interval: float,
    concurrency: int,
    force_unlock: bool,
) -> Optional[RollbackOutcome]:
    """Undo exactly the regressed services, write-ahead in the journal, as ``rollback
    --service`` does (stack files, which span services, are left as they are)."""
    names = [s.service for s in outcome.of(vd.Verdict.REGRESSED)]
    if not names:
        return None
    log.info("rolling back the regressed services: %s", ", ".join(names))
    outcome.rollback = rollback(
        ctx, contents.for_services(names), wait_timeout, poll_interval, concurrency, force_unlock, environment_suffix
    )
    return outcome.rollback
