"""Task count: the service's ``desiredCount``, one field of the service update.

Restoring leaves a count that autoscaling changed after the run set it: autoscaling owns the
count then, and putting the old one back would undo a scale-out (or -in) it made for the load.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple

from ..core.changes import Resource, RestoreStep
from ..core.model import ServiceState
from ..writeback.setting import Setting, per_tier
from .base import FieldSpec, Lever, PlannedChange, SavingsStep, is_int
from .service_update import SERVICE_UPDATE_ACTIONS

if TYPE_CHECKING:  # pragma: no cover
    from ..writeback.applied_values import AppliedRun
    from .ports import ServicePlanView, ServiceRunView


class TaskCount(Lever):
    name = "task count"
    label = "task count"
    iam_actions = SERVICE_UPDATE_ACTIONS
    savings_steps = (SavingsStep("taskCount", "Task count", ("desired_count",)),)
    service_field = "desiredCount"
    service_field_label = "desired count"
    journal_fields = {(Resource.SERVICE, "desiredCount"): FieldSpec("an integer", is_int, "desired_count", int)}

    def changes(self, plan: "ServicePlanView") -> List[PlannedChange]:
        b, a = plan.before.desired_count, plan.after.desired_count
        return [PlannedChange(Resource.SERVICE, str(self.service_field), b, a)] if b != a else []

    def service_value(self, run: "ServiceRunView") -> Optional[Tuple[Any, Any]]:
        b, a = run.plan.before.desired_count, run.plan.after.desired_count
        return (b, a) if b != a else None

    def service_restore_value(self, step: RestoreStep, live: Any, notes: List[str]) -> Tuple[bool, Any]:
        field = str(self.service_field)
        before, set_count = step.before[field], step.after.get(field)
        if field in step.after and live not in (set_count, before):
            notes.append(
                f"desired count {live} kept: autoscaling changed it after the run set {set_count} "
                f"(the run's before was {before})"
            )
            return False, None
        return True, before

    def applied(
        self, before: ServiceState, after: ServiceState, thresholds: Mapping[str, float], baseline: Tuple[int, int]
    ) -> Dict[str, Any]:
        return {"desired_count": after.desired_count if after.desired_count != before.desired_count else None}

    def settings(self, run: "AppliedRun", notes: List[str]) -> List[Setting]:
        field = str(self.service_field)
        return [s for name, svc in run.services.items() for s in per_tier(name, field, svc.desired_count, run.tier)]
