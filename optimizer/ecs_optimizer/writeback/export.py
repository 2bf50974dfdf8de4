"""``export-config``: the same keys as ``pulumi config set --path`` commands."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import List

from .plan import KeyPlan
from .setting import Setting


def _value_args(setting: Setting) -> List[str]:
    """The value argument, with ``--type float`` where a nested non-integer would otherwise be
    stored as a string (with ``--path`` only integers and booleans keep their type)."""
    text = str(setting.value)
    if isinstance(setting.value, float) and len(setting.path) > 1:
        return ["--type", "float", text]
    return [text]


def _single_quoted(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def export_command(setting: Setting, stack: str, stacks_dir: str = "stacks") -> str:
    """The ``pulumi config set --path`` command for one key, naming its stack and its project
    directory (``--cwd <stacks_dir>/<layer>``), so it needs no ``cd``."""
    value = " ".join(shlex.quote(a) for a in _value_args(setting))
    cwd = shlex.quote(str(Path(stacks_dir) / setting.layer))
    return f"pulumi config set --path {_single_quoted(setting.key)} {value} --stack {shlex.quote(stack)} --cwd {cwd}"


#: The note an export with per-tier keys carries.
PER_TIER_NOTE = (
    "counts are set for one tier (<field>.<tier>); where a count holds one number for both tiers, "
    "replace it with a {dev, prod} map first"
)


def export_lines(plan: KeyPlan, stack: str, stacks_dir: str = "stacks") -> List[str]:
    """One command per key (layers in dependency order), after the notes as ``#`` comments,
    so the output can be piped to a shell as it is."""
    lines = [f"# {note}" for note in plan.notes]
    if any(s.per_tier for s in plan.settings):
        lines.append(f"# {PER_TIER_NOTE}")
    return lines + [export_command(s, stack, stacks_dir) for s in plan.settings]
