"""Put resources back to what a journal says they were: ``rollback`` and the engine's own
per-service rollback after a failed deployment share this code.

Each step compares the live value with the value to restore and only writes what differs,
so restoring twice changes nothing the second time, and a write the journal holds only as
an intent (maybe applied) is restored exactly when it was applied. Revisions the run
registered are deregistered once the service no longer runs them (task definitions cannot be
changed back, only retired): the ones the journal names and every ACTIVE one carrying the
run's tag, which covers a registration whose response never arrived. Every restoring write
is journalled write-ahead like the run's own writes. The ``rollback`` command
(:mod:`rollback`) also puts back the stack files the run's ``--write-config`` edited (see
:func:`writeback.files.restore_files`), before the AWS resources, as they were written after them.
"""

from __future__ import annotations

import functools
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from . import metric_alarms, scalable_targets
from . import resources as res
from .aws import AwsContext
from .journal import ALARM_PREFIX, Change, Journal, Resource, RestoreStep, restore_plan
from .render import truncate

log = logging.getLogger(__name__)


@dataclass
class RestoreOutcome:
    step: RestoreStep
    changes: List[Change] = field(default_factory=list)
    error: Optional[str] = None
    #: What was deliberately left as it is, and why (for the report).
    notes: List[str] = field(default_factory=list)


class RestoreFailed(Exception):
    """A restore step could not complete; the message says which resource and why."""


@dataclass
class Restorer:
    """Applies restore steps. ``journal`` records each restoring write, intent first (the
    engine passes the run's journal, ``rollback`` appends to the one it restores, so a later
    ``rollback`` of the same journal sees the whole history)."""

    ctx: AwsContext
    wait_timeout: float
    poll_interval: float
    journal: Optional[Journal] = None
    #: Work out and report what would be restored, writing nothing.
    dry_run: bool = False

    def restore(self, steps: List[RestoreStep]) -> List[RestoreOutcome]:
        outcomes = []
        for step in steps:
            outcome = RestoreOutcome(step)
            try:
                if step.resource == Resource.SERVICE:
                    outcome.changes = self._service(step, outcome.notes)
                else:
                    outcome.changes = self._handler(step.resource)(step)
            except Exception as exc:  # noqa: BLE001 - one stuck resource must not stop the others
                outcome.error = f"{step.resource}: {exc}"
                log.error("%s: restoring %s failed: %s", step.service, step.resource, exc)
            outcomes.append(outcome)
        return outcomes

    def _handler(self, resource: str) -> Callable[[RestoreStep], List[Change]]:
        if resource.startswith(ALARM_PREFIX):
            return self._alarm
        return {
            Resource.SERVICE: self._service,
            Resource.TASK_DEFINITION: self._task_definition,
            Resource.SCALABLE_TARGET: self._scalable_target,
            Resource.ECR_LIFECYCLE_POLICY: self._lifecycle_policy,
        }[Resource(resource)]

    def _write(
        self,
        step: RestoreStep,
        operation: str,
        fields: Dict[str, Any],
        current: Dict[str, Any],
        write: Callable[[], Any],
    ) -> List[Change]:
        """Run ``write`` (unless dry-run), journalled write-ahead, and log each restored field."""
        changes = [
            Change(step.service, step.resource, name, current[name], value, step.target)
            for name, value in fields.items()
        ]
        if self.dry_run:
            return changes
        if self.journal is not None:
            self.journal.guarded(operation, changes, write)
        else:
            write()
        for change in changes:
            log.info(
                "%s: %s.%s %s -> %s (restored)",
                change.service,
                change.resource,
                change.field,
                _short(change.before),
                _short(change.after),
            )
        return changes

    def _service(self, step: RestoreStep, notes: Optional[List[str]] = None) -> List[Change]:
        cluster, name = step.target["cluster"], step.target["serviceName"]
        live = res.describe_service(self.ctx, cluster, name)
        current = {
            "taskDefinition": live.get("taskDefinition"),
            "desiredCount": live.get("desiredCount"),
            "capacityProviderStrategy": res.normalize_strategy(live.get("capacityProviderStrategy")),
        }
        wanted = dict(step.before)
        live_count, set_count = current["desiredCount"], step.after.get("desiredCount")
        if (
            "desiredCount" in wanted
            and "desiredCount" in step.after
            and live_count not in (set_count, wanted["desiredCount"])
        ):
            # Autoscaling changed the count since the run set it: it owns the count now, and
            # putting the old one back would undo a scale-out (or -in) it made for the load.
            del wanted["desiredCount"]
            if notes is not None:
                notes.append(
                    f"desired count {live_count} kept: autoscaling changed it after the run set {set_count} "
                    f"(the run's before was {step.before['desiredCount']})"
                )
        if "capacityProviderStrategy" in wanted:
            wanted["capacityProviderStrategy"] = res.normalize_strategy(wanted["capacityProviderStrategy"])
        differ = {k: v for k, v in wanted.items() if k in current and current[k] != v}
        if not differ:
            return []
        changes = self._write(
            step,
            "UpdateService",
            differ,
            current,
            lambda: res.update_service(
                self.ctx,
                cluster,
                name,
                task_definition=differ.get("taskDefinition"),
                desired_count=differ.get("desiredCount"),
                strategy=differ.get("capacityProviderStrategy"),
                change_strategy="capacityProviderStrategy" in differ,
            ),
        )
        if self.dry_run:
            return changes
        task_definition = str(differ.get("taskDefinition", current["taskDefinition"]))
        rollout = res.wait_for_deployment(
            self.ctx, cluster, name, task_definition, self.wait_timeout, self.poll_interval
        )
        if not rollout.ok:
            raise RestoreFailed(f"service {name} restored but its deployment did not settle: {rollout.reason}")
        return changes

    def _task_definition(self, step: RestoreStep) -> List[Change]:
        """Retire the revisions the run registered: those the journal names and every ACTIVE
        one tagged with the run's id (one whose registration response was lost)."""
        if "revision" not in step.before:
            return []
        if self.dry_run:
            in_use = step.before["revision"]  # what the service step will have restored
        else:
            in_use = res.describe_service(self.ctx, step.target["cluster"], step.target["serviceName"]).get(
                "taskDefinition"
            )
        named = [c.after for c in step.changes if c.field == "revision" and c.after]
        run_id = step.target.get("runId")
        tagged = [
            r.arn for r in res.optimizer_revisions(self.ctx, step.before["revision"]) if run_id and r.run_id == run_id
        ]
        retired = []
        for arn in dict.fromkeys(named + tagged):
            if arn == in_use or not res.is_active(self.ctx, arn):
                continue
            change = Change(step.service, step.resource, "retired", arn, "INACTIVE", step.target)
            if not self.dry_run:
                if self.journal is not None:
                    self.journal.guarded(
                        "DeregisterTaskDefinition", [change], functools.partial(res.deregister, self.ctx, arn)
                    )
                else:
                    res.deregister(self.ctx, arn)
                log.info("%s: deregistered %s", step.service, arn)
            retired.append(change)
        return retired

    def _scalable_target(self, step: RestoreStep) -> List[Change]:
        resource_id = step.target["resourceId"]
        live = scalable_targets.describe_scalable_targets(self.ctx, [resource_id]).get(resource_id)
        if live is None:
            raise LookupError(f"scalable target {resource_id} not found")
        current = {"minCapacity": live["MinCapacity"], "maxCapacity": live["MaxCapacity"]}
        wanted = {**current, **{k: v for k, v in step.before.items() if k in current}}
        if wanted == current:
            return []
        differ = {k: v for k, v in wanted.items() if current[k] != v}
        return self._write(
            step,
            "RegisterScalableTarget",
            differ,
            current,
            lambda: scalable_targets.set_scalable_target(
                self.ctx, resource_id, wanted["minCapacity"], wanted["maxCapacity"]
            ),
        )

    def _lifecycle_policy(self, step: RestoreStep) -> List[Change]:
        if "lifecyclePolicyText" not in step.before:
            return []
        repository = step.target["repositoryName"]
        current_text = res.read_lifecycle_policy(self.ctx, repository)
        wanted_text = step.before["lifecyclePolicyText"]
        if _same_json(current_text, wanted_text):
            return []
        current = {"lifecyclePolicyText": current_text, "keepImages": res.keep_count(current_text)[0]}
        wanted = {"keepImages": res.keep_count(wanted_text)[0], "lifecyclePolicyText": wanted_text}
        operation = "DeleteLifecyclePolicy" if wanted_text is None else "PutLifecyclePolicy"
        return self._write(
            step, operation, wanted, current, lambda: res.write_lifecycle_policy(self.ctx, repository, wanted_text)
        )

    def _alarm(self, step: RestoreStep) -> List[Change]:
        name = step.target["alarmName"]
        alarm = metric_alarms.describe_alarms(self.ctx, [name]).get(name)
        if alarm is None:
            raise LookupError(f"alarm {name} not found")
        wanted = step.before.get("threshold")
        if wanted is None or metric_alarms.same_number(alarm.get("Threshold"), wanted):
            return []
        return self._write(
            step,
            "PutMetricAlarm",
            {"threshold": float(wanted)},
            {"threshold": alarm.get("Threshold")},
            lambda: metric_alarms.set_alarm_threshold(self.ctx, alarm, float(wanted)),
        )


def _same_json(a: Optional[str], b: Optional[str]) -> bool:
    if a is None or b is None:
        return a is b
    try:
        return json.loads(a) == json.loads(b)
    except ValueError:
        return a == b


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return truncate(text, 80)


def restore_changes(
    ctx: AwsContext,
    changes: List[Change],
    wait_timeout: float,
    poll_interval: float,
    concurrency: int = 1,
    journal: Optional[Journal] = None,
    dry_run: bool = False,
) -> List[RestoreOutcome]:
    """Restore every resource ``changes`` touched; services in parallel, each in reverse order."""
    steps = restore_plan(changes)
    per_service: Dict[str, List[RestoreStep]] = {}
    for step in steps:
        per_service.setdefault(step.service, []).append(step)
    restorer = Restorer(ctx, wait_timeout, poll_interval, journal, dry_run)
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        results = list(pool.map(restorer.restore, per_service.values()))
    return [outcome for outcomes in results for outcome in outcomes]
