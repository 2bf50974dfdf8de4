"""The levers, in migration order: what the engine applies, restore dispatches to, the
write-back asks for config keys and the report labels. Consumers read :data:`LEVERS` when
they run (``registry.LEVERS``), so adding a lever is one module here plus its test."""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

from ..core.changes import RestoreStep
from ..core.model import ServiceState
from .alarms import AlarmThresholds
from .autoscaling import Autoscaling
from .base import FieldSpec, Lever, PlannedChange, SavingsStep
from .ecr_retention import EcrRetention
from .options import LeverOption
from .service_update import ServiceUpdate
from .spot import Spot
from .task_count import TaskCount
from .task_size import TaskSize

if TYPE_CHECKING:  # pragma: no cover
    from .ports import ServicePlanView

#: Every lever, in the order a service's changes are made and listed.
LEVERS: Tuple[Lever, ...] = (TaskSize(), TaskCount(), Spot(), Autoscaling(), EcrRetention(), AlarmThresholds())


def apply_units() -> Tuple[Lever, ...]:
    """What the engine applies per service, in order: the one service update the
    service-shaped levers share, then every lever's own step."""
    return (ServiceUpdate(LEVERS),) + LEVERS


def service_levers() -> Tuple[Lever, ...]:
    """The levers that contribute a field to the one service update, in registry order."""
    return ServiceUpdate(LEVERS).levers


def migration_order() -> Tuple[str, ...]:
    """The migration order printed with a plan, from the levers' own steps (a service-shaped
    lever's step is part of the service update's)."""
    own = [step for lever in LEVERS if not lever.service_field for step in lever.migration_steps]
    return ServiceUpdate(LEVERS).steps + tuple(own)


def planned_changes(plan: "ServicePlanView") -> List[PlannedChange]:
    """Every field ``plan`` changes, lever by lever (migration order)."""
    return [change for lever in LEVERS for change in lever.changes(plan)]


def owner(resource: str) -> Optional[Lever]:
    """The unit that writes and restores ``resource`` (None: no lever's, a config file)."""
    return next((unit for unit in apply_units() if unit.owns(resource)), None)


def restorer_for(resource: str) -> Lever:
    """The unit that restores a journalled change of ``resource``."""
    unit = owner(resource)
    if unit is None:
        raise LookupError(f"no lever restores {resource!r}")
    return unit


def _journalling(resource: str, field: str) -> Optional[Tuple[Lever, FieldSpec]]:
    """The lever that journals ``resource.field``, with what the field holds."""
    for lever in LEVERS:
        kind = lever.resource if lever.owns(resource) else resource
        spec = lever.journal_fields.get((str(kind), field))
        if spec is not None:
            return lever, spec
    return None


def shown(resource: str, field: str, value: object) -> Optional[str]:
    """How the lever that journals ``resource.field`` shows ``value`` (None: no lever's way)."""
    found = _journalling(resource, field)
    return found[0].shown(field, value) if found else None


def field_spec(resource: str, field: str) -> Optional[FieldSpec]:
    """What a journalled ``resource.field`` holds (None: no lever journals it)."""
    found = _journalling(resource, field)
    return found[1] if found else None


def label_of(resource: str, field: str) -> str:
    """The report's lever label for a change of ``resource.field`` (``-``: no lever's)."""
    found = _journalling(resource, field)
    return found[0].label if found else "-"


def target_keys(resource: str) -> Tuple[str, ...]:
    """The identifiers a restore of ``resource`` needs in a journalled change's target."""
    unit = owner(resource)
    return unit.target_keys if unit is not None else ()


def apply_fields(state: ServiceState, resource: str, values: Dict[str, object]) -> ServiceState:
    """``state`` with the journalled ``values`` of ``resource`` that a lever prices."""
    updates = {}
    for name, value in values.items():
        spec = field_spec(resource, name)
        if spec is not None and spec.state is not None:
            updates[spec.state] = spec.convert(value)
    return state.with_changes(**updates) if updates else state


def savings_steps() -> Tuple[SavingsStep, ...]:
    """The savings categories, in the order the levers are priced one after another."""
    return tuple(step for lever in LEVERS for step in lever.savings_steps)


def options() -> Tuple[LeverOption, ...]:
    """Every lever's declared options, in lever order (the CLI's planning options)."""
    return tuple(option for lever in LEVERS for option in lever.options)


def iam_actions() -> Dict[str, Tuple[str, ...]]:
    """Each unit's declared IAM actions, by its name."""
    return {unit.name: unit.iam_actions for unit in apply_units()}


def journal_thresholds(steps: Sequence[RestoreStep]) -> Dict[str, Dict[str, float]]:
    """What the journal's ``steps`` say the levers applied beyond the services' states."""
    merged: Dict[str, Dict[str, float]] = {}
    for lever in LEVERS:
        for service, values in lever.journal_thresholds(steps).items():
            merged.setdefault(service, {}).update(values)
    return merged
