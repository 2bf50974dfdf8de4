"""The one service update the service-shaped levers share.

Task size (the revision), task count (``desiredCount``) and Spot (the capacity-provider
strategy) all change the ECS service, and ECS rolls a service out once per UpdateService: so
they meet in ONE call and one bounded deployment wait, journalled as one intent on the
``service`` resource. Each lever contributes its field (:attr:`Lever.service_field`), its
request parameters and how its field is put back; this unit makes the call, waits, and
restores the service as a whole.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Dict, List, Sequence, Tuple

from ..core.changes import Change, Resource, RestoreStep
from ..live import resources as res
from .base import Lever, PlannedChange, RestoreFailed

if TYPE_CHECKING:  # pragma: no cover
    from .ports import RestorerView, ServicePlanView, ServiceRunView

log = logging.getLogger(__name__)

#: What the service update calls: every service-shaped lever needs these.
SERVICE_UPDATE_ACTIONS = ("ecs:UpdateService", "ecs:DescribeServices")
#: The UpdateService parameter naming the revision the service runs: the deployment waited for.
TASK_DEFINITION_PARAMETER = "taskDefinition"


class DeploymentFailed(Exception):
    """The service's deployment failed or did not complete within --wait-timeout."""


class ServiceUpdate(Lever):
    """Not a lever of its own: the shared apply and restore step of ``levers`` (those with a
    :attr:`~Lever.service_field`), in their registry order."""

    name = "service update"
    label = "service"
    iam_actions = SERVICE_UPDATE_ACTIONS
    resource = Resource.SERVICE
    target_keys = ("cluster", "serviceName")

    def __init__(self, levers: Sequence[Lever]) -> None:
        self.levers: Tuple[Lever, ...] = tuple(lever for lever in levers if lever.service_field)

    @property
    def steps(self) -> Tuple[str, ...]:
        """The migration order's lines for the service: each lever's own step, the update, the
        wait (none without a service-shaped lever)."""
        if not self.levers:
            return ()
        fields = ", ".join(lever.service_field_label for lever in self.levers)
        return tuple(step for lever in self.levers for step in lever.migration_steps) + (
            f"update the service: {fields}",
            "wait for the deployment to complete (bounded by --wait-timeout); on failure restore the service",
        )

    def changes(self, plan: "ServicePlanView") -> List[PlannedChange]:
        return []  # each contributing lever reports its own fields

    def _request(self, values: Dict[str, Any]) -> Dict[str, Any]:
        request: Dict[str, Any] = {}
        for lever in self.levers:
            if lever.service_field in values:
                request.update(lever.service_request(values[str(lever.service_field)]))
        return request

    def apply(self, run: "ServiceRunView") -> None:
        fields: Dict[str, Tuple[Any, Any]] = {}
        for lever in self.levers:
            value = lever.service_value(run)
            if value is not None:
                fields[str(lever.service_field)] = value
        if not fields:
            return
        run.check_stop()
        live = run.plan.live
        request = self._request({name: after for name, (_, after) in fields.items()})
        run.write(
            "UpdateService",
            self.resource,
            fields,
            run.service_target(),
            lambda: res.update_service(run.ctx, run.cluster, live.target.service_name, request),
        )
        rollout = res.wait_for_deployment(
            run.ctx,
            run.cluster,
            live.target.service_name,
            str(request.get(TASK_DEFINITION_PARAMETER, live.task_definition_arn)),
            run.opts.wait_timeout,
            run.opts.poll_interval,
            stop=lambda: run.stop.requested,
            progress=run.progress.reporter(run.plan.name),
        )
        if not rollout.ok:
            raise DeploymentFailed(f"deployment failed: {rollout.reason}")
        log.info("%s: %s", run.plan.name, rollout.reason)

    def restore(self, restorer: "RestorerView", step: RestoreStep, notes: List[str]) -> List[Change]:
        cluster, name = step.target["cluster"], step.target["serviceName"]
        live = res.describe_service(restorer.ctx, cluster, name)
        current: Dict[str, Any] = {}
        wanted: Dict[str, Any] = {}
        for lever in self.levers:
            field = str(lever.service_field)
            current[field] = lever.normalize(live.get(field))
            if field in step.before:
                put_back, value = lever.service_restore_value(step, current[field], notes)
                if put_back:
                    wanted[field] = lever.normalize(value)
        differ = {k: v for k, v in wanted.items() if current[k] != v}
        if not differ:
            return []
        request = self._request(differ)
        changes = restorer.write(
            step, "UpdateService", differ, current, lambda: res.update_service(restorer.ctx, cluster, name, request)
        )
        if restorer.dry_run:
            return changes
        task_definition = str(request.get(TASK_DEFINITION_PARAMETER, live.get(TASK_DEFINITION_PARAMETER)))
        rollout = res.wait_for_deployment(
            restorer.ctx, cluster, name, task_definition, restorer.wait_timeout, restorer.poll_interval
        )
        if not rollout.ok:
            raise RestoreFailed(f"service {name} restored but its deployment did not settle: {rollout.reason}")
        return changes
