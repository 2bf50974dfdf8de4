"""The IAM actions the optimizer needs: declared next to the code, collected in ``iam_actions.json``.

Each lever declares the actions its apply and restore steps call
(:attr:`levers.base.Lever.iam_actions`), and each other module that calls AWS declares its
own calls in a module-level ``IAM_ACTIONS`` (the way Cloud Custodian's actions declare their
``permissions``). :func:`generate` collects them, adds the actions IAM checks alongside a call
(:data:`IMPLIED`) and splits them into reads and writes; ``iam_actions.json`` is that result,
written by::

    python -m ecs_optimizer.apply.permissions --write   # --check: exit 1 when the file is stale

The compute stack reads the file to grant the optimizer's role exactly these actions. A test
checks the file is what the declarations generate, and another runs optimize, rollback and
savings through the call recorder to prove every call made is declared and nothing declared
goes unused. :func:`undeclared_lever_actions` checks the levers' actions are in the file, and
:func:`writes_outside_levers` which recorded writes no lever declares.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set, Tuple

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


ACTIONS_FILE = "iam_actions.json"


def load_actions() -> IamActions:
    data = json.loads(resources.files(__package__).joinpath(ACTIONS_FILE).read_text(encoding="utf-8"))
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


def module_declarations() -> Dict[str, Tuple[str, ...]]:
    """Module -> the ``IAM_ACTIONS`` it declares, for every module of the package that declares any."""
    root = importlib.import_module(__package__.split(".")[0])
    found: Dict[str, Tuple[str, ...]] = {}
    for info in pkgutil.walk_packages(root.__path__, f"{root.__name__}."):
        actions = getattr(importlib.import_module(info.name), "IAM_ACTIONS", None)
        if actions is not None:
            found[info.name] = tuple(actions)
    return found


def declarations() -> Dict[str, Tuple[str, ...]]:
    """Who declares which actions: each lever (by name) and each module that calls AWS."""
    return {**{f"lever {name}": actions for name, actions in registry.iam_actions().items()}, **module_declarations()}


def generate() -> IamActions:
    """The file's contents from the declarations: every declared action and the ones it implies."""
    needed = needed_for(action for actions in declarations().values() for action in actions)
    return IamActions(
        tuple(sorted(a for a in needed if kind(a) == "read")), tuple(sorted(a for a in needed if kind(a) == "write"))
    )


def render(actions: IamActions) -> str:
    return json.dumps({"read": list(actions.read), "write": list(actions.write)}, indent=2) + "\n"


def actions_path() -> Path:
    return Path(__file__).with_name(ACTIONS_FILE)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ecs_optimizer.apply.permissions",
        description="Generate iam_actions.json from the actions the levers and modules declare.",
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="write the file")
    mode.add_argument("--check", action="store_true", help="exit 1 when the file is not what the declarations give")
    args = parser.parse_args(argv)
    path, wanted = actions_path(), render(generate())
    if args.write:
        path.write_text(wanted, encoding="utf-8")
        print(f"wrote {path}")
        return 0
    if path.read_text(encoding="utf-8") != wanted:
        print(f"{path} is stale: run python -m ecs_optimizer.apply.permissions --write", file=sys.stderr)
        return 1
    print(f"{path} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
