"""What a lever is: one class declares everything the optimizer does with one kind of change.

A lever says how it appears in a plan (:meth:`Lever.changes`), how it is applied
(:meth:`Lever.apply`, or a field of the one service update: :attr:`Lever.service_field`), what
it journals (:attr:`Lever.resource` and :attr:`Lever.journal_fields`), how it is restored
(:meth:`Lever.restore`), which config keys record it (:meth:`Lever.applied` and
:meth:`Lever.settings`), the IAM actions it needs and the label the report shows.
:mod:`.registry` holds the levers in migration order; the engine, restore, the write-back and
the report iterate it instead of switching on resource names.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Dict, List, Mapping, Optional, Sequence, Tuple

from ..core.changes import Change, RestoreStep
from ..core.model import ServiceState
from .options import LeverOption

if TYPE_CHECKING:  # pragma: no cover
    from ..live.aws import AwsContext
    from ..live.inventory import Inventory, LiveService
    from ..writeback.applied_values import AppliedRun
    from ..writeback.setting import Setting
    from .ports import RestorerView, RunOptionsView, ServicePlanView, ServiceRunView


@dataclass(frozen=True)
class PlannedChange:
    """One field a plan changes, as the report and the journal name it."""

    resource: str  # a Resource, or alarm_resource(name)
    field: str
    before: Any
    after: Any

    def to_dict(self) -> Dict[str, Any]:
        return {"resource": self.resource, "field": self.field, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class SavingsStep:
    """One category of the savings breakdown: the lever's :class:`ServiceState` ``fields``
    set to their after values on top of the levers before it (see :mod:`savings`)."""

    category: str  # the JSON name (the savings report schema lists them)
    label: str  # the HTML report's name for it
    fields: Tuple[str, ...]


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class FieldSpec:
    """A journalled field of a lever's resource: what its value must be when a journal is read
    back (``what``, ``check``), and which :class:`~ecs_optimizer.core.model.ServiceState` attribute
    it sets when the journal is priced (``state``, converted by ``convert``; none: not priced)."""

    what: str
    check: Callable[[Any], bool]
    state: Optional[str] = None
    convert: Callable[[Any], Any] = _same
    #: A stricter check for ``before`` where it differs (a revision's ``before`` is always an
    #: ARN; its ``after`` is null until the registration answered).
    before_check: Optional[Callable[[Any], bool]] = None


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def optional_int(value: Any) -> Optional[int]:
    return None if value is None else int(value)


class RestoreFailed(Exception):
    """A restore step could not complete; the message says which resource and why."""


class Lever(ABC):
    """One kind of change the optimizer makes to a service. Subclasses set the class
    attributes and implement :meth:`changes`; the other hooks default to "not this lever's"."""

    #: The lever's name in the product's vocabulary (``task size``, ``Spot``...).
    name: ClassVar[str]
    #: How the report's lever column labels its changes.
    label: ClassVar[str]
    #: The IAM actions its apply and restore steps call (reads included); each is in
    #: iam_actions.json, and together the levers' actions cover every write a run makes.
    iam_actions: ClassVar[Tuple[str, ...]]
    #: The journal kind of the resource the lever writes on its own (a
    #: :class:`~ecs_optimizer.core.changes.Resource`, or the alarm prefix), restored by
    #: :meth:`restore`; ``None`` when the lever only contributes a field to the service update.
    resource: ClassVar[Optional[str]] = None
    #: The identifiers a restore of :attr:`resource` needs in a journalled change's target.
    target_keys: ClassVar[Tuple[str, ...]] = ()
    #: ``(resource, field) -> FieldSpec`` for every field the lever journals.
    journal_fields: ClassVar[Mapping[Tuple[str, str], FieldSpec]] = {}
    #: The ``UpdateService`` field the lever contributes to the service's one update (and one
    #: deployment wait), with how the migration order names it; ``None``: no such field.
    service_field: ClassVar[Optional[str]] = None
    service_field_label: ClassVar[str] = ""
    #: The savings categories the lever's changes are priced in, in order (none: no cost effect).
    savings_steps: ClassVar[Tuple[SavingsStep, ...]] = ()
    #: The lines of the migration order this lever's own apply step adds (printed with a plan).
    migration_steps: ClassVar[Tuple[str, ...]] = ()
    #: The settings of the lever's decision (default, range, help); the CLI's planning options
    #: are generated from them (``cli/lever_options.py``).
    options: ClassVar[Tuple[LeverOption, ...]] = ()

    def owns(self, resource: str) -> bool:
        """Whether a journalled change of ``resource`` is this lever's to restore."""
        return self.resource is not None and resource == self.resource

    def hold_back(
        self, before: ServiceState, after: ServiceState, live: "LiveService", inventory: "Inventory"
    ) -> Tuple[ServiceState, Optional[str]]:
        """``after`` with this lever's part put back to ``before`` where the live resources
        cannot take it, and why (None: nothing held back)."""
        return after, None

    def complete(self, plan: "ServicePlanView") -> None:
        """Add to ``plan`` what this lever decides from the rest of it, once the levers have
        held back what the live resources cannot take (no AWS call)."""
        return None

    def complete_fleet(self, ctx: "AwsContext", plans: Mapping[str, "ServicePlanView"], opts: "RunOptionsView") -> None:
        """Change the fleet's plans where this lever needs a read shared by every service
        (after every service is planned and completed)."""
        return None

    @abstractmethod
    def changes(self, plan: "ServicePlanView") -> List[PlannedChange]:
        """The plan's diff for this lever: every field it changes, in migration order."""

    def apply(self, run: "ServiceRunView") -> None:
        """Make the lever's own writes for ``run``'s service (through ``run.write``, journalled
        write-ahead). A lever that only contributes a service field applies nothing here."""
        return None

    def service_value(self, run: "ServiceRunView") -> Optional[Tuple[Any, Any]]:
        """``(live, wanted)`` for :attr:`service_field`, or ``None`` when it does not change.
        Called just before the service update; it may write first (the task-size lever
        registers the revision the update points the service at)."""
        return None

    def service_request(self, value: Any) -> Dict[str, Any]:
        """The UpdateService parameters that set :attr:`service_field` to ``value``."""
        return {str(self.service_field): value}

    def normalize(self, value: Any) -> Any:
        """:attr:`service_field`'s value in the form live and journalled values compare in."""
        return value

    def service_restore_value(self, step: RestoreStep, live: Any, notes: List[str]) -> Tuple[bool, Any]:
        """Whether to put :attr:`service_field` back, and the value to compare with ``live``
        (normalized). By default the journal's earliest ``before`` is put back."""
        return True, step.before[str(self.service_field)]

    def restore(self, restorer: "RestorerView", step: RestoreStep, notes: List[str]) -> List[Change]:
        """Put :attr:`resource` back to ``step.before`` where the live value differs."""
        raise NotImplementedError(f"{self.name} writes no resource of its own")

    def realised(self, step: RestoreStep, steps: Sequence[RestoreStep]) -> bool:
        """Whether ``step`` (this lever's resource, from a journal) took effect, so a priced
        journal counts its values; ``steps``: the journal's other steps."""
        return True

    def shown(self, field: str, value: Any) -> Optional[str]:
        """How the report shows a value of ``field`` (None: the report's plain rendering)."""
        return None

    def applied(
        self, before: ServiceState, after: ServiceState, thresholds: Mapping[str, float], baseline: Tuple[int, int]
    ) -> Dict[str, Any]:
        """What the lever changed, as :class:`~ecs_optimizer.writeback.applied.AppliedService`
        fields (a value of ``None``: unchanged)."""
        return {}

    def journal_thresholds(self, steps: Sequence[RestoreStep]) -> Dict[str, Dict[str, float]]:
        """What a journal says the lever applied beyond the service's state (its
        :data:`journal_fields` with a ``state``): alarm kind -> threshold, per service."""
        return {}

    def settings(self, run: "AppliedRun", notes: List[str]) -> List["Setting"]:
        """The config keys that record what ``run`` applied for this lever (with a note for a
        value that cannot be written)."""
        return []
