"""Plan and apply the optimization, service by service, in the documented order.

Per service: new task-definition revision -> update the service (count, capacity-provider
strategy) -> wait for a completed deployment (bounded) -> autoscaling min/max -> ECR
lifecycle policy -> alarm thresholds. Every write is journalled write-ahead: its intent is
on disk before the call and its outcome after (see :mod:`journal`). When any step of a service
fails, or a signal stops the run, that service's writes (including one whose response never
came) are restored with the same code as ``rollback``, it is reported ``rolled_back`` and the
other services carry on (or, when stopping, are not started); a failure exits 4.

What to change comes from :func:`sizing.plan_service`; this module adds only what the live
resources allow (a cluster without FARGATE_SPOT, containers that would not fit the smaller
task, an ECR policy of a shape the optimizer does not own, a missing scalable target).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import graviton
from . import resources as res
from .aws import AwsContext
from .inventory import Inventory, LiveService, read_inventory
from .journal import Change, Journal
from .lock import ClusterLock
from .metrics import fetch_usage
from .model import SPOT, ServiceState
from .progress import Progress
from .restore import restore_changes
from .sizing import Decision, SizingOptions, Usage, alarm_threshold, plan_service
from .stop import STOP_RESTORE_SECONDS, StopRequest
from .targets import Targets

log = logging.getLogger(__name__)

#: The order changes are made in, per service (also printed with a dry run's plan).
MIGRATION_ORDER = (
    "register a task-definition revision with the new CPU/memory and, with --allow-arm64, CPU architecture (all else copied)",
    "update the service: task definition, desired count, capacity-provider strategy",
    "wait for the deployment to complete (bounded by --wait-timeout); on failure restore the service",
    "set the autoscaling min/max capacity",
    "set the ECR lifecycle policy's keep-last count",
    "retune the alarm thresholds (every other alarm field kept)",
)

STATUSES = ("planned", "applied", "unchanged", "skipped", "failed", "rolled_back")


@dataclass(frozen=True)
class RunOptions:
    """How a run plans and applies; built from the CLI options."""

    policy: str = "auto"
    sizing: SizingOptions = field(default_factory=SizingOptions)
    wait_timeout: float = 900.0
    poll_interval: float = 15.0
    concurrency: int = 4
    #: --allow-arm64: move services whose every image is multi-arch with linux/arm64 to Graviton.
    allow_arm64: bool = False


@dataclass(frozen=True)
class PlannedChange:
    resource: str
    field: str
    before: Any
    after: Any

    def to_dict(self) -> Dict[str, Any]:
        return {"resource": self.resource, "field": self.field, "before": self.before, "after": self.after}


@dataclass
class ServicePlan:
    """One service's planned state, with the live resources it will be applied to."""

    live: LiveService
    before: ServiceState
    after: ServiceState
    status: str  # planned | unchanged | skipped
    reason: str
    alarm_thresholds: Dict[str, float] = field(default_factory=dict)  # kind -> new threshold

    @property
    def name(self) -> str:
        return self.live.name

    def size_changes(self) -> bool:
        """Whether the task definition needs a new revision (size or CPU architecture)."""
        b, a = self.before, self.after
        return (b.cpu, b.memory, b.architecture) != (a.cpu, a.memory, a.architecture)

    @property
    def baseline_size(self) -> Tuple[int, int]:
        """The size before any rightsizing: the stack's baseline, else the live size. The
        config write-back records it once as ``rightsizedFrom``."""
        declared = self.live.target.declared
        return declared.baseline if declared is not None else (self.before.cpu, self.before.memory)

    def strategy_items(self) -> Optional[List[dict]]:
        if self.after.strategy == self.before.strategy:
            return self.live.strategy_items
        return res.normalize_strategy(self.after.strategy.to_aws())

    def changes(self) -> List[PlannedChange]:
        """Every field that changes, in migration order."""
        b, a = self.before, self.after
        pairs = [
            ("taskDefinition", "cpu", b.cpu, a.cpu),
            ("taskDefinition", "memory", b.memory, a.memory),
            ("taskDefinition", "cpuArchitecture", b.architecture, a.architecture),
            ("service", "desiredCount", b.desired_count, a.desired_count),
            ("service", "capacityProviderStrategy", self.live.strategy_items, self.strategy_items()),
            ("scalableTarget", "minCapacity", b.min_capacity, a.min_capacity),
            ("scalableTarget", "maxCapacity", b.max_capacity, a.max_capacity),
            ("ecrLifecyclePolicy", "keepImages", b.ecr_keep_images, a.ecr_keep_images),
        ]
        changes = [PlannedChange(*p) for p in pairs if p[2] != p[3]]
        for kind, new in self.alarm_thresholds.items():
            alarm = self.live.alarms[kind]
            changes.append(PlannedChange(f"alarm:{alarm['AlarmName']}", "threshold", alarm["Threshold"], new))
        return changes


@dataclass
class ServiceResult:
    service: str
    status: str
    changes: List[PlannedChange]
    reason: str
    before: ServiceState
    after: ServiceState  # the state the service is in after this run
    #: Alarm kind -> threshold the run set (or plans to set); for the config write-back.
    alarm_thresholds: Dict[str, float] = field(default_factory=dict)
    #: (cpu, memory) before any rightsizing (ServicePlan.baseline_size); for the config write-back.
    baseline: Optional[Tuple[int, int]] = None

    def to_dict(self) -> Dict[str, Any]:
        return {
            "service": self.service,
            "status": self.status,
            "changes": [c.to_dict() for c in self.changes],
            "reason": self.reason,
        }


# ----------------------------------------------------------------------------- planning


def _constrain(plan_after: ServiceState, live: LiveService, inventory: Inventory, notes: List[str]) -> ServiceState:
    """Undo the parts of a plan the live resources cannot take, saying why."""
    before = live.state()
    after = plan_after
    if after.strategy != before.strategy and after.strategy.spot_weight and SPOT not in inventory.capacity_providers:
        after = after.with_changes(strategy=before.strategy)
        notes.append(f"capacity strategy kept: cluster has no {SPOT} capacity provider")
    if (after.cpu, after.memory) != (before.cpu, before.memory):
        misfit = res.containers_fit(live.task_definition, after.cpu, after.memory)
        if misfit:
            after = after.with_changes(cpu=before.cpu, memory=before.memory)
            notes.append(f"task size kept: {misfit}")
    if after.ecr_keep_images != before.ecr_keep_images:
        _, editable = res.keep_count(live.lifecycle_policy)
        if not live.repository_exists or not editable:
            after = after.with_changes(ecr_keep_images=before.ecr_keep_images)
            why = "repository not found" if not live.repository_exists else "its lifecycle policy has a custom shape"
            notes.append(f"ECR retention kept: {why}")
    if live.scalable_target is None and (after.min_capacity, after.max_capacity) != (
        before.min_capacity,
        before.max_capacity,
    ):
        after = after.with_changes(min_capacity=before.min_capacity, max_capacity=before.max_capacity)
        notes.append("autoscaling kept: no scalable target registered")
    return after


def _alarm_thresholds(live: LiveService, before: ServiceState, after: ServiceState) -> Dict[str, float]:
    changed = {}
    for kind, alarm in sorted(live.alarms.items()):
        if alarm.get("Threshold") is None:
            continue  # anomaly-detection alarms have a band, not a threshold
        old = float(alarm["Threshold"])
        new = alarm_threshold(kind, old, before, after, live.autoscaling_targets.get(kind))
        if not res.same_number(old, new):
            changed[kind] = new
    return changed


def _baseline(live: LiveService, before: ServiceState) -> Optional[ServiceState]:
    declared = live.target.declared
    if declared is None:
        return None
    # The size before any write-back, not the deployed one: after --write-config and
    # `pulumi up` the stack deploys the halved size, and halving that again would ratchet.
    return before.with_changes(
        cpu=declared.baseline[0],
        memory=declared.baseline[1],
        desired_count=declared.desired_count,
        min_capacity=declared.min_capacity,
        max_capacity=declared.max_capacity,
    )


def plan_one(
    live: LiveService, inventory: Inventory, tier: str, opts: RunOptions, usage: Optional[Usage]
) -> ServicePlan:
    before = live.state()
    controller = (live.service.get("deploymentController") or {}).get("type", "ECS")
    if controller != "ECS":
        reason = f"deployment controller {controller}: task definition changes go through that controller"
        return ServicePlan(live, before, before, "skipped", reason)
    decision: Decision = plan_service(before, tier, opts.policy, usage, opts.sizing, _baseline(live, before))
    if decision.skipped:
        return ServicePlan(live, before, before, "skipped", decision.reason)
    notes: List[str] = []
    after = _constrain(decision.after, live, inventory, notes)
    plan = ServicePlan(live, before, after, "planned", "; ".join([decision.reason] + notes))
    plan.alarm_thresholds = _alarm_thresholds(live, before, after)
    if not plan.changes():
        plan.status = "unchanged"
        plan.reason = "; ".join(
            ["already optimized" if decision.policy_used != "unchanged" else decision.reason] + notes
        )
    return plan


@dataclass
class FleetPlan:
    plans: Dict[str, ServicePlan]
    usage: Dict[str, Optional[Usage]]
    #: The AWS account the cluster is in (from its ARN), recorded in the journal.
    account: Optional[str] = None

    def ordered(self) -> List[ServicePlan]:
        return [self.plans[name] for name in sorted(self.plans)]

    @property
    def anything_to_do(self) -> bool:
        return any(p.status == "planned" for p in self.plans.values())


def plan_fleet(
    ctx: AwsContext,
    targets: Targets,
    opts: RunOptions,
    usage: Optional[Dict[str, Optional[Usage]]] = None,
) -> FleetPlan:
    """Read the live state and plan every target service (no writes). ``usage`` from an
    earlier plan of the same run is reused rather than fetched again."""
    inventory = read_inventory(ctx, targets, opts.concurrency)
    if usage is None:
        # fixed reads the history too: it never cuts below what the history shows
        names = {name: t.service_name for name, t in targets.services.items()}
        current = {name: live.state() for name, live in inventory.services.items()}
        usage = fetch_usage(ctx, targets.cluster_name, names, current, opts.sizing.lookback_days)
    plans = {
        name: plan_one(live, inventory, targets.tier, opts, usage.get(name))
        for name, live in inventory.services.items()
    }
    if opts.allow_arm64:
        _plan_arm64(ctx, plans)
    cluster_arn = str(inventory.cluster.get("clusterArn") or "")
    return FleetPlan(plans, usage, cluster_arn.split(":")[4] if cluster_arn.count(":") >= 5 else None)


def _plan_arm64(ctx: AwsContext, plans: Dict[str, ServicePlan]) -> None:
    """Move to ARM64 the planned or unchanged x86 services whose images all run on it."""
    movable = {
        n: p
        for n, p in plans.items()
        if p.status in ("planned", "unchanged") and p.after.architecture != graviton.ARM64
    }
    readiness = graviton.readiness_by_service(ctx, {n: p.live.task_definition for n, p in movable.items()})
    for name, ready in readiness.items():
        plan = plans[name]
        blocked = graviton.spot_blocks_arm64(
            plan.live.service.get("platformVersion"), plan.after.strategy.spot_weight > 0
        )
        if ready.status != graviton.READY or blocked:
            plan.reason = f"{plan.reason}; ARM64 not applied: {blocked or f'{ready.status}: {ready.detail}'}"
            continue
        if plan.status == "unchanged":
            plan.status, plan.reason = "planned", "ARM64 only"
        plan.after = plan.after.with_changes(architecture=graviton.ARM64)
        plan.reason = f"{plan.reason}; ARM64: {ready.detail}"
    if readiness:
        log.info("ARM64 readiness: %s", graviton.summarize(readiness.items()))


# ----------------------------------------------------------------------------- applying


class DeploymentFailed(Exception):
    """The service's deployment failed or did not complete within --wait-timeout."""


class Stopped(Exception):
    """A signal asked the run to stop: the service in flight is put back."""


class ServiceRun:
    """Applies one service's plan write-ahead (intent journalled, call, outcome journalled);
    restores the service on failure or when a signal stops the run."""

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
        changes = [Change(self.plan.name, resource, name, b, a, target) for name, (b, a) in fields.items()]
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

    def _check_stop(self) -> None:
        if self.stop.requested:
            raise Stopped("stopped by a signal")

    def run(self) -> ServiceResult:
        plan = self.plan
        if self.stop.requested:
            return ServiceResult(
                plan.name,
                "skipped",
                plan.changes(),
                "not started: the run was stopped by a signal",
                plan.before,
                plan.before,
            )
        try:
            for step in (self._task_and_service, self._scalable_target, self._lifecycle_policy, self._alarms):
                self._check_stop()
                step()
        except Exception as exc:  # noqa: BLE001 - any failure must leave this service as it was
            log.error("%s: %s", plan.name, exc)
            log.debug("%s: failure detail", plan.name, exc_info=True)
            return self._roll_back(str(exc) or type(exc).__name__)
        finally:
            self.progress.done(plan.name)
        log.info("%s: applied %d changes", plan.name, len(plan.changes()))
        return ServiceResult(
            plan.name,
            "applied",
            plan.changes(),
            plan.reason,
            plan.before,
            plan.after,
            dict(plan.alarm_thresholds),
            plan.baseline_size,
        )

    def _service_target(self) -> Dict[str, Any]:
        return {"cluster": self.cluster, "serviceName": self.plan.live.target.service_name}

    def _revision(self) -> str:
        """The revision with the planned size: one an optimizer run already registered with
        exactly this content (an interrupted run, a retried call) is reused, else a new one
        is registered. Duplicates this run registered (a lost response retried by the SDK)
        are retired, so no revision the journal does not show stays ACTIVE."""
        plan, live = self.plan, self.plan.live
        target = {**self._service_target(), "family": live.task_definition["family"], "runId": self.run_id}
        sizes: Dict[str, Tuple[Any, Any]] = {
            "cpu": (plan.before.cpu, plan.after.cpu),
            "memory": (plan.before.memory, plan.after.memory),
        }
        wanted = {**live.task_definition, "cpu": str(plan.after.cpu), "memory": str(plan.after.memory)}
        if plan.after.architecture != plan.before.architecture:
            sizes["cpuArchitecture"] = (plan.before.architecture, plan.after.architecture)
            platform = live.task_definition.get("runtimePlatform") or {}
            wanted["runtimePlatform"] = {
                **platform,
                "cpuArchitecture": plan.after.architecture,
                "operatingSystemFamily": platform.get("operatingSystemFamily") or "LINUX",
            }
        existing = res.optimizer_revisions(self.ctx, live.task_definition_arn)
        reusable = next((r for r in existing if res.same_content(r.task_definition, wanted)), None)
        if reusable is not None:
            log.info("%s: reusing %s, registered by an earlier optimizer run", plan.name, reusable.arn)
            changes = [Change(plan.name, "taskDefinition", "revision", live.task_definition_arn, reusable.arn, target)]
            changes += [Change(plan.name, "taskDefinition", k, b, a, target) for k, (b, a) in sizes.items()]
            self.written.extend(changes)
            self.journal.snapshot(plan.before)
            for change in changes:
                self.journal.change(change)
            return reusable.arn
        arn = self.write(
            "RegisterTaskDefinition",
            "taskDefinition",
            {"revision": (live.task_definition_arn, None), **sizes},
            target,
            lambda: res.register_revision(
                self.ctx,
                live.task_definition,
                live.task_definition_tags,
                plan.after.cpu,
                plan.after.memory,
                self.run_id,
                plan.after.architecture,
            ),
            after_of=lambda registered: {"revision": registered},
        )
        for extra in res.optimizer_revisions(self.ctx, live.task_definition_arn):
            if extra.run_id == self.run_id and extra.arn != arn:
                self.write(
                    "DeregisterTaskDefinition",
                    "taskDefinition",
                    {"retired": (extra.arn, "INACTIVE")},
                    target,
                    functools.partial(res.deregister, self.ctx, extra.arn),
                )
                log.info("%s: retired duplicate revision %s", plan.name, extra.arn)
        return arn

    def _task_and_service(self) -> None:
        plan, live = self.plan, self.plan.live
        task_definition = self._revision() if plan.size_changes() else live.task_definition_arn
        fields: Dict[str, tuple] = {}
        if task_definition != live.task_definition_arn:
            fields["taskDefinition"] = (live.task_definition_arn, task_definition)
        if plan.after.desired_count != plan.before.desired_count:
            fields["desiredCount"] = (plan.before.desired_count, plan.after.desired_count)
        if plan.strategy_items() != live.strategy_items:
            fields["capacityProviderStrategy"] = (live.strategy_items, plan.strategy_items())
        if not fields:
            return
        self._check_stop()
        self.write(
            "UpdateService",
            "service",
            fields,
            self._service_target(),
            lambda: res.update_service(
                self.ctx,
                self.cluster,
                live.target.service_name,
                task_definition=fields.get("taskDefinition", (None, None))[1],
                desired_count=fields.get("desiredCount", (None, None))[1],
                strategy=plan.strategy_items(),
                change_strategy="capacityProviderStrategy" in fields,
            ),
        )
        rollout = res.wait_for_deployment(
            self.ctx,
            self.cluster,
            live.target.service_name,
            task_definition,
            self.opts.wait_timeout,
            self.opts.poll_interval,
            stop=lambda: self.stop.requested,
            progress=self.progress.reporter(plan.name),
        )
        if not rollout.ok:
            raise DeploymentFailed(f"deployment failed: {rollout.reason}")
        log.info("%s: %s", plan.name, rollout.reason)

    def _scalable_target(self) -> None:
        b, a = self.plan.before, self.plan.after
        if (b.min_capacity, b.max_capacity) == (a.min_capacity, a.max_capacity):
            return
        resource_id = self.plan.live.target.scalable_target_resource_id
        fields = {"minCapacity": (b.min_capacity, a.min_capacity), "maxCapacity": (b.max_capacity, a.max_capacity)}
        self.write(
            "RegisterScalableTarget",
            "scalableTarget",
            {k: v for k, v in fields.items() if v[0] != v[1]},
            {
                "resourceId": resource_id,
                "serviceNamespace": res.ECS_NAMESPACE,
                "scalableDimension": res.SCALABLE_DIMENSION,
            },
            lambda: res.set_scalable_target(self.ctx, resource_id, a.min_capacity, a.max_capacity),
        )

    def _lifecycle_policy(self) -> None:
        b, a = self.plan.before, self.plan.after
        if b.ecr_keep_images == a.ecr_keep_images or a.ecr_keep_images is None:
            return
        repository = self.plan.live.target.repository_name
        old_text = self.plan.live.lifecycle_policy
        new_text = res.with_keep_count(old_text, a.ecr_keep_images)
        self.write(
            "PutLifecyclePolicy",
            "ecrLifecyclePolicy",
            {"keepImages": (b.ecr_keep_images, a.ecr_keep_images), "lifecyclePolicyText": (old_text, new_text)},
            {"repositoryName": repository},
            lambda: res.write_lifecycle_policy(self.ctx, repository, new_text),
        )

    def _alarms(self) -> None:
        for kind, threshold in self.plan.alarm_thresholds.items():
            self._check_stop()
            alarm = self.plan.live.alarms[kind]
            name = alarm["AlarmName"]
            # The kind tells a journal reader (export-config --journal) which config key it is.
            self.write(
                "PutMetricAlarm",
                f"alarm:{name}",
                {"threshold": (alarm["Threshold"], threshold)},
                {"alarmName": name, "kind": kind},
                functools.partial(res.set_alarm_threshold, self.ctx, alarm, threshold),
            )

    def _roll_back(self, failure: str) -> ServiceResult:
        plan = self.plan
        # Stopping: the restore must end well inside the 30 s a stopping ECS task is given.
        wait = min(self.opts.wait_timeout, STOP_RESTORE_SECONDS) if self.stop.requested else self.opts.wait_timeout
        outcomes = restore_changes(self.ctx, self.written, wait, self.opts.poll_interval, journal=self.journal)
        errors = [o.error for o in outcomes if o.error]
        notes = "".join(f"; {n}" for o in outcomes for n in o.notes)
        if errors:
            reason = f"{failure}; restoring failed: {'; '.join(errors)}{notes}"
            # Its state is unknown (part applied, part restored): count no saving for it.
            return ServiceResult(plan.name, "failed", plan.changes(), reason, plan.before, plan.before)
        reason = f"{failure}; rolled back to the previous state" if self.written else f"{failure}; nothing had changed"
        return ServiceResult(plan.name, "rolled_back", plan.changes(), reason + notes, plan.before, plan.before)


def _unapplied(plan: ServicePlan, dry_run: bool) -> ServiceResult:
    """Result of a plan that is not (or not to be) applied."""
    after = plan.after if dry_run else plan.before
    thresholds = dict(plan.alarm_thresholds) if dry_run else {}
    return ServiceResult(
        plan.name, plan.status, plan.changes(), plan.reason, plan.before, after, thresholds, plan.baseline_size
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

    @property
    def failed(self) -> List[ServiceResult]:
        return [r for r in self.results if r.status in ("failed", "rolled_back")]


#: Called after the services were applied, still under the lock and with the journal open
#: (the config write-back records its file edits there, so ``rollback`` undoes them too).
AfterApply = Callable[[Journal, List[ServiceResult]], None]


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

    A run with nothing to change takes no lock and writes no journal, so re-running on an
    optimized environment makes no mutating call at all. A run with changes plans again
    after taking the lock, so it never applies a plan made while another run was working.
    A stop request (a signal) before the lock is taken ends the run with nothing changed.
    An error releasing the lock after the run does not lose the report: it is returned in
    ``lock_error``.
    """
    stop = stop or StopRequest()
    fleet = plan_fleet(ctx, targets, opts)
    if ctx.dry_run or not fleet.anything_to_do or stop.requested:
        if force_unlock and not ctx.dry_run:
            ClusterLock(ctx, targets.cluster_name).force_unlock()  # asked for, even with nothing to do
        results = [_unapplied(p, dry_run=ctx.dry_run) for p in fleet.ordered()]
        return OptimizeOutcome(targets.cluster_name, ctx.dry_run, opts.policy, None, results)
    run_id = uuid.uuid4().hex[:16]
    lock = ClusterLock(ctx, targets.cluster_name, run_id=run_id)
    lock.acquire(force=force_unlock)
    journal: Optional[Journal] = None
    try:
        fleet = plan_fleet(ctx, targets, opts, fleet.usage)
        header = {
            "runId": run_id,
            "cluster": targets.cluster_name,
            "account": fleet.account,
            "region": ctx.region,
            "endpointUrl": ctx.settings.endpoint_url,
            "policy": opts.policy,
            "source": targets.source,
            "tier": targets.tier,
            "environmentSuffix": targets.environment_suffix,
        }
        journal = Journal(journal_path, header)
        results = _apply_all(
            ctx, journal, fleet.ordered(), targets.cluster_name, opts, run_id, stop, progress or Progress()
        )
        if after_apply is not None:
            after_apply(journal, results)
    finally:
        if journal is not None:
            journal.close()
        lock_error = _release(lock)
    return OptimizeOutcome(targets.cluster_name, False, opts.policy, journal.path, results, lock_error)


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
    todo = [p for p in plans if p.status == "planned"]
    log.info("applying %d of %d services (concurrency %d)", len(todo), len(plans), opts.concurrency)
    with progress, ThreadPoolExecutor(max_workers=max(1, opts.concurrency)) as pool:
        futures = {
            p.name: pool.submit(ServiceRun(ctx, journal, p, cluster, opts, run_id, stop, progress).run) for p in todo
        }
        applied = {name: f.result() for name, f in futures.items()}
    return [applied.get(p.name) or _unapplied(p, dry_run=False) for p in plans]
