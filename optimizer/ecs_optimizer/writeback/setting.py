"""One config key to write (:class:`Setting`), and the helpers the levers build theirs with."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, List, Mapping, Optional, Sequence, Union

from .keys import PER_TIER_FIELDS, SERVICES_KEY, KeyPath, Number


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


def layer_wide(
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


def per_tier(name: str, field: str, value: Optional[Number], tier: str) -> List[Setting]:
    """``compute:services.<name>.<field>.<tier>`` for a catalog field that takes one number
    for every tier or a map of tiers (none when ``value`` is None)."""
    if field not in PER_TIER_FIELDS:
        raise ValueError(f"{field} is not a per-tier catalog field ({', '.join(PER_TIER_FIELDS)})")
    if value is None:
        return []
    return [Setting("compute", (SERVICES_KEY, name, field, tier), value, name, per_tier=True)]
