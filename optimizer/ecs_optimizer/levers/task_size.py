"""Task size: rightsizing (CPU units, MiB) and, with ``--allow-arm64``, the move to Graviton.

Applied as a new task-definition revision (everything else copied) that the service update
then points the service at. A revision an earlier optimizer run registered with exactly this
content is reused; duplicates this run registered (a lost response the SDK retried) are
retired. Task definitions cannot be changed back, only retired: restoring deregisters the
revisions the run registered once the service no longer runs them.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..core.changes import Change, Resource, RestoreStep
from ..core.fargate import ARCHITECTURES, ARM64
from ..core.model import SPOT, ServiceState, Status
from ..live import graviton
from ..live import resources as res
from ..planning.alarm_basis import alarm_basis, with_basis
from ..writeback.keys import ARCHITECTURE_FIELD, RIGHTSIZED_FROM_FIELD, SERVICES_KEY, SIZES_FIELD, TASK_SIZE_KEYS
from ..writeback.setting import Setting
from .base import FieldSpec, Lever, PlannedChange, SavingsStep, is_int
from .options import LeverOption

#: The sizing policies (``planning/sizing.py`` says what each decides).
POLICIES = ("fixed", "metrics", "auto")

POLICY = LeverOption(
    "policy",
    default="auto",
    kind="choice",
    choices=POLICIES,
    help="fixed: halve task sizes, desired 3->2, min 2->1. metrics: cheapest Fargate size covering p95 CPU and "
    "peak memory with headroom. auto: metrics where there is enough history, else fixed, never below observed need.",
)
HEADROOM = LeverOption(
    "headroom",
    default=0.2,
    low=0.0,
    high=1.0,
    help="Spare capacity the metrics policy adds on top of observed need (0.2 = 20%).",
)
LOOKBACK_DAYS = LeverOption(
    "lookback_days",
    default=14,
    kind="int",
    low=1,
    high=455,
    help="Days of CloudWatch CPU/memory history the metrics policy reads (hourly periods). The policy wants "
    "7 days of it; a shorter window lowers that to the window.",
)
ALLOW_ARM64 = LeverOption(
    "allow_arm64",
    default=False,
    kind="flag",
    commands=("optimize", "savings"),
    help="Move to Graviton (ARM64, cheaper per vCPU and GB hour) every service whose container images are all "
    "multi-architecture with linux/arm64, as read from ECR; services with an image that cannot be read stay x86. "
    "Part of the new task-definition revision, so rollback restores it.",
)

if TYPE_CHECKING:  # pragma: no cover
    from ..live.aws import AwsContext
    from ..live.inventory import Inventory, LiveService
    from ..writeback.applied_values import AppliedRun
    from .ports import RestorerView, RunOptionsView, ServicePlanView, ServiceRunView

log = logging.getLogger(__name__)


def _is_arn(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


_ARN = "a task-definition ARN"


def spot_blocks_arm64(platform_version: Optional[str], uses_spot: bool) -> Optional[str]:
    """Why Spot keeps this service on x86 (a pinned platform version before 1.4.0), or None."""
    if not uses_spot or platform_version in (None, "", "LATEST"):
        return None
    try:
        parts = tuple(int(p) for p in platform_version.split("."))
    except ValueError:
        return f"platform version {platform_version} is not a Fargate Linux version"
    if parts < (1, 4, 0):
        return f"{SPOT} runs ARM64 only on platform version 1.4.0 or later, not {platform_version}"
    return None


class TaskSize(Lever):
    name = "task size"
    label = "task size"
    options = (POLICY, HEADROOM, LOOKBACK_DAYS, ALLOW_ARM64)
    iam_actions = (
        "ecs:DescribeTaskDefinition",
        "ecs:ListTaskDefinitions",
        "ecs:RegisterTaskDefinition",
        "ecs:DeregisterTaskDefinition",
        "ecs:DescribeServices",
    )
    resource = Resource.TASK_DEFINITION
    target_keys = ("cluster", "serviceName", "family")
    journal_fields = {
        (Resource.TASK_DEFINITION, "revision"): FieldSpec(
            _ARN, lambda v: v is None or isinstance(v, str), before_check=_is_arn
        ),
        (Resource.TASK_DEFINITION, "retired"): FieldSpec(_ARN, _is_arn),
        (Resource.TASK_DEFINITION, "cpu"): FieldSpec("an integer", is_int, "cpu", int),
        (Resource.TASK_DEFINITION, "memory"): FieldSpec("an integer", is_int, "memory", int),
        (Resource.TASK_DEFINITION, "cpuArchitecture"): FieldSpec(
            " or ".join(ARCHITECTURES), lambda v: v in ARCHITECTURES, "architecture", str
        ),
        (Resource.SERVICE, "taskDefinition"): FieldSpec(_ARN, _is_arn),
    }
    savings_steps = (
        SavingsStep("rightsizing", "Rightsizing", ("cpu", "memory")),
        SavingsStep("graviton", "Graviton (ARM64)", ("architecture",)),
    )
    service_field = "taskDefinition"
    service_field_label = "task definition"
    migration_steps = (
        "register a task-definition revision with the new CPU/memory and, with --allow-arm64, "
        "CPU architecture (all else copied)",
    )

    def hold_back(
        self, before: ServiceState, after: ServiceState, live: "LiveService", inventory: "Inventory"
    ) -> Tuple[ServiceState, Optional[str]]:
        if (after.cpu, after.memory) == (before.cpu, before.memory):
            return after, None
        misfit = res.containers_fit(live.task_definition, after.cpu, after.memory)
        if not misfit:
            return after, None
        return after.with_changes(cpu=before.cpu, memory=before.memory), f"task size kept: {misfit}"

    def complete_fleet(self, ctx: "AwsContext", plans: Mapping[str, "ServicePlanView"], opts: "RunOptionsView") -> None:
        """With ``--allow-arm64``: move to ARM64 the planned or unchanged x86 services whose
        images all run on it (one read of the fleet's image manifests), unless Fargate Spot's
        platform version cannot run ARM64 for a Spot service."""
        if not opts.allow_arm64:
            return
        movable = {
            n: p
            for n, p in plans.items()
            if p.status in (Status.PLANNED, Status.UNCHANGED) and p.after.architecture != ARM64
        }
        readiness = graviton.readiness_by_service(ctx, {n: p.live.task_definition for n, p in movable.items()})
        for name, ready in readiness.items():
            plan = plans[name]
            blocked = spot_blocks_arm64(plan.live.service.get("platformVersion"), plan.after.strategy.spot_weight > 0)
            if ready.status != graviton.READY or blocked:
                plan.reason = f"{plan.reason}; ARM64 not applied: {blocked or f'{ready.status}: {ready.detail}'}"
                continue
            if plan.status == Status.UNCHANGED:
                plan.status, plan.reason = Status.PLANNED, "ARM64 only"
            plan.after = plan.after.with_changes(architecture=ARM64)
            plan.reason = f"{plan.reason}; ARM64: {ready.detail}"
        if readiness:
            log.info("ARM64 readiness: %s", graviton.summarize(readiness.items()))

    def changes(self, plan: "ServicePlanView") -> List[PlannedChange]:
        b, a = plan.before, plan.after
        pairs = [
            ("cpu", b.cpu, a.cpu),
            ("memory", b.memory, a.memory),
            ("cpuArchitecture", b.architecture, a.architecture),
        ]
        return [PlannedChange(self.resource, f, old, new) for f, old, new in pairs if old != new]

    def service_value(self, run: "ServiceRunView") -> Optional[Tuple[Any, Any]]:
        if not self.changes(run.plan):
            return None
        live_arn = run.plan.live.task_definition_arn
        arn = self._revision(run)
        return (live_arn, arn) if arn != live_arn else None

    def _revision(self, run: "ServiceRunView") -> str:
        """The revision with the planned size: one an optimizer run already registered with
        exactly this content (an interrupted run, a retried call) is reused, else a new one
        is registered. Duplicates this run registered (a lost response retried by the SDK)
        are retired, so no revision the journal does not show stays ACTIVE."""
        plan, live = run.plan, run.plan.live
        target = {**run.service_target(), "family": live.task_definition["family"], "runId": run.run_id}
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
        existing = res.optimizer_revisions(run.ctx, live.task_definition_arn)
        reusable = next((r for r in existing if res.same_content(r.task_definition, wanted)), None)
        if reusable is not None:
            log.info("%s: reusing %s, registered by an earlier optimizer run", plan.name, reusable.arn)
            run.record(self.resource, {"revision": (live.task_definition_arn, reusable.arn), **sizes}, target)
            return reusable.arn
        arn = run.write(
            "RegisterTaskDefinition",
            self.resource,
            {"revision": (live.task_definition_arn, None), **sizes},
            target,
            lambda: res.register_revision(
                run.ctx,
                live.task_definition,
                # the size the alarm thresholds were set for, carried forward (alarm_basis)
                with_basis(
                    live.task_definition_tags, alarm_basis(live.task_definition, live.task_definition_tags, live.alarms)
                ),
                plan.after.cpu,
                plan.after.memory,
                run.run_id,
                plan.after.architecture,
            ),
            after_of=lambda registered: {"revision": registered},
        )
        for extra in res.optimizer_revisions(run.ctx, live.task_definition_arn):
            if extra.run_id == run.run_id and extra.arn != arn:
                run.write(
                    "DeregisterTaskDefinition",
                    self.resource,
                    {"retired": (extra.arn, "INACTIVE")},
                    target,
                    functools.partial(res.deregister, run.ctx, extra.arn),
                )
                log.info("%s: retired duplicate revision %s", plan.name, extra.arn)
        return arn

    def restore(self, restorer: "RestorerView", step: RestoreStep, notes: List[str]) -> List[Change]:
        """Retire the revisions the run registered: those the journal names and every ACTIVE
        one tagged with the run's id (one whose registration response was lost)."""
        if "revision" not in step.before:
            return []
        ctx = restorer.ctx
        if restorer.dry_run:
            in_use = step.before["revision"]  # what the service step will have restored
        else:
            in_use = res.describe_service(ctx, step.target["cluster"], step.target["serviceName"]).get("taskDefinition")
        named = [c.after for c in step.changes if c.field == "revision" and c.after]
        run_id = step.target.get("runId")
        tagged = [r.arn for r in res.optimizer_revisions(ctx, step.before["revision"]) if run_id and r.run_id == run_id]
        retired = []
        for arn in dict.fromkeys(named + tagged):
            if arn == in_use or not res.is_active(ctx, arn):
                continue
            change = Change(step.service, step.resource, "retired", arn, "INACTIVE", step.target)
            if not restorer.dry_run:
                restorer.guarded("DeregisterTaskDefinition", [change], functools.partial(res.deregister, ctx, arn))
                log.info("%s: deregistered %s", step.service, arn)
            retired.append(change)
        return retired

    def realised(self, step: RestoreStep, steps: Sequence[RestoreStep]) -> bool:
        """A revision is never changed back, only retired (not journalled): when the service
        was put back on its old revision (a failed deployment), the revision's size did not
        take effect."""
        field = str(self.service_field)
        return not any(
            s.service == step.service
            and s.resource == Resource.SERVICE
            and field in s.before
            and s.before[field] == s.after[field]
            for s in steps
        )

    def applied(
        self, before: ServiceState, after: ServiceState, thresholds: Mapping[str, float], baseline: Tuple[int, int]
    ) -> Dict[str, Any]:
        resized = (after.cpu, after.memory) != (before.cpu, before.memory)
        return {
            "size": (after.cpu, after.memory) if resized else None,
            "rightsized_from": baseline if resized else None,
            "architecture": after.architecture if after.architecture != before.architecture else None,
        }

    def settings(self, run: "AppliedRun", notes: List[str]) -> List[Setting]:
        out: List[Setting] = []
        tier = run.tier
        for name, svc in run.services.items():
            entry = (SERVICES_KEY, name)
            if svc.size is not None:
                for part, value in zip(TASK_SIZE_KEYS, svc.size):
                    out.append(Setting("compute", entry + (SIZES_FIELD, tier, part), value, name))
                if svc.rightsized_from is not None:
                    for part, value in zip(TASK_SIZE_KEYS, svc.rightsized_from):
                        path = entry + (RIGHTSIZED_FROM_FIELD, tier, part)
                        out.append(Setting("compute", path, value, name, only_if_unset=True))
            if svc.architecture is not None:
                out.append(Setting("compute", entry + (ARCHITECTURE_FIELD,), svc.architecture, name))
        return out
