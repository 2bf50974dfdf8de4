"""What a lever sees of the planner, the engine and restore: Protocols, not their classes.

The planner (:class:`~ecs_optimizer.planning.plan.ServicePlan`, ``RunOptions``), the engine
(:class:`~ecs_optimizer.apply.engine.ServiceRun`) and restore
(:class:`~ecs_optimizer.apply.restore.Restorer`) drive the levers through
:mod:`.registry`, so they import the levers; a lever reaches back to them only through the
attributes and calls listed here, which keeps the imports one way (levers never import
``planning.plan``, ``apply`` or the write-back's builders).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Protocol

from ..core.changes import Change, RestoreStep
from ..core.model import ServiceState, Status
from ..live.aws import AwsContext
from ..live.inventory import LiveService

#: What a journalled write changes (field -> (before, after)), and the identifiers a restore needs.
FieldChanges = Dict[str, tuple]
Target = Dict[str, Any]
#: The AWS call a write makes, and how its response gives values only AWS knew.
Call = Callable[[], Any]
AfterOf = Callable[[Any], Dict[str, Any]]


class ServicePlanView(Protocol):
    """One service's planned state (:class:`~ecs_optimizer.planning.plan.ServicePlan`); a
    lever completing the plan may set ``after``, ``status``, ``reason`` and ``alarm_thresholds``."""

    live: LiveService
    before: ServiceState
    after: ServiceState
    status: Status
    reason: str
    alarm_thresholds: Dict[str, float]

    @property
    def name(self) -> str: ...

    def strategy_items(self) -> Optional[List[dict]]: ...


class RunOptionsView(Protocol):
    """The run's options a lever reads (:class:`~ecs_optimizer.planning.plan.RunOptions`)."""

    @property
    def allow_arm64(self) -> bool: ...

    @property
    def wait_timeout(self) -> float: ...

    @property
    def poll_interval(self) -> float: ...


class StopView(Protocol):
    """Whether a signal asked the run to stop (:class:`~ecs_optimizer.apply.stop.StopRequest`)."""

    @property
    def requested(self) -> bool: ...


class ProgressView(Protocol):
    """Where a deployment wait reports its state (:class:`~ecs_optimizer.apply.progress.Progress`)."""

    def reporter(self, service: str) -> Callable[[str], None]: ...


class ServiceRunView(Protocol):
    """One service being applied (:class:`~ecs_optimizer.apply.engine.ServiceRun`): a lever
    writes through :meth:`write` (journalled write-ahead) or :meth:`record` (already as wanted)."""

    ctx: AwsContext
    cluster: str
    run_id: str

    @property
    def plan(self) -> ServicePlanView: ...

    @property
    def opts(self) -> RunOptionsView: ...

    @property
    def stop(self) -> StopView: ...

    @property
    def progress(self) -> ProgressView: ...

    def write(
        self,
        operation: str,
        resource: str,
        fields: FieldChanges,
        target: Target,
        call: Call,
        after_of: Optional[AfterOf] = None,
    ) -> Any: ...

    def record(self, resource: str, fields: FieldChanges, target: Target) -> None: ...

    def check_stop(self) -> None: ...

    def service_target(self) -> Target: ...


class RestorerView(Protocol):
    """Putting resources back (:class:`~ecs_optimizer.apply.restore.Restorer`)."""

    ctx: AwsContext
    wait_timeout: float
    poll_interval: float
    dry_run: bool

    def write(
        self, step: RestoreStep, operation: str, fields: Dict[str, Any], current: Dict[str, Any], write: Call
    ) -> List[Change]: ...

    def guarded(self, operation: str, changes: List[Change], call: Call) -> None: ...
