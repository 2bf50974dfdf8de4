"""Alarm thresholds: the service's CPU and memory alarms retuned to the new task size (every
other field of each alarm kept). One journal resource per alarm: ``alarm:<name>``, with the
alarm's kind in its target, so a journal reader knows which config key it is."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..core.changes import ALARM_PREFIX, Change, RestoreStep, alarm_resource
from ..core.model import ServiceState
from ..live import metric_alarms
from ..live.targets import ALARM_PATTERNS
from ..planning.alarm_thresholds import alarm_threshold
from ..writeback.keys import THRESHOLD_KINDS, THRESHOLDS_KEY
from ..writeback.setting import Setting, plain_number
from .base import FieldSpec, Lever, PlannedChange, is_number

if TYPE_CHECKING:  # pragma: no cover
    from ..writeback.applied_values import AppliedRun
    from .ports import RestorerView, ServicePlanView, ServiceRunView


def alarm_kind(step_target: Mapping[str, Any], alarm_name: str) -> Optional[str]:
    """The kind of a journalled alarm: recorded in its target, else read from the naming
    pattern of the observability layer (journals written before the kind was recorded)."""
    kind = step_target.get("kind")
    if isinstance(kind, str):
        return kind
    for candidate, pattern in ALARM_PATTERNS.items():
        if alarm_name.startswith(pattern.split("{service}", 1)[0]):
            return candidate
    return None


class AlarmThresholds(Lever):
    name = "alarm thresholds"
    label = "alarm threshold"
    iam_actions = ("cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm")
    resource = ALARM_PREFIX
    target_keys = ("alarmName",)
    journal_fields = {(ALARM_PREFIX, "threshold"): FieldSpec("a number", is_number)}
    migration_steps = ("retune the alarm thresholds (every other alarm field kept)",)

    def owns(self, resource: str) -> bool:
        return resource.startswith(ALARM_PREFIX) and len(resource) > len(ALARM_PREFIX)

    def complete(self, plan: "ServicePlanView") -> None:
        """The thresholds the new size needs (:func:`~ecs_optimizer.planning.alarm_thresholds.alarm_threshold`),
        for the alarms whose threshold changes."""
        live = plan.live
        changed: Dict[str, float] = {}
        for kind, alarm in sorted(live.alarms.items()):
            if alarm.get("Threshold") is None:
                continue  # anomaly-detection alarms have a band, not a threshold
            old = float(alarm["Threshold"])
            new = alarm_threshold(kind, old, plan.before, plan.after, live.autoscaling_targets.get(kind))
            if not metric_alarms.same_number(old, new):
                changed[kind] = new
        plan.alarm_thresholds = changed

    def changes(self, plan: "ServicePlanView") -> List[PlannedChange]:
        out = []
        for kind, new in plan.alarm_thresholds.items():
            alarm = plan.live.alarms[kind]
            out.append(PlannedChange(alarm_resource(alarm["AlarmName"]), "threshold", alarm["Threshold"], new))
        return out

    def apply(self, run: "ServiceRunView") -> None:
        for kind, threshold in run.plan.alarm_thresholds.items():
            run.check_stop()
            alarm = run.plan.live.alarms[kind]
            name = alarm["AlarmName"]
            run.write(
                "PutMetricAlarm",
                alarm_resource(name),
                {"threshold": (alarm["Threshold"], threshold)},
                {"alarmName": name, "kind": kind},
                functools.partial(metric_alarms.set_alarm_threshold, run.ctx, alarm, threshold),
            )

    def restore(self, restorer: "RestorerView", step: RestoreStep, notes: List[str]) -> List[Change]:
        name = step.target["alarmName"]
        alarm = metric_alarms.describe_alarms(restorer.ctx, [name]).get(name)
        if alarm is None:
            raise LookupError(f"alarm {name} not found")
        wanted = step.before.get("threshold")
        if wanted is None or metric_alarms.same_number(alarm.get("Threshold"), wanted):
            return []
        return restorer.write(
            step,
            "PutMetricAlarm",
            {"threshold": float(wanted)},
            {"threshold": alarm.get("Threshold")},
            lambda: metric_alarms.set_alarm_threshold(restorer.ctx, alarm, float(wanted)),
        )

    def applied(
        self, before: ServiceState, after: ServiceState, thresholds: Mapping[str, float], baseline: Tuple[int, int]
    ) -> Dict[str, Any]:
        return {"thresholds": {k: float(v) for k, v in thresholds.items() if k in THRESHOLD_KINDS}}

    def journal_thresholds(self, steps: Sequence[RestoreStep]) -> Dict[str, Dict[str, float]]:
        thresholds: Dict[str, Dict[str, float]] = {}
        for step in steps:
            if not self.owns(step.resource):
                continue
            old, new = step.before.get("threshold"), step.after.get("threshold")
            kind = alarm_kind(step.target, step.resource[len(ALARM_PREFIX) :])
            if kind in THRESHOLD_KINDS and new is not None and not metric_alarms.same_number(old, new):
                thresholds.setdefault(step.service, {})[str(kind)] = float(new)
        return thresholds

    def settings(self, run: "AppliedRun", notes: List[str]) -> List[Setting]:
        return [
            Setting("observability", (THRESHOLDS_KEY, name, kind), plain_number(threshold), name)
            for name, svc in run.services.items()
            for kind, threshold in sorted(svc.thresholds.items())
        ]
