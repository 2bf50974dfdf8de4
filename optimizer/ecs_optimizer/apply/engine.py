"""Plan and apply the optimization, service by service, in the documented order.

Per service, lever by lever (:mod:`levers`, in :func:`levers.registry.migration_order`): new
task-definition revision -> update the service (count, capacity-provider strategy) -> wait for
a completed deployment (bounded) -> autoscaling min/max -> ECR lifecycle policy -> alarm
thresholds. Every write is journalled write-ahead: its intent is on disk before the call and
its outcome after (see :mod:`journal`). When any step of a service fails, or a signal stops
the run, that service's writes (including one whose response never came) are restored with
the same code as ``rollback``, it is reported ``rolled_back`` and the other services carry
on (or, when stopping, are not started); a failure exits 4.

What to change comes from :mod:`planning`.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from ..core.changes import Change
from ..levers import registry
from ..live import revision_index
from ..live.aws import AwsContext
from ..live.deployments import deployment_wait
from ..live.targets import Targets
from ..planning.findings import Finding
from ..planning.plan import FleetPlan, OomReading, RunOptions, ServicePlan, ServiceResult, Status, plan_fleet
from ..planning.revalidation import moved_since_planning, replan_moved
from .journal import Journal
from .lock import ClusterLock
from .progress import Progress
from .restore import restore_changes
from .stop import STOP_RESTORE_SECONDS, StopRequest

log = logging.getLogger(__name__)


class Stopped(Exception):
    """A signal asked the run to stop: the service in flight is put back."""


class ServiceRun:
    """Applies one service's plan write-ahead (intent journalled, call, outcome journalled),
    one lever after another (:func:`levers.registry.apply_units`); restores the service on
    failure or when a signal stops the run. The levers call back :meth:`write`,
    :meth:`record`, :meth:`check_stop` and :meth:`service_target`."""

    def __init__(
        self,
        ctx: AwsContext,
        journal: Journal,
        plan: ServicePlan,
        cluster: str,
        opts: RunOptions,
        run_id: str = "",
        stop: Optional[StopRequest] = None,
        progress: Optional[Progress] = None,
    ) -> None:
        self.ctx = ctx
        self.journal = journal
        self.plan = plan
        self.cluster = cluster
        self.opts = opts
        self.run_id = run_id
        self.stop = stop or StopRequest()
        self.progress = progress or Progress()
        self.written: List[Change] = []

    def _known_alarms(self) -> Dict[str, Any]:
        return {a["AlarmName"]: a for a in self.plan.live.alarms.values()}

    @property
    def wait_seconds(self) -> float:
        """How long this service's deployments may take: --wait-timeout, else its own wait."""
        if self.opts.wait_timeout is not None:
            return self.opts.wait_timeout
        return deployment_wait(self.plan.live.service, self._known_alarms())[0]

    @property
    def wait_rule(self) -> str:
        """How the service's own wait adds up (for the log)."""
        return deployment_wait(self.plan.live.service, self._known_alarms())[1]

    def _changes(self, resource: str, fields: Dict[str, tuple], target: Dict[str, Any]) -> List[Change]:
        return [Change(self.plan.name, resource, name, b, a, target) for name, (b, a) in fields.items()]

    def write(
        self,
        operation: str,
        resource: str,
        fields: Dict[str, tuple],
        target: Dict[str, Any],
        call: Callable[[], Any],
        after_of: Optional[Callable[[Any], Dict[str, Any]]] = None,
    ) -> Any:
        """Journal the intent, make the call, journal its outcome. The changes are remembered
        before the call, so the failure path restores a write whose response never came."""
        changes = self._changes(resource, fields, target)
        self.written.extend(changes)
        self.journal.snapshot(self.plan.before)
        result = self.journal.guarded(operation, changes, call, after_of)
        if after_of is not None:
            confirmed = after_of(result)
            self.written = [
                dataclasses.replace(c, after=confirmed[c.field]) if c in changes and c.field in confirmed else c
                for c in self.written
            ]
        return result

    def record(self, resource: str, fields: Dict[str, tuple], target: Dict[str, Any]) -> None:
        """Journal fields that are already as wanted, with no call (a reused revision)."""
        changes = self._changes(resource, fields, target)
        self.written.extend(changes)
        self.journal.snapshot(self.plan.before)
        for change in changes:
            self.journal.change(change)

    def check_stop(self) -> None:
        if self.stop.requested:
            raise Stopped("stopped by a signal")

    def service_target(self) -> Dict[str, Any]:
        return {"cluster": self.cluster, "serviceName": self.plan.live.target.service_name}

    def run(self) -> ServiceResult:
        plan = self.plan
        if self.stop.requested:
            return ServiceResult(
                plan.name,
                Status.SKIPPED,
                plan.changes(),
                "not started: the run was stopped by a signal",
                plan.before,
                plan.before,
            )
        try:
            for unit in registry.apply_units():
                self.check_stop()
                unit.apply(self)
        except Exception as exc:  # noqa: BLE001 - any failure must leave this service as it was
            log.error("%s: %s", plan.name, exc)
            log.debug("%s: failure detail", plan.name, exc_info=True)
            return self._roll_back(str(exc) or type(exc).__name__)
        finally:
            self.progress.done(plan.name)
        log.info("%s: applied %d changes", plan.name, len(plan.changes()))
        return ServiceResult(
            plan.name,
            Status.APPLIED,
            plan.changes(),
            plan.reason,
            plan.before,
            plan.after,
            dict(plan.alarm_thresholds),
            plan.baseline_size,
            plan.oom,
        )

    def _roll_back(self, failure: str) -> ServiceResult:
        plan = self.plan
        # Stopping: the restore must end well inside the 30 s a stopping ECS task is given.
        wait = min(self.wait_seconds, STOP_RESTORE_SECONDS) if self.stop.requested else self.wait_seconds
        outcomes = restore_changes(self.ctx, self.written, wait, self.opts.poll_interval, journal=self.journal)
        errors = [o.error for o in outcomes if o.error]
        notes = "".join(f"; {n}" for o in outcomes for n in o.notes)
        if errors:
            reason = f"{failure}; restoring failed: {'; '.join(errors)}{notes}"
            # Its state is unknown (part applied, part restored): count no saving for it.
            return ServiceResult(
                plan.name, Status.FAILED, plan.changes(), reason, plan.before, plan.before, oom=plan.oom
            )
        reason = f"{failure}; rolled back to the previous state" if self.written else f"{failure}; nothing had changed"
        return ServiceResult(
            plan.name, Status.ROLLED_BACK, plan.changes(), reason + notes, plan.before, plan.before, oom=plan.oom
        )


def _unapplied(plan: ServicePlan, dry_run: bool) -> ServiceResult:
    """Result of a plan that is not (or not to be) applied."""
    after = plan.after if dry_run else plan.before
    thresholds = dict(plan.alarm_thresholds) if dry_run else {}
    return ServiceResult(
        plan.name,
        plan.status,
        plan.changes(),
        plan.reason,
        plan.before,
        after,
        thresholds,
        plan.baseline_size,
        plan.oom,
    )


@dataclass
class OptimizeOutcome:
    cluster: str
    dry_run: bool
    policy: str
    journal: Optional[Path]
    results: List[ServiceResult]
    #: Why the cluster lock could not be released after the run, if it could not.
    lock_error: Optional[str] = None
    #: Per service, the finding and the risk of what was planned (``planning.findings``).
    findings: Dict[str, Finding] = dataclasses.field(default_factory=dict)
    #: What the task-stop log said: the OOM evidence sizing used, or why it had none.
    oom: Optional[OomReading] = None
    #: The AWS account the cluster is in (from its ARN), for the report.
    account: Optional[str] = None

    @property
    def failed(self) -> List[ServiceResult]:
        return [r for r in self.results if r.status in (Status.FAILED, Status.ROLLED_BACK)]


#: Called after the services were applied, still under the lock and with the journal open
#: (the config write-back records its file edits there, so ``rollback`` undoes them too).
AfterApply = Callable[[Journal, List[ServiceResult]], None]


def journal_header(
    run_id: str, ctx: AwsContext, targets: Targets, opts: RunOptions, account: Optional[str], **extra: str
) -> Dict[str, Any]:
    """The journal's first line: which run, against which cluster, account, region and
    endpoint (``rollback`` refuses a journal from elsewhere), under which policy and tier."""
    return {
        "runId": run_id,
        **extra,
        "cluster": targets.cluster_name,
        "account": account,
        "region": ctx.region,
        "endpointUrl": ctx.settings.endpoint_url,
        "policy": opts.policy,
        "source": targets.source,
        "tier": targets.tier,
        "environmentSuffix": targets.environment_suffix,
    }


def optimize(
    ctx: AwsContext,
    targets: Targets,
    opts: RunOptions,
    journal_path: Path,
    force_unlock: bool = False,
    after_apply: Optional[AfterApply] = None,
    stop: Optional[StopRequest] = None,
    progress: Optional[Progress] = None,
) -> OptimizeOutcome:
    """Plan every service and, unless dry-run, apply the plans under the cluster lock.

    The live state is read once, by the plan. A run with nothing to change takes no lock and
    writes no journal, so re-running on an optimized environment makes no mutating call at
    all. A run with changes re-validates the plan after taking the lock (:mod:`revalidation`:
    what the apply would overwrite is read again, batched, and a service that moved since
    planning is planned again), so it never applies a plan made stale by another run. A stop
    request (a signal) before the lock is taken ends the run with nothing changed. An error
    releasing the lock after the run does not lose the report: it is returned in
    ``lock_error``.
    """
    stop = stop or StopRequest()
    fleet = plan_fleet(ctx, targets, opts)
    if ctx.dry_run or not fleet.anything_to_do or stop.requested:
        if force_unlock and not ctx.dry_run:
            ClusterLock(ctx, targets.cluster_name).force_unlock()  # asked for, even with nothing to do
        results = [_unapplied(p, dry_run=ctx.dry_run) for p in fleet.ordered()]
        return OptimizeOutcome(
            targets.cluster_name,
            ctx.dry_run,
            opts.policy,
            None,
            results,
            findings=_findings(fleet),
            oom=fleet.oom,
            account=fleet.account,
        )
    run_id = uuid.uuid4().hex[:16]
    lock = ClusterLock(ctx, targets.cluster_name, run_id=run_id)
    lock.acquire(force=force_unlock)
    journal: Optional[Journal] = None
    try:
        moved = moved_since_planning(ctx, targets.cluster_name, fleet.ordered())
        if moved:
            fleet = replan_moved(ctx, targets, opts, fleet, moved)
        journal = Journal(journal_path, journal_header(run_id, ctx, targets, opts, fleet.account))
        with revision_index.for_run(ctx):
            results = _apply_all(
                ctx, journal, fleet.ordered(), targets.cluster_name, opts, run_id, stop, progress or Progress()
            )
        if after_apply is not None:
            after_apply(journal, results)
    finally:
        if journal is not None:
            journal.close()
        lock_error = _release(lock)
    return OptimizeOutcome(
        targets.cluster_name,
        False,
        opts.policy,
        journal.path,
        results,
        lock_error,
        findings=_findings(fleet),
        oom=fleet.oom,
        account=fleet.account,
    )


def _findings(fleet: FleetPlan) -> Dict[str, Finding]:
    return {name: plan.finding for name, plan in fleet.plans.items() if plan.finding is not None}


def _release(lock: ClusterLock) -> Optional[str]:
    try:
        lock.release()
    except Exception as exc:  # noqa: BLE001 - the run is over; its report must still be printed
        message = f"releasing the lock {lock.name} failed: {exc}; remove it with --force-unlock once no run is active"
        log.error("%s", message)
        return message
    return None


def _apply_all(
    ctx: AwsContext,
    journal: Journal,
    plans: List[ServicePlan],
    cluster: str,
    opts: RunOptions,
    run_id: str,
    stop: StopRequest,
    progress: Progress,
) -> List[ServiceResult]:
    """Apply every planned service on the worker pool. Every worker is waited for, also when a
    signal arrives, so the lock is never released while one still writes."""
    todo = [p for p in plans if p.status == Status.PLANNED]
    log.info("applying %d of %d services (concurrency %d)", len(todo), len(plans), opts.concurrency)
    with progress, ThreadPoolExecutor(max_workers=max(1, opts.concurrency)) as pool:
        futures = {
            p.name: pool.submit(ServiceRun(ctx, journal, p, cluster, opts, run_id, stop, progress).run) for p in todo
        }
        applied = {name: f.result() for name, f in futures.items()}
    return [applied.get(p.name) or _unapplied(p, dry_run=False) for p in plans]
