"""Plan the optimization: read the live fleet and its utilization, decide each service's new
state (:func:`sizing.plan_service`), then let each lever hold back what the live resources
cannot take (a cluster without FARGATE_SPOT, containers that would not fit the smaller task,
an ECR policy of a shape the optimizer does not own, a missing scalable target) and complete
its part of the plan (the alarm thresholds for the new size; the move to ARM64 of services
whose images all run on it). Read-only: :mod:`engine` applies the plan."""

from __future__ import annotations

import datetime as dt
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
from ..live.targets import TASK_STOP_LOG_KEY, Targets
from ..live.task_stops import TaskStopLogMissing, read_task_stops
from .findings import UNMEASURED, Activity, Finding, service_finding
from .oom import OomEvidence, oom_evidence
from .risk import risk_rank
from .sizing import Decision, SizingOptions, plan_service

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOptions:
    """How a run plans and applies; built from the CLI options."""

    policy: str = "auto"
    sizing: SizingOptions = field(default_factory=SizingOptions)
    #: One deployment wait for every service (--wait-timeout); None: each service's own
    #: (:func:`live.deployments.deployment_wait`).
    wait_timeout: Optional[float] = None
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
    #: The OOM stops that make the service under-provisioned (the plan grows its memory).
    oom: Optional[OomEvidence] = None

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
    #: The OOM stops the plan grew the service for.
    oom: Optional[OomEvidence] = None
    #: What the growth adds to the service's monthly cost (set with the savings).
    growth_monthly_cost: Optional[float] = None

    def to_dict(self) -> Dict[str, Any]:
        data: Dict[str, Any] = {
            "service": self.service,
            "status": self.status,
            "changes": [c.to_dict() for c in self.changes],
            "reason": self.reason,
        }
        if self.oom is not None:
            data["underProvisioned"] = {
                "oomStops": self.oom.count,
                "lastStoppedAt": self.oom.last.stopped_at.isoformat().replace("+00:00", "Z"),
                "containers": list(self.oom.containers),
                "memory": {"before": self.before.memory, "after": self.after.memory},
                "growthMonthlyCost": self.growth_monthly_cost,
            }
        return data


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
    oom: Optional[OomEvidence] = None,
) -> ServicePlan:
    """The service's plan with its finding and the performance risk of its recommendation."""
    plan = _plan_service(live, inventory, tier, opts, usage, oom)
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
    live: LiveService,
    inventory: Inventory,
    tier: str,
    opts: RunOptions,
    usage: Optional[Usage],
    oom: Optional[OomEvidence] = None,
) -> ServicePlan:
    before = live.state()
    controller = res.deployment_controller(live.service)
    if controller != "ECS":
        reason = f"deployment controller {controller}: task definition changes go through that controller"
        if oom is not None:
            reason = f"under-provisioned: {oom.text()}; not resized: {reason}"
        return ServicePlan(live, before, before, Status.SKIPPED, reason)
    decision: Decision = plan_service(
        before, tier, opts.policy, usage, opts.sizing, _baseline(live, before), live.autoscaling_targets, oom
    )
    if decision.skipped:
        return ServicePlan(live, before, before, Status.SKIPPED, decision.reason)
    notes: List[str] = []
    after = _constrain(decision.after, live, inventory, notes)
    plan = ServicePlan(live, before, after, Status.PLANNED, "; ".join([decision.reason] + notes), oom=oom)
    for lever in registry.LEVERS:
        lever.complete(plan)
    if not plan.changes():
        plan.status = Status.UNCHANGED
        plan.reason = "; ".join(
            ["already optimized" if decision.policy_used != "unchanged" else decision.reason] + notes
        )
    return plan


@dataclass(frozen=True)
class OomReading:
    """What the run read of the task-stop log: the OOM evidence per service, or why it sizes
    without (``read`` False: no log group named, or none by that name)."""

    log_group: Optional[str]
    read: bool
    note: str
    evidence: Dict[str, OomEvidence] = field(default_factory=dict)

    def stops(self, name: str) -> Optional[int]:
        """The OOM stops counted for ``name``; None when the log was not read."""
        if not self.read:
            return None
        evidence = self.evidence.get(name)
        return evidence.count if evidence is not None else 0

    def to_dict(self) -> Dict[str, Any]:
        return {
            "logGroup": self.log_group,
            "read": self.read,
            "oomStops": sum(e.count for e in self.evidence.values()),
            "underProvisioned": sorted(self.evidence),
            "note": self.note,
        }


WITHOUT_EVIDENCE = "sizing without OOM evidence"


def read_oom_evidence(
    ctx: AwsContext, targets: Targets, inventory: Inventory, lookback_days: int, now: Optional[dt.datetime] = None
) -> OomReading:
    """The OOM evidence of every target service over the lookback: one batched read of the
    task-stop log (:func:`live.task_stops.read_task_stops`)."""
    group = targets.task_stop_log_group
    if group is None:
        note = (
            f"{WITHOUT_EVIDENCE}: {targets.source} names no task-stop log group ({TASK_STOP_LOG_KEY}; a compute "
            "stack from before it records no stopped tasks)"
        )
        log.warning("%s", note)
        return OomReading(None, False, note)
    end = now or dt.datetime.now(dt.timezone.utc)
    start, _ = window(lookback_days, end)
    names = {t.service_name: name for name, t in targets.services.items() if name in inventory.services}
    try:
        stops = read_task_stops(ctx.logs, group, start, end, names)
    except TaskStopLogMissing as exc:
        note = f"{WITHOUT_EVIDENCE}: {exc}"
        log.warning("%s", note)
        return OomReading(group, False, note)
    evidence: Dict[str, OomEvidence] = {}
    for service_name, found in stops.items():
        name = names[service_name]
        counted = oom_evidence(found, inventory.services[name].task_definition)
        if counted is not None:
            evidence[name] = counted
            log.warning("%s: under-provisioned: %s", name, counted.text())
    total = sum(e.count for e in evidence.values())
    note = f"{total} OOM stop(s) of {len(evidence)} service(s) in the {lookback_days}-day lookback of {group}"
    log.info("task stops: %s (%d stops read)", note, sum(len(v) for v in stops.values()))
    return OomReading(group, True, note, evidence)


@dataclass
class FleetPlan:
    plans: Dict[str, ServicePlan]
    usage: Dict[str, Optional[Usage]]
    #: The AWS account the cluster is in (from its ARN), recorded in the journal.
    account: Optional[str] = None
    #: Requests and out-of-memory stops per service, read with the usage (reused by a re-plan).
    activity: Dict[str, Activity] = field(default_factory=dict)
    #: What the task-stop log said (None for a plan made without reading it).
    oom: Optional[OomReading] = None

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
    oom: Optional[OomReading] = None,
) -> FleetPlan:
    """Read the live state and plan every target service (no writes). ``usage``, ``activity``
    and ``oom`` from an earlier plan of the same run are reused rather than read again."""
    inventory = read_inventory(ctx, targets, opts.concurrency)
    requests: Dict[str, Optional[float]] = {}
    if usage is None:
        # fixed reads the history too: it never cuts below what the history shows
        names = {name: t.service_name for name, t in targets.services.items()}
        current = {name: live.state() for name, live in inventory.services.items()}
        groups = {name: service_target_groups(live.service) for name, live in inventory.services.items()}
        usage, requests = fetch_history(
            ctx, targets.cluster_name, names, current, opts.sizing.lookback_days, target_groups=groups
        )
    if oom is None:
        oom = read_oom_evidence(ctx, targets, inventory, opts.sizing.lookback_days)
    if activity is None:
        activity = {
            name: Activity(requests=requests.get(name), oom_stops=oom.stops(name)) for name in inventory.services
        }
    plans = {
        name: plan_one(
            live, inventory, targets.tier, opts, usage.get(name), activity.get(name, UNMEASURED), oom.evidence.get(name)
        )
        for name, live in inventory.services.items()
    }
    for lever in registry.LEVERS:
        lever.complete_fleet(ctx, plans, opts)
    hold_back_risky(plans, opts.max_risk)
    cluster_arn = str(inventory.cluster.get("clusterArn") or "")
    return FleetPlan(plans, usage, cluster_arn.split(":")[4] if cluster_arn.count(":") >= 5 else None, activity, oom)
