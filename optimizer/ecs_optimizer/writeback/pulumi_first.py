"""The Pulumi-first path (``optimize --via-pulumi``): the plan goes into the stack files, and
the platform's own ``pulumi up`` makes the change.

The run plans from the live fleet and its metrics exactly as ``optimize`` does, with the
dry-run guard on (every mutating AWS call is refused below the optimizer's code), then writes
the keys ``--write-config`` would write (:func:`writeback.files.write_back`). What it reports
on top is what the next ``pulumi up`` is expected to do with those keys, per layer and
resource (:class:`ExpectedResource`), and, for each planned field that ``pulumi up`` does not
set the way a direct run does, how and when it takes effect (:class:`Deferred`).

How each planned change reaches the stacks (the resource types are the Pulumi AWS provider's):

* task size (cpu, memory, CPU architecture): the compute layer's task definition is replaced
  (a new revision) and its service is updated to run it;
* capacity-provider strategy (``compute:spotShare``): the service is updated;
* autoscaling minimum/maximum: the scalable target is updated;
* ECR keep count (``registry:keepImages``): each repository's lifecycle policy is updated;
* cpu-high / memory-high thresholds: the observability layer's alarms are updated; the
  running-tasks-low threshold follows compute's ``minCapacity`` through compute's outputs, so
  observability's preview shows it only once compute has been updated;
* desired count: the compute program sets a service's count only when it creates it
  (``ignoreChanges: ["desiredCount"]``) and leaves it to autoscaling, so ``pulumi up`` does not
  set it: see :func:`desired_count_effect`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..core import facts
from ..levers import registry
from ..output.render import truncate
from ..planning.plan import FleetPlan, ServicePlan, Status
from .keys import SPOT_SHARE_KEY
from .plan import KeyPlan

#: Pulumi AWS provider type tokens of the resources the written keys change.
TASK_DEFINITION_TYPE = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE_TYPE = "aws:ecs/service:Service"
SCALABLE_TARGET_TYPE = "aws:appautoscaling/target:Target"
LIFECYCLE_POLICY_TYPE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
METRIC_ALARM_TYPE = "aws:cloudwatch/metricAlarm:MetricAlarm"

UPDATE = "update"
#: A task definition is immutable: a change registers a new revision (Pulumi replaces it).
REPLACE = "replace"

#: Layers in the order ``scripts/layers.sh up`` runs them (the ones the write-back touches).
LAYER_ORDER = ("registry", "compute", "observability")

#: The alarm kind whose threshold the observability program derives from compute's outputs.
RUNNING_TASKS_LOW = facts.alarm_kind("runningTasksLow")

#: Planned field (journal resource kind, field) -> (Pulumi type, input property, operation, how
#: a value is shown: a format for it, or "" for the lever's own way). ``alarm`` stands for
#: every ``alarm:<name>`` resource.
_PULUMI_FIELDS: Mapping[Tuple[str, str], Tuple[str, str, str, str]] = {
    ("taskDefinition", "cpu"): (TASK_DEFINITION_TYPE, "cpu", REPLACE, ""),
    ("taskDefinition", "memory"): (TASK_DEFINITION_TYPE, "memory", REPLACE, ""),
    ("taskDefinition", "cpuArchitecture"): (TASK_DEFINITION_TYPE, "runtimePlatform.cpuArchitecture", REPLACE, ""),
    ("service", "capacityProviderStrategy"): (SERVICE_TYPE, "capacityProviderStrategies", UPDATE, ""),
    ("scalableTarget", "minCapacity"): (SCALABLE_TARGET_TYPE, "minCapacity", UPDATE, ""),
    ("scalableTarget", "maxCapacity"): (SCALABLE_TARGET_TYPE, "maxCapacity", UPDATE, ""),
    ("ecrLifecyclePolicy", "keepImages"): (LIFECYCLE_POLICY_TYPE, "policy", UPDATE, "keep the last {} images"),
    ("alarm", "threshold"): (METRIC_ALARM_TYPE, "threshold", UPDATE, ""),
}
_LAYER_OF_TYPE = {
    TASK_DEFINITION_TYPE: "compute",
    SERVICE_TYPE: "compute",
    SCALABLE_TARGET_TYPE: "compute",
    LIFECYCLE_POLICY_TYPE: "registry",
    METRIC_ALARM_TYPE: "observability",
}
#: The property of the service that points at its task definition (updated on a new revision).
SERVICE_TASK_DEFINITION = "taskDefinition"


@dataclass(frozen=True)
class PropertyChange:
    """One input property of a Pulumi resource, before -> after (the plan's values)."""

    property: str
    before: Any
    after: Any
    #: Set when the change shows in the layer's preview only after an upstream layer's update.
    after_upstream: Optional[str] = None
    #: The values as the report shows them (a lever may show its values its own way).
    shown: Tuple[str, str] = ("", "")

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"property": self.property, "before": self.before, "after": self.after}
        if self.after_upstream:
            out["afterUpstream"] = self.after_upstream
        return out


@dataclass
class ExpectedResource:
    """A resource the next ``pulumi up`` of ``layer`` is expected to change, named by its
    Pulumi type and its AWS name (task-definition family, service, scalable-target resource
    id, repository, alarm)."""

    layer: str
    type: str
    name: str
    operation: str
    services: List[str]
    properties: List[PropertyChange] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "layer": self.layer,
            "type": self.type,
            "name": self.name,
            "operation": self.operation,
            "services": list(self.services),
            "properties": [p.to_dict() for p in self.properties],
        }


@dataclass(frozen=True)
class Deferred:
    """A planned field ``pulumi up`` does not set as a direct run does: what it will be right
    after ``pulumi up`` (``at_up``), and how and when it reaches the planned value."""

    service: str
    layer: str
    type: str
    name: str
    property: str
    before: Any
    planned: Any
    at_up: Any
    how: str

    def to_dict(self) -> Dict[str, Any]:
        return {
            "service": self.service,
            "layer": self.layer,
            "type": self.type,
            "name": self.name,
            "property": self.property,
            "before": self.before,
            "planned": self.planned,
            "afterPulumiUp": self.at_up,
            "how": self.how,
        }


@dataclass
class ExpectedPreview:
    """What ``pulumi up`` of the written stack files is expected to change, per layer, and
    what it leaves for later."""

    resources: List[ExpectedResource]
    deferred: List[Deferred]

    def for_layer(self, layer: str) -> List[ExpectedResource]:
        return [r for r in self.resources if r.layer == layer]

    def to_dict(self) -> Dict[str, Any]:
        return {
            "layers": {
                layer: [r.to_dict() for r in self.for_layer(layer)] for layer in LAYER_ORDER if self.for_layer(layer)
            },
            "deferred": [d.to_dict() for d in self.deferred],
        }


def desired_count_effect(plan: ServicePlan, cluster: str) -> Tuple[int, str]:
    """(the count right after ``pulumi up``, how and when the planned count takes effect).

    The compute program leaves a running service's desired count to Application Auto Scaling
    (``ignoreChanges``), so ``pulumi up`` never sets it. Updating the scalable target moves a
    count outside the new [min, max] to the nearest bound at once (RegisterScalableTarget
    "changes the resource's current capacity to a value that is inside of this range");
    inside the range, target tracking moves it as the load asks, scaling in no sooner than the
    scale-in cooldown of its policies."""
    before, after = plan.before, plan.after
    count = before.desired_count
    command = (
        f"aws ecs update-service --cluster {cluster} --service {plan.live.target.service_name} "
        f"--desired-count {after.desired_count}"
    )
    if plan.live.scalable_target is None:
        return count, (
            f"pulumi up leaves it at {count} (the program sets the count only when it creates the service, and the "
            f"service has no scalable target to move it); set it by hand: {command}"
        )
    if count < after.min_capacity or count > after.max_capacity:
        bound = after.min_capacity if count < after.min_capacity else after.max_capacity
        return bound, (
            f"pulumi up does not set the count (the program leaves it to autoscaling: ignoreChanges desiredCount); "
            f"the scalable target's new range [{after.min_capacity}, {after.max_capacity}] moves it from {count} to "
            f"{bound} when pulumi up updates the target, then target tracking moves it as the load asks"
        )
    return count, (
        f"pulumi up leaves it at {count} (the program leaves the count to autoscaling: ignoreChanges desiredCount); "
        f"inside the new range [{after.min_capacity}, {after.max_capacity}], target tracking moves it toward "
        f"{after.desired_count} as the load allows, scaling in no sooner than its policies' scale-in cooldown. "
        f"To reach {after.desired_count} at once after pulumi up: {command}"
    )


def show_value(resource: str, field: str, value: Any) -> str:
    """A planned value as the report shows it: the lever's way, else compact JSON."""
    shown = registry.shown(resource, field, value)
    if shown is not None:
        return shown
    if value is None:
        return "none"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return truncate(value if isinstance(value, str) else json.dumps(value, default=str), 80)


def _alarm_kinds(plan: ServicePlan) -> Dict[str, str]:
    return {str(a.get("AlarmName")): kind for kind, a in plan.live.alarms.items()}


def _identity(plan: ServicePlan, resource_type: str, resource: str) -> str:
    target = plan.live.target
    if resource_type == TASK_DEFINITION_TYPE:
        return str(plan.live.task_definition.get("family") or target.service_name)
    if resource_type == SERVICE_TYPE:
        return target.service_name
    if resource_type == SCALABLE_TARGET_TYPE:
        return target.scalable_target_resource_id
    if resource_type == LIFECYCLE_POLICY_TYPE:
        return target.repository_name
    return resource.split(":", 1)[1]  # alarm:<name>


def _written(keys: KeyPlan) -> Dict[str, Any]:
    """The written keys by their property path (``compute:spotShare``, ...)."""
    return {s.key: s.value for s in keys.settings}


def expected_preview(fleet: FleetPlan, keys: KeyPlan, cluster: str) -> ExpectedPreview:
    """What ``pulumi up`` of the files written from ``keys`` changes for the planned services
    of ``fleet``, resource by resource, and what it defers (the desired count) or cannot make
    (a layer-wide key that was not written)."""
    found: Dict[Tuple[str, str], ExpectedResource] = {}
    deferred: List[Deferred] = []
    written = _written(keys)
    spot_written = SPOT_SHARE_KEY in written

    def add(plan: ServicePlan, resource_type: str, name: str, operation: str, change: PropertyChange) -> None:
        entry = found.setdefault(
            (resource_type, name),
            ExpectedResource(_LAYER_OF_TYPE[resource_type], resource_type, name, operation, []),
        )
        if plan.name not in entry.services:
            entry.services.append(plan.name)
        if change not in entry.properties:
            entry.properties.append(change)

    for plan in fleet.ordered():
        if plan.status != Status.PLANNED:
            continue
        kinds = _alarm_kinds(plan)
        for change in plan.changes():
            resource = str(change.resource)
            kind = "alarm" if resource.startswith("alarm:") else resource
            if (kind, change.field) == ("service", "desiredCount"):
                at_up, how = desired_count_effect(plan, cluster)
                name = _identity(plan, SERVICE_TYPE, resource)
                deferred.append(
                    Deferred(
                        plan.name,
                        "compute",
                        SERVICE_TYPE,
                        name,
                        "desiredCount",
                        change.before,
                        change.after,
                        at_up,
                        how,
                    )
                )
                continue
            mapped = _PULUMI_FIELDS.get((kind, change.field))
            if mapped is None:
                raise ValueError(f"no Pulumi resource is known for the planned field {resource}.{change.field}")
            resource_type, prop, operation, shown_as = mapped
            name = _identity(plan, resource_type, resource)
            if resource_type == SERVICE_TYPE and prop == "capacityProviderStrategies" and not spot_written:
                why = "; ".join(n for n in keys.notes if SPOT_SHARE_KEY in n) or f"{SPOT_SHARE_KEY} was not written"
                deferred.append(
                    Deferred(
                        plan.name,
                        "compute",
                        SERVICE_TYPE,
                        name,
                        prop,
                        change.before,
                        change.after,
                        change.before,
                        f"pulumi up does not change it: {why}",
                    )
                )
                continue
            upstream = "compute" if kinds.get(name) == RUNNING_TASKS_LOW else None
            shown = (
                (shown_as.format(change.before), shown_as.format(change.after))
                if shown_as
                else (
                    show_value(resource, change.field, change.before),
                    show_value(resource, change.field, change.after),
                )
            )
            add(
                plan, resource_type, name, operation, PropertyChange(prop, change.before, change.after, upstream, shown)
            )
            if resource_type == TASK_DEFINITION_TYPE:
                service = _identity(plan, SERVICE_TYPE, resource)
                revision = plan.live.task_definition_arn
                add(
                    plan,
                    SERVICE_TYPE,
                    service,
                    UPDATE,
                    PropertyChange(
                        SERVICE_TASK_DEFINITION,
                        revision,
                        None,
                        shown=(revision.rsplit("/", 1)[-1], "the new revision"),
                    ),
                )
    ordered = sorted(found.values(), key=lambda r: (LAYER_ORDER.index(r.layer), r.type, r.name))
    return ExpectedPreview(ordered, deferred)


def changed_layers(preview: ExpectedPreview) -> Sequence[str]:
    return [layer for layer in LAYER_ORDER if preview.for_layer(layer)]
