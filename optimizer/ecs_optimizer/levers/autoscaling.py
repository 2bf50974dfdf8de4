"""Autoscaling floors: the service's scalable target (min and max capacity)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple

from ..core.changes import Change, Resource, RestoreStep
from ..core.model import ServiceState
from ..live import scalable_targets
from ..writeback.setting import Setting, per_tier
from .base import FieldSpec, Lever, PlannedChange, is_int

if TYPE_CHECKING:  # pragma: no cover
    from ..live.inventory import Inventory, LiveService
    from ..writeback.applied_values import AppliedRun
    from .ports import RestorerView, ServicePlanView, ServiceRunView

#: journal field -> the ServiceState (and AppliedService) attribute it sets
_FIELDS = {"minCapacity": "min_capacity", "maxCapacity": "max_capacity"}


class Autoscaling(Lever):
    name = "autoscaling"
    label = "autoscaling"
    iam_actions = (
        "application-autoscaling:RegisterScalableTarget",
        "application-autoscaling:DescribeScalableTargets",
    )
    resource = Resource.SCALABLE_TARGET
    target_keys = ("resourceId",)
    journal_fields = {
        (Resource.SCALABLE_TARGET, field): FieldSpec("an integer", is_int, attr, int) for field, attr in _FIELDS.items()
    }
    migration_steps = ("set the autoscaling min/max capacity",)

    def hold_back(
        self, before: ServiceState, after: ServiceState, live: "LiveService", inventory: "Inventory"
    ) -> Tuple[ServiceState, Optional[str]]:
        if live.scalable_target is not None or all(getattr(after, a) == getattr(before, a) for a in _FIELDS.values()):
            return after, None
        kept = after.with_changes(**{a: getattr(before, a) for a in _FIELDS.values()})
        return kept, "autoscaling kept: no scalable target registered"

    def changes(self, plan: "ServicePlanView") -> List[PlannedChange]:
        pairs = [(f, getattr(plan.before, a), getattr(plan.after, a)) for f, a in _FIELDS.items()]
        return [PlannedChange(self.resource, f, b, a) for f, b, a in pairs if b != a]

    def apply(self, run: "ServiceRunView") -> None:
        fields = {c.field: (c.before, c.after) for c in self.changes(run.plan)}
        if not fields:
            return
        after = run.plan.after
        resource_id = run.plan.live.target.scalable_target_resource_id
        run.write(
            "RegisterScalableTarget",
            self.resource,
            fields,
            {
                "resourceId": resource_id,
                "serviceNamespace": scalable_targets.ECS_NAMESPACE,
                "scalableDimension": scalable_targets.SCALABLE_DIMENSION,
            },
            lambda: scalable_targets.set_scalable_target(run.ctx, resource_id, after.min_capacity, after.max_capacity),
        )

    def restore(self, restorer: "RestorerView", step: RestoreStep, notes: List[str]) -> List[Change]:
        resource_id = step.target["resourceId"]
        live = scalable_targets.describe_scalable_targets(restorer.ctx, [resource_id]).get(resource_id)
        if live is None:
            raise LookupError(f"scalable target {resource_id} not found")
        current = {"minCapacity": live["MinCapacity"], "maxCapacity": live["MaxCapacity"]}
        wanted = {**current, **{k: v for k, v in step.before.items() if k in current}}
        differ = {k: v for k, v in wanted.items() if current[k] != v}
        if not differ:
            return []
        return restorer.write(
            step,
            "RegisterScalableTarget",
            differ,
            current,
            lambda: scalable_targets.set_scalable_target(
                restorer.ctx, resource_id, wanted["minCapacity"], wanted["maxCapacity"]
            ),
        )

    def applied(
        self, before: ServiceState, after: ServiceState, thresholds: Mapping[str, float], baseline: Tuple[int, int]
    ) -> Dict[str, Any]:
        return {a: getattr(after, a) if getattr(after, a) != getattr(before, a) else None for a in _FIELDS.values()}

    def settings(self, run: "AppliedRun", notes: List[str]) -> List[Setting]:
        return [
            s
            for name, svc in run.services.items()
            for field, attr in _FIELDS.items()
            for s in per_tier(name, field, getattr(svc, attr), run.tier)
        ]
