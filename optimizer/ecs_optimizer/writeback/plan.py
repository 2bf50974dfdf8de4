"""Which config keys to write, and the values, for what a run applied."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, List, Mapping, Optional, Sequence, Tuple, Union

from ..errors import BadInput
from ..targets import TIERS
from .applied import AppliedRun
from .keys import (
    ARCHITECTURE_FIELD,
    KEEP_IMAGES_KEY,
    PER_TIER_FIELDS,
    RIGHTSIZED_FROM_FIELD,
    SERVICES_KEY,
    SIZES_FIELD,
    SPOT_SHARE_KEY,
    SPOT_SHARE_RANGE,
    TASK_SIZE_KEYS,
    THRESHOLDS_KEY,
    KeyPath,
    Number,
)


@dataclass(frozen=True)
class Setting:
    """One config key to set: ``path`` starts with the fully qualified key (``compute:services``)
    and walks into its value. ``per_tier``: the parent may be one number for every tier."""

    layer: str
    path: KeyPath
    #: a string for the compute catalog's ``architecture`` and ``network:natStrategy``, a list of
    #: strings for ``network:interfaceEndpoints``
    value: Union[Number, str, List[str]]
    service: Optional[str] = None
    per_tier: bool = False
    #: Written only when the file does not set the key's parent yet (``rightsizedFrom.<tier>``:
    #: the first rightsizing's size is kept, never replaced by an already-reduced one).
    only_if_unset: bool = False

    @property
    def key(self) -> str:
        return property_path(self.path)


def property_path(path: Sequence[str]) -> str:
    """The key as ``pulumi config set --path`` reads it: ``a.b.c``, with ``["x.y"]`` for
    segments a dot-separated path cannot carry."""
    out = path[0]
    for part in path[1:]:
        out += f".{part}" if re.fullmatch(r"[A-Za-z0-9_-]+", part) else f'["{part}"]'
    return out


def plain_number(value: Union[Number, Fraction]) -> Number:
    """An int when the value is whole (60.0 -> 60, as the layers' validators want), else a float."""
    as_float = float(value)
    return int(as_float) if as_float.is_integer() else as_float


@dataclass
class KeyPlan:
    """The keys a run's values map onto (registry, compute, observability; then by service),
    and why any value is not among them."""

    settings: List[Setting]
    notes: List[str]

    def for_layer(self, layer: str) -> List[Setting]:
        return [s for s in self.settings if s.layer == layer]


def _layer_wide(
    key: str,
    what: str,
    changed: Mapping[str, Any],
    others: Mapping[str, Any],
    show: Callable[[Any], str],
    notes: List[str],
) -> Optional[Any]:
    """The one value a layer-wide key can take, or None (with a note) when the services the
    run changed disagree. Services outside the change that the key will move are noted."""
    if not changed:
        return None
    distinct = sorted(set(changed.values()))
    if len(distinct) > 1:
        listed = ", ".join(f"{n} {show(v)}" for n, v in sorted(changed.items()))
        notes.append(
            f"{key} not written: the services ended at different {what} ({listed}); the key is one value for the layer"
        )
        return None
    value = distinct[0]
    moved = [f"{n} ({show(v)})" for n, v in sorted(others.items()) if v != value]
    if moved:
        notes.append(f"{key} = {show(value)} is layer-wide: {', '.join(moved)} will move to it on the next pulumi up")
    return value


def _size_settings(
    path: Tuple[str, ...], size: Tuple[int, int], service: str, only_if_unset: bool = False
) -> List[Setting]:
    """The catalog keys of one task size (cpu, memory) at ``path``."""
    return [
        Setting("compute", path + (key,), value, service, only_if_unset=only_if_unset)
        for key, value in zip(TASK_SIZE_KEYS, size)
    ]


def plan_keys(run: AppliedRun) -> KeyPlan:
    """The config keys that record ``run``, in layer order, then service order."""
    tier = run.tier
    if tier not in TIERS:
        raise BadInput(f"tier {tier!r} is not one of: {', '.join(TIERS)}")
    notes: List[str] = []
    compute: List[Setting] = []
    observability: List[Setting] = []
    for name, svc in run.services.items():
        entry = (SERVICES_KEY, name)
        if svc.size is not None:
            compute += _size_settings(entry + (SIZES_FIELD, tier), svc.size, name)
            if svc.rightsized_from is not None:
                compute += _size_settings(entry + (RIGHTSIZED_FROM_FIELD, tier), svc.rightsized_from, name, True)
        if svc.architecture is not None:
            compute.append(Setting("compute", entry + (ARCHITECTURE_FIELD,), svc.architecture, name))
        for fieldname, value in zip(PER_TIER_FIELDS, (svc.desired_count, svc.min_capacity, svc.max_capacity)):
            if value is not None:
                compute.append(Setting("compute", entry + (fieldname, tier), value, name, per_tier=True))
        for kind, threshold in sorted(svc.thresholds.items()):
            observability.append(Setting("observability", (THRESHOLDS_KEY, name, kind), plain_number(threshold), name))

    share_text = lambda v: f"{float(v):g}"  # noqa: E731
    spot_changed = {n: s.spot_share for n, s in run.services.items() if s.spot_share is not None}
    spot_others = {
        n: st.strategy.spot_fraction for n, st in run.final.items() if not st.critical and n not in spot_changed
    }
    share = _layer_wide(SPOT_SHARE_KEY, "Spot shares", spot_changed, spot_others, share_text, notes)
    if share is not None and not SPOT_SHARE_RANGE[0] <= share <= SPOT_SHARE_RANGE[1]:
        notes.append(f"{SPOT_SHARE_KEY} not written: {share_text(share)} is outside the compute layer's range 0.7-1")
        share = None
    if share is not None:
        compute.append(Setting("compute", (SPOT_SHARE_KEY,), plain_number(share)))

    keep_changed = {n: s.keep_images for n, s in run.services.items() if s.keep_images is not None}
    keep_others = {n: st.ecr_keep_images for n, st in run.final.items() if n not in keep_changed}
    keep = _layer_wide(
        KEEP_IMAGES_KEY, "ECR keep counts", keep_changed, keep_others, lambda v: "none" if v is None else str(v), notes
    )
    registry = [Setting("registry", (KEEP_IMAGES_KEY,), keep)] if keep is not None else []
    return KeyPlan(registry + compute + observability, notes)
