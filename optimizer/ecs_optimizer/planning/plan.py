"""Plan the optimization: read the live fleet and its utilization, decide each service's new
state (:func:`sizing.plan_service`), then let each lever hold back what the live resources
cannot take (a cluster without FARGATE_SPOT, containers that would not fit the smaller task,
an ECR policy of a shape the optimizer does not own, a missing scalable target) and complete
its part of the plan (the alarm thresholds for the new size; the move to ARM64 of services
whose images all run on it). Read-only: :mod:`engine` applies the plan."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from ..core.model import ServiceState, Status
from ..core.usage import Usage
from ..levers import registry
from ..levers.base import PlannedChange
from ..live import resources as res
from ..live.aws import AwsContext
from ..live.inventory import Inventory, LiveService, read_inventory
from ..live.metrics import fetch_usage
from ..live.targets import Targets
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


@dataclass
class ServicePlan:
    """One service's planned state, with the live resources it will be applied to."""

    live: LiveService
    before: ServiceState
    after: ServiceState
    status: Status  # PLANNED | UNCHANGED | SKIPPED
    reason: str
    alarm_thresholds: Dict[str, float] = field(default_factory=dict)  # kind -> new threshold

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
    for lever in registry.LEVERS:
        lever.complete_fleet(ctx, plans, opts)
    cluster_arn = str(inventory.cluster.get("clusterArn") or "")
    return FleetPlan(plans, usage, cluster_arn.split(":")[4] if cluster_arn.count(":") >= 5 else None)
