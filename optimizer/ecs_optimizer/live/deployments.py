"""What a service's deployments take, and how ECS ended one: the deployment configuration read
from a described service (strategy, bake times, deployment alarms), the wait it needs, and
the rollback ECS makes when a deployment alarm fires.

The wait, per service (``--wait-timeout`` overrides it for every service):

* :data:`ROLLOUT_SECONDS` (15 minutes) for the rollout itself: new tasks placed, images
  pulled, health checks passed, old tasks drained;
* plus the bake ECS holds the deployment in before it completes: BLUE_GREEN, LINEAR and
  CANARY wait ``bakeTimeInMinutes`` after the last traffic shift; LINEAR also bakes
  ``stepBakeTimeInMinutes`` after each of its ``ceil(100 / stepPercent)`` shifts and CANARY
  ``canaryBakeTimeInMinutes`` after the canary;
* plus, when deployment alarms are enabled, the time ECS keeps watching them: it derives that
  bake from the alarms' configuration, so the wait allows the longest evaluation window
  (``Period`` x the larger of ``EvaluationPeriods`` and ``DatapointsToAlarm``) among the
  watched alarms the run has read, and :data:`UNREAD_ALARM_BAKE_SECONDS` (10 minutes) for
  watched alarms it has not read.

A deployment rolled back on an alarm: ECS marks the deployment FAILED with a
``rolloutStateReason`` and writes service events that name the alarms, and with ``rollback``
on, makes the last completed deployment PRIMARY again (the failed one drains away and may
already be gone). :func:`alarm_rollback` recognises that from the described service, by the
deployment id the update started and the names of the service's deployment alarms (not by
the wording of the messages).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, Sequence, Tuple

#: Time allowed for the rollout itself (placing, pulling, health checks, draining).
ROLLOUT_SECONDS = 900.0
#: Time allowed for ECS's alarm bake when none of the watched alarms' configuration is known.
UNREAD_ALARM_BAKE_SECONDS = 600.0
#: How many of the service's newest events are searched for the alarms that failed a deployment.
RECENT_EVENTS = 20


@dataclass(frozen=True)
class DeploymentAlarms:
    """``deploymentConfiguration.alarms`` of a service."""

    names: Tuple[str, ...] = ()
    enabled: bool = False
    rollback: bool = False

    @property
    def watching(self) -> Tuple[str, ...]:
        """The alarm names ECS judges deployments by (none when disabled)."""
        return self.names if self.enabled else ()


def _minutes(value: Any) -> float:
    try:
        return max(0.0, float(value)) if value is not None and value != "" else 0.0
    except (TypeError, ValueError):
        return 0.0


def deployment_alarms(service: Mapping[str, Any]) -> DeploymentAlarms:
    alarms = (service.get("deploymentConfiguration") or {}).get("alarms") or {}
    return DeploymentAlarms(
        tuple(str(n) for n in alarms.get("alarmNames") or ()), bool(alarms.get("enable")), bool(alarms.get("rollback"))
    )


def strategy_bake_seconds(service: Mapping[str, Any]) -> float:
    """The bake the deployment strategy adds (0 for ROLLING)."""
    config = service.get("deploymentConfiguration") or {}
    strategy = str(config.get("strategy") or "ROLLING")
    if strategy == "ROLLING":
        return 0.0
    seconds = _minutes(config.get("bakeTimeInMinutes")) * 60
    if strategy == "LINEAR":
        linear = config.get("linearConfiguration") or {}
        step = _minutes(linear.get("stepPercent"))
        steps = math.ceil(100 / step) if step > 0 else 1
        seconds += steps * _minutes(linear.get("stepBakeTimeInMinutes")) * 60
    elif strategy == "CANARY":
        seconds += _minutes((config.get("canaryConfiguration") or {}).get("canaryBakeTimeInMinutes")) * 60
    return seconds


def alarm_bake_seconds(watching: Sequence[str], known: Mapping[str, Mapping[str, Any]]) -> float:
    """The time ECS may keep watching ``watching`` after the rollout (see the module docstring)."""
    if not watching:
        return 0.0
    windows = []
    for name in watching:
        alarm = known.get(name)
        if alarm is None:
            windows.append(UNREAD_ALARM_BAKE_SECONDS)
            continue
        periods = max(int(alarm.get("EvaluationPeriods") or 1), int(alarm.get("DatapointsToAlarm") or 0))
        period = int(alarm.get("Period") or _metrics_period(alarm.get("Metrics") or ()) or 60)
        windows.append(float(period * periods))
    return max(windows)


def _metrics_period(metrics: Iterable[Mapping[str, Any]]) -> int:
    """The longest period of a metric-math alarm's queries."""
    return max((int((m.get("MetricStat") or {}).get("Period") or m.get("Period") or 0) for m in metrics), default=0)


def deployment_wait(service: Mapping[str, Any], known_alarms: Mapping[str, Mapping[str, Any]]) -> Tuple[float, str]:
    """(seconds, how they add up) a deployment of ``service`` may take before it is late."""
    bake = strategy_bake_seconds(service)
    watching = deployment_alarms(service).watching
    alarm_bake = alarm_bake_seconds(watching, known_alarms)
    parts = [f"{ROLLOUT_SECONDS:g}s rollout"]
    if bake:
        strategy = (service.get("deploymentConfiguration") or {}).get("strategy")
        parts.append(f"{bake:g}s {strategy} bake")
    if alarm_bake:
        parts.append(f"{alarm_bake:g}s watching {len(watching)} deployment alarm(s)")
    return ROLLOUT_SECONDS + bake + alarm_bake, " + ".join(parts)


@dataclass(frozen=True)
class AlarmRollback:
    """A deployment ECS failed on alarms (and rolled back, when ``rolled_back``)."""

    deployment_id: str
    alarms: Tuple[str, ...]
    rolled_back: bool
    restored_task_definition: Optional[str]
    reason: str


def _named(alarms: Sequence[str], texts: Iterable[str]) -> Tuple[str, ...]:
    joined = "\n".join(texts)
    return tuple(a for a in alarms if a in joined)


def alarm_rollback(
    service: Mapping[str, Any], task_definition: str, deployment_id: Optional[str]
) -> Optional[AlarmRollback]:
    """How ECS ended the deployment of ``task_definition`` (``deployment_id``, when the update
    returned it) if a deployment alarm failed it; None otherwise (still running, completed,
    or failed for another reason such as the circuit breaker)."""
    watching = deployment_alarms(service).watching
    if not watching:
        return None
    deployments = service.get("deployments") or []
    ours = next(
        (d for d in deployments if deployment_id and d.get("id") == deployment_id),
        None,
    ) or next((d for d in deployments if d.get("taskDefinition") == task_definition), None)
    primary = next((d for d in deployments if d.get("status") == "PRIMARY"), None)
    events = [str(e.get("message", "")) for e in (service.get("events") or [])[:RECENT_EVENTS]]
    ident = (ours or {}).get("id") or deployment_id or ""
    if ours is not None and ours.get("rolloutState") == "FAILED":
        reason = str(ours.get("rolloutStateReason") or "")
        named = _named(watching, [reason] + [e for e in events if not ident or ident in e])
        if not named:
            return None
    elif ours is None and primary is not None and primary.get("taskDefinition") != task_definition:
        # the failed deployment has drained away: the events say why ECS replaced it
        named = _named(watching, [e for e in events if ident and ident in e])
        if not named:
            return None
        reason = next((e for e in events if ident and ident in e), "")
    else:
        return None
    restored = primary.get("taskDefinition") if primary is not None else None
    rolled_back = restored is not None and restored != task_definition
    return AlarmRollback(str(ident), named, rolled_back, str(restored) if rolled_back else None, reason)


def started_deployment(updated_service: Mapping[str, Any], task_definition: str) -> Optional[str]:
    """The id of the deployment an UpdateService started for ``task_definition`` (its answer's
    PRIMARY deployment), when there is one."""
    for d in updated_service.get("deployments") or []:
        if d.get("status") == "PRIMARY" and d.get("taskDefinition") == task_definition:
            return str(d.get("id")) if d.get("id") else None
    return None
