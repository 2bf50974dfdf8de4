"""Which config keys to write, and the values, for what a run applied: each lever of the
registry names its own keys (:meth:`~ecs_optimizer.levers.base.Lever.settings`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List

from ..core.errors import BadInput
from ..levers import registry
from ..live.targets import TIERS
from .applied_values import AppliedRun
from .keys import WRITABLE_LAYERS
from .setting import Setting


@dataclass
class KeyPlan:
    """The keys a run's values map onto (registry, compute, observability; then by service),
    and why any value is not among them."""

    settings: List[Setting]
    notes: List[str]

    def for_layer(self, layer: str) -> List[Setting]:
        return [s for s in self.settings if s.layer == layer]


def plan_keys(run: AppliedRun) -> KeyPlan:
    """The config keys that record ``run``, in layer order, then service order (a layer-wide
    key after the services), then lever order."""
    if run.tier not in TIERS:
        raise BadInput(f"tier {run.tier!r} is not one of: {', '.join(TIERS)}")
    notes: List[str] = []
    settings = [s for lever in registry.LEVERS for s in lever.settings(run, notes)]
    settings.sort(key=lambda s: (WRITABLE_LAYERS.index(s.layer), s.service is None, s.service or ""))
    return KeyPlan(settings, notes)
