"""Editing a stack file's config in place: comments, key order, quoting and unrelated keys survive."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

from ..live.targets import TIERS
from .keys import SERVICES_KEY, Number
from .setting import Setting, plain_number, property_path
from .stack_file import (
    MISSING,
    StackFile,
    is_number,
    parse_stack_file,
    read_text,
    set_key,
    show_value,
)


@dataclass(frozen=True)
class KeyChange:
    key: str
    before: Any
    after: Any

    def to_dict(self) -> Dict[str, Any]:
        return {"key": self.key, "before": self.before, "after": self.after}


@dataclass
class FileEdit:
    """A stack file's text before and after setting the keys, and what changed."""

    path: Path
    layer: str
    before: str
    after: str
    changes: List[KeyChange]
    notes: List[str]


def _styled(old: Any, value: Union[Number, str, List[str]]) -> Any:
    """``value`` in the style of the scalar it replaces: a quoted string stays quoted, and a
    list written ``[a, b]`` stays a flow list."""
    if isinstance(value, list):
        seq = CommentedSeq(value)
        if isinstance(old, CommentedSeq) and old.fa.flow_style():
            seq.fa.set_flow_style()
        return seq
    if isinstance(old, DoubleQuotedScalarString):
        return DoubleQuotedScalarString(str(value))
    if isinstance(old, SingleQuotedScalarString):
        return SingleQuotedScalarString(str(value))
    if isinstance(old, str):
        return str(value)
    return value


def _same(old: Any, value: Union[Number, str, List[str]]) -> bool:
    if isinstance(value, list):
        return isinstance(old, list) and [str(v) for v in old] == value
    if isinstance(value, str):
        return isinstance(old, str) and old == value
    return is_number(old) and abs(float(old) - float(value)) < 1e-9


def _plain(value: Any) -> Any:
    """A YAML node as plain data, for reports and the journal."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


class Conflict(Exception):
    """The file holds something at a key's path that the value cannot go into."""


def _subtree(path: Sequence[str], value: Any) -> Any:
    """``value`` nested under ``path`` in new block maps (``value`` itself for an empty path)."""
    tree = value
    for key in reversed(path):
        tree = CommentedMap([(key, tree)])
    return tree


def _apply(config: CommentedMap, setting: Setting) -> Optional[KeyChange]:
    """Set one key in ``config``; None when it already holds the value. Missing maps on the
    way are created whole and attached once, so comments that trail the map they join stay
    below them."""
    node: Any = config
    path = setting.path
    for depth, key in enumerate(path[:-1]):
        child = node.get(key, MISSING)
        if child is MISSING or (child is None and (depth == 0 or setting.only_if_unset)):
            subtree = _subtree(path[depth + 1 :], setting.value)
            if child is None:
                node[key] = subtree
            else:
                set_key(node, key, subtree)
            return KeyChange(setting.key, None, setting.value)
        if child is None:
            why = "removed from the catalog with null" if path[0] == SERVICES_KEY and depth == 1 else "null"
            raise Conflict(f"{property_path(path[: depth + 1])} is {why}; not written")
        if not isinstance(child, dict):
            if not (setting.per_tier and depth == len(path) - 2 and is_number(child)):
                raise Conflict(f"{property_path(path[: depth + 1])} holds {show_value(child)}, not a map; not written")
            if _same(child, setting.value):
                return None
            # One number for every tier: keep it for the other tiers, change only the run's.
            expanded = CommentedMap((tier, _styled(child, plain_number(float(child)))) for tier in TIERS)
            expanded[path[-1]] = setting.value
            before = _plain(child)
            node[key] = expanded
            return KeyChange(property_path(path[: depth + 1]), before, _plain(expanded))
        node = child
    leaf = path[-1]
    old = node.get(leaf, MISSING)
    if old is not MISSING and _same(old, setting.value):
        return None
    if old is MISSING:
        set_key(node, leaf, setting.value)
    else:
        node[leaf] = _styled(old, setting.value)
    return KeyChange(setting.key, None if old is MISSING else _plain(old), setting.value)


def _lookup(config: Any, path: Sequence[str]) -> Any:
    """The value at ``path`` in ``config``; MISSING when any step is absent or not a map."""
    node = config
    for key in path:
        if not isinstance(node, dict):
            return MISSING
        node = node.get(key, MISSING)
        if node is MISSING:
            return MISSING
    return node


def config_value(stack_file: StackFile, path: Sequence[str]) -> Any:
    """The value at ``path`` (starting with the qualified key) in the file as it is now, as
    plain data; None when it is absent."""
    doc, _ = parse_stack_file(stack_file.path, read_text(stack_file.path))
    value = _lookup(doc.config, path)
    return None if value is MISSING else _plain(value)


def edit_text(path: Path, text: str, settings: Sequence[Setting]) -> FileEdit:
    """The file's text with ``settings`` applied (pure: nothing is written). A key that cannot
    be set (a service removed from the catalog with null) is skipped with a note."""
    doc, layer = parse_stack_file(path, text)
    changes: List[KeyChange] = []
    notes: List[str] = []
    mine = [s for s in settings if s.layer == layer]
    existing = doc.config
    config = existing if isinstance(existing, CommentedMap) else CommentedMap()
    if not len(config):
        config.fa.set_block_style()  # `config: {}` grows as a block, like the rest of the file
    # Decided on the file as it was: writing `rightsizedFrom.<tier>.cpu` must not make its
    # `.memory` look already set.
    already_set = {s.path[:-1] for s in mine if s.only_if_unset and _lookup(config, s.path[:-1]) not in (MISSING, None)}
    for setting in mine:
        if setting.path[:-1] in already_set:
            continue
        try:
            change = _apply(config, setting)
        except Conflict as exc:
            notes.append(f"{path.name}: {exc}")
            continue
        if change is not None:
            changes.append(change)
    if changes and config is not existing:
        doc.attach_config(config)
    after = doc.render() if changes else text
    return FileEdit(path, layer, text, after, changes, notes)
