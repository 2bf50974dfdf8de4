"""Plan the optimization: read the live fleet and its utilization, decide each service's new
state (:func:`sizing.plan_service`), then let each lever hold back what the live resources
cannot take (a cluster without FARGATE_SPOT, containers that would not fit the smaller task,
an ECR policy of a shape the optimizer does not own, a missing scalable target) and complete
its part of the plan (the alarm thresholds for the new size; the move to ARM64 of services
whose images all run on it). Read-only: :mod:`engine` applies the plan."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ..core.model import ServiceState, Status
from ..core.usage import Usage
from ..levers import registry
from ..levers.base import PlannedChange
from ..live import resources as res
from ..live.aws import AwsContext
from ..live.inventory import Inventory, LiveService, read_inventory
from ..live.metrics import fetch_history, window
from ..live.requests import service_target_groups
from ..live.targets import Targets
from ..live.task_stops import TaskStopLogMissing, read_task_stops
from .findings import UNMEASURED, Activity, Finding, service_finding
from .risk import risk_rank
from .sizing import Decision, SizingOptions, plan_service

log = logging.getLogger(__name__)


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
    #: --max-risk: apply only recommendations at or below this performance risk (None: all).
    max_risk: Optional[str] = None


@dataclass
class ServicePlan:
    """One service's planned state, with the live resources it will be applied to."""

    live: LiveService
    before: ServiceState
    after: ServiceState
    status: Status  # PLANNED | UNCHANGED | SKIPPED
    reason: str
    alarm_thresholds: Dict[str, float] = field(default_factory=dict)  # kind -> new threshold
    #: The finding, its reasons and the risk of the recommendation (:mod:`planning.findings`).
    finding: Optional[Finding] = None

    @property
    def name(self) -> str:
        return self.live.name

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
        """Every field that changes, lever by lever, in migration order."""
        return registry.planned_changes(self)


@dataclass
class ServiceResult:
    service: str
    status: Status
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


def _constrain(plan_after: ServiceState, live: LiveService, inventory: Inventory, notes: List[str]) -> ServiceState:
    """Undo the parts of a plan the live resources cannot take, lever by lever, saying why."""
    before = live.state()
    after = plan_after
    for lever in registry.LEVERS:
        after, note = lever.hold_back(before, after, live, inventory)
        if note:
            notes.append(note)
    return after


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
    live: LiveService,
    inventory: Inventory,
    tier: str,
    opts: RunOptions,
    usage: Optional[Usage],
    activity: Activity = UNMEASURED,
) -> ServicePlan:
    """The service's plan with its finding and the performance risk of its recommendation."""
    plan = _plan_service(live, inventory, tier, opts, usage)
    plan.finding = service_finding(
        plan.before,
        plan.after,
        usage,
        live.autoscaling_targets,
        activity,
        opts.sizing.lookback_days,
        opts.sizing.min_history_days,
    )
    return plan


def hold_back_risky(plans: Mapping[str, ServicePlan], max_risk: Optional[str]) -> None:
    """Skip every planned service whose recommendation's performance risk is above
    ``max_risk`` (``--max-risk``): left as it is, its report saying why and at what risk."""
    if max_risk is None:
        return
    for plan in plans.values():
        level = plan.finding.risk.level if plan.finding is not None else None
        if plan.status == Status.PLANNED and level is not None and risk_rank(level) > risk_rank(max_risk):
            plan.reason = (
                f"skipped: performance risk {level} is above --max-risk {max_risk}; the plan was: {plan.reason}"
            )
            plan.status, plan.after, plan.alarm_thresholds = Status.SKIPPED, plan.before, {}


def _plan_service(
    live: LiveService, inventory: Inventory, tier: str, opts: RunOptions, usage: Optional[Usage]
) -> ServicePlan:
    before = live.state()
    controller = res.deployment_controller(live.service)
    if controller != "ECS":
        reason = f"deployment controller {controller}: task definition changes go through that controller"
        return ServicePlan(live, before, before, Status.SKIPPED, reason)
    decision: Decision = plan_service(
        before, tier, opts.policy, usage, opts.sizing, _baseline(live, before), live.autoscaling_targets
    )
    if decision.skipped:
        return ServicePlan(live, before, before, Status.SKIPPED, decision.reason)
    notes: List[str] = []
    after = _constrain(decision.after, live, inventory, notes)
    plan = ServicePlan(live, before, after, Status.PLANNED, "; ".join([decision.reason] + notes))
    for lever in registry.LEVERS:
        lever.complete(plan)
    if not plan.changes():
        plan.status = Status.UNCHANGED
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
    #: Requests and out-of-memory stops per service, read with the usage (reused by a re-plan).
    activity: Dict[str, Activity] = field(default_factory=dict)

    def ordered(self) -> List[ServicePlan]:
        return [self.plans[name] for name in sorted(self.plans)]

    @property
    def anything_to_do(self) -> bool:
        return any(p.status == Status.PLANNED for p in self.plans.values())


def plan_fleet(
    ctx: AwsContext,
    targets: Targets,
    opts: RunOptions,
    usage: Optional[Dict[str, Optional[Usage]]] = None,
    activity: Optional[Dict[str, Activity]] = None,
) -> FleetPlan:
    """Read the live state and plan every target service (no writes). ``usage`` and
    ``activity`` from an earlier plan of the same run are reused rather than fetched again."""
    inventory = read_inventory(ctx, targets, opts.concurrency)
    if usage is None:
        # fixed reads the history too: it never cuts below what the history shows
        names = {name: t.service_name for name, t in targets.services.items()}
        current = {name: live.state() for name, live in inventory.services.items()}
        groups = {name: service_target_groups(live.service) for name, live in inventory.services.items()}
        usage, requests = fetch_history(
            ctx, targets.cluster_name, names, current, opts.sizing.lookback_days, target_groups=groups
        )
        stops = read_oom_stops(ctx, targets, opts.sizing.lookback_days)
        activity = {
            name: Activity(requests=requests.get(name), oom_stops=None if stops is None else stops.get(name, 0))
            for name in inventory.services
        }
    activity = activity or {}
    plans = {
        name: plan_one(live, inventory, targets.tier, opts, usage.get(name), activity.get(name, UNMEASURED))
        for name, live in inventory.services.items()
    }
    for lever in registry.LEVERS:
        lever.complete_fleet(ctx, plans, opts)
    hold_back_risky(plans, opts.max_risk)
    cluster_arn = str(inventory.cluster.get("clusterArn") or "")
    return FleetPlan(plans, usage, cluster_arn.split(":")[4] if cluster_arn.count(":") >= 5 else None, activity)


def read_oom_stops(ctx: AwsContext, targets: Targets, lookback_days: int) -> Optional[Dict[str, int]]:
    """Catalog name -> tasks stopped for running out of memory over the lookback, from the
    compute layer's task-stop log (one paginated read); None where there is no such log, so
    findings are made without OOM evidence."""
    group = targets.task_stop_log_group
    if not group:
        log.info("no task-stop log in the compute outputs: findings are made without out-of-memory evidence")
        return None
    start, end = window(lookback_days)
    by_ecs_name = {t.service_name: name for name, t in targets.services.items()}
    try:
        stops = read_task_stops(ctx.logs, group, start, end, list(by_ecs_name))
    except TaskStopLogMissing as exc:
        log.warning("%s: findings are made without out-of-memory evidence", exc)
        return None
    return {by_ecs_name[ecs]: sum(1 for s in found if s.is_oom) for ecs, found in stops.items() if ecs in by_ecs_name}
