"""Re-validating a plan under the cluster lock, cheaply, instead of reading everything again.

A run plans before it takes the lock (so a run with nothing to do takes none), and another
writer may change a service between the plan and the lock: another optimizer run that held
the lock while this one planned, a deployment, the autoscaler. Under the lock, every resource
the apply would overwrite from the plan's copy is read again, batched as its API allows, and
compared with that copy:

* the service (``DescribeServices``, 10 per call): the fields the levers' service update
  writes (task definition, desired count, capacity-provider strategy) and the deployment
  controller;
* the scalable target, where the plan changes min/max (``DescribeScalableTargets``, 50 per
  call): min and max capacity;
* the alarms the plan retunes (``DescribeAlarms``, 100 names per call): every field
  ``PutMetricAlarm`` would send back.

A service whose state moved is planned again from a fresh read of that service alone (its
utilization history is not read again); the others are applied as planned. The ECR lifecycle
policy is not read again (it has no batch read; see docs/decisions.md).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from ..core.errors import TargetsNotFound
from ..levers import registry
from ..live import metric_alarms, scalable_targets
from ..live import resources as res
from ..live.aws import AwsContext
from ..live.discovery import describe_services
from ..live.targets import Targets
from .plan import FleetPlan, RunOptions, ServicePlan, Status, plan_fleet

log = logging.getLogger(__name__)

SERVICE_GONE = "the service was deleted"


@dataclass(frozen=True)
class Moved:
    """What changed in a service's live state since its plan was made."""

    what: str
    #: The service itself is gone (deleted): nothing is left to plan.
    service_gone: bool = False


def _service_moves(planned: dict, live: dict) -> List[str]:
    """The service fields the levers update that moved (a value with a rendering of its own,
    such as a strategy, is only said to have changed), and the deployment controller."""
    moves = []
    for lever in registry.service_levers():
        key = str(lever.service_field)
        was, now = lever.normalize(planned.get(key)), lever.normalize(live.get(key))
        if was != now:
            rendered = lever.shown(key, was) is not None or lever.shown(key, now) is not None
            moves.append(f"{key} changed" if rendered else f"{key} {was} -> {now}")
    was, now = res.deployment_controller(planned), res.deployment_controller(live)
    if was != now:
        moves.append(f"deployment controller {was} -> {now}")
    return moves


def _target_moves(planned: Optional[dict], live: Optional[dict]) -> List[str]:
    if live is None:
        return ["the scalable target is gone"]
    moves = []
    for key in ("MinCapacity", "MaxCapacity"):
        if (planned or {}).get(key) != live.get(key):
            moves.append(f"{key} {(planned or {}).get(key)} -> {live.get(key)}")
    return moves


def _alarm_moves(ctx: AwsContext, planned: dict, live: Optional[dict]) -> List[str]:
    name = planned["AlarmName"]
    if live is None:
        return [f"alarm {name} is gone"]
    sent: Dict[str, Any] = {
        k: res.input_fields(ctx.cloudwatch.raw, "PutMetricAlarm", a) for k, a in (("plan", planned), ("live", live))
    }
    changed = sorted(k for k in set(sent["plan"]) | set(sent["live"]) if sent["plan"].get(k) != sent["live"].get(k))
    return [f"alarm {name} {', '.join(changed)} changed"] if changed else []


def moved_since_planning(ctx: AwsContext, cluster: str, plans: List[ServicePlan]) -> Dict[str, Moved]:
    """Planned service name -> what moved since its plan was made, for each that moved."""
    planned = [p for p in plans if p.status == Status.PLANNED]
    if not planned:
        return {}
    services, _ = describe_services(ctx, cluster, [p.live.target.service_name for p in planned])
    resizing = {
        p.name: p.live.target.scalable_target_resource_id
        for p in planned
        if (p.before.min_capacity, p.before.max_capacity) != (p.after.min_capacity, p.after.max_capacity)
    }
    targets = scalable_targets.describe_scalable_targets(ctx, list(resizing.values()))
    alarms = metric_alarms.describe_alarms(
        ctx, [p.live.alarms[kind]["AlarmName"] for p in planned for kind in p.alarm_thresholds]
    )
    moved: Dict[str, Moved] = {}
    for plan in planned:
        live = services.get(plan.live.target.service_name)
        if live is None:
            moved[plan.name] = Moved(SERVICE_GONE, service_gone=True)
            continue
        moves = _service_moves(plan.live.service, live)
        if plan.name in resizing:
            moves += _target_moves(plan.live.scalable_target, targets.get(resizing[plan.name]))
        for kind in plan.alarm_thresholds:
            alarm = plan.live.alarms[kind]
            moves += _alarm_moves(ctx, alarm, alarms.get(alarm["AlarmName"]))
        if moves:
            moved[plan.name] = Moved("; ".join(moves))
    return moved


def replan_moved(
    ctx: AwsContext, targets: Targets, opts: RunOptions, fleet: FleetPlan, moved: Dict[str, Moved]
) -> FleetPlan:
    """``fleet`` with each moved service planned again from a fresh read of it alone; one that
    is gone, or can no longer be read, is skipped, saying why."""
    plans = dict(fleet.plans)
    again = sorted(n for n, m in moved.items() if not m.service_gone)
    for name in sorted(set(moved) - set(again)):
        plans[name] = _skipped(plans[name], f"not applied: {moved[name].what} since planning")
    if again:
        subset = dataclasses.replace(targets, services={n: targets.services[n] for n in again})
        try:
            fresh = plan_fleet(ctx, subset, opts, fleet.usage).plans
        except TargetsNotFound as exc:
            for name in again:
                reason = f"changed since planning ({moved[name].what}) and could not be read again: {exc}"
                plans[name] = _skipped(plans[name], reason)
            return dataclasses.replace(fleet, plans=plans)
        for name in again:
            plan = fresh[name]
            plan.reason = f"planned again under the lock ({moved[name].what}); {plan.reason}"
            plans[name] = plan
            log.warning("%s: its live state changed since planning (%s); planned again", name, moved[name].what)
    return dataclasses.replace(fleet, plans=plans)


def _skipped(plan: ServicePlan, reason: str) -> ServicePlan:
    log.warning("%s: skipped: %s", plan.name, reason)
    return dataclasses.replace(plan, after=plan.before, status=Status.SKIPPED, reason=reason, alarm_thresholds={})
