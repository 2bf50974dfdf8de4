"""The IAM actions the optimizer needs, declared once in ``iam_actions.json``.

The compute stack reads that file to grant the optimizer's role exactly these actions, and
a test runs optimize, rollback and savings through the call recorder to prove the file is
complete and has nothing unused. Each lever declares the actions its apply and restore steps
call (:attr:`levers.base.Lever.iam_actions`): :func:`undeclared_lever_actions` checks they are
in the file, and :func:`writes_outside_levers` which recorded writes no lever declares. Some actions are checked by IAM without being an API call
of their own; :data:`IMPLIED` lists them beside the call that needs them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Dict, Iterable, Set, Tuple

from ..levers import registry
from ..live.aws import is_mutating

#: Authorization-only actions IAM evaluates as part of another call.
IMPLIED: Dict[str, Tuple[str, ...]] = {
    # tags copied onto the new revision, and its task/execution roles handed to ECS
    "ecs:RegisterTaskDefinition": ("ecs:TagResource", "iam:PassRole"),
}


@dataclass(frozen=True)
class IamActions:
    read: Tuple[str, ...]
    write: Tuple[str, ...]

    @property
    def all(self) -> Set[str]:
        return set(self.read) | set(self.write)


def load_actions() -> IamActions:
    data = json.loads(resources.files(__package__).joinpath("iam_actions.json").read_text(encoding="utf-8"))
    return IamActions(tuple(data["read"]), tuple(data["write"]))


def kind(action: str) -> str:
    """``read`` or ``write``, by the same rule the dry-run guard uses."""
    return "write" if is_mutating(action.split(":", 1)[1]) else "read"


def needed_for(operations: Iterable[str]) -> Set[str]:
    """The actions a set of recorded operations (``service:Operation``) needs."""
    needed: Set[str] = set()
    for op in operations:
        needed.add(op)
        needed.update(IMPLIED.get(op, ()))
    return needed


def compare(operations: Iterable[str], declared: IamActions) -> Tuple[Set[str], Set[str]]:
    """(needed but not declared, declared but not needed)."""
    needed = needed_for(operations)
    return needed - declared.all, declared.all - needed


def undeclared_lever_actions(declared: IamActions) -> Dict[str, Set[str]]:
    """Per lever (and the shared service update), the actions it declares that the file lacks."""
    missing = {name: set(needed_for(actions)) - declared.all for name, actions in registry.iam_actions().items()}
    return {name: actions for name, actions in missing.items() if actions}


def writes_outside_levers(operations: Iterable[str]) -> Set[str]:
    """The recorded mutating operations that no lever declares (the cluster lock's own)."""
    declared = {action for actions in registry.iam_actions().values() for action in actions}
    return {op for op in operations if kind(op) == "write" and op not in declared}
