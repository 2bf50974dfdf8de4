"""The exit codes the documentation lists are the ones the CLI has: one table row per code in
docs/optimizer.md, and every code named in docs/architecture.md."""

from __future__ import annotations

import re
from typing import Dict, List

from ecs_optimizer.core import errors
from plan_snapshots import REPO_ROOT

CODES = sorted({value for name, value in vars(errors).items() if name.startswith("EXIT_") and isinstance(value, int)})


def table_codes(page: str) -> List[int]:
    """The first column of the "Exit codes" table, row by row."""
    section = re.split(r"^## Exit codes$", page, maxsplit=1, flags=re.M)[1].split("\n## ", 1)[0]
    return [int(m.group(1)) for m in re.finditer(r"^\| (\d+) +\|", section, flags=re.M)]


def test_the_reference_has_one_row_per_exit_code() -> None:
    rows = table_codes((REPO_ROOT / "docs" / "optimizer.md").read_text(encoding="utf-8"))
    assert rows == CODES, f"docs/optimizer.md lists {rows}; the CLI has {CODES}"


def test_the_architecture_names_every_exit_code() -> None:
    page = (REPO_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    paragraph = page.split("**Exit codes:**", 1)[1].split("\n\n", 1)[0]
    named: Dict[int, int] = {}
    for m in re.finditer(r"(?:^\s*|[;:] )(\d+) ", paragraph):
        named[int(m.group(1))] = named.get(int(m.group(1)), 0) + 1
    assert sorted(named) == CODES and set(named.values()) == {1}, named


def test_a_duplicated_row_is_seen() -> None:
    page = "## Exit codes\n\n| code | meaning |\n|---|---|\n| 0 | done |\n| 3 | a |\n| 3 | b |\n\n## Next\n| 9 | x |\n"
    assert table_codes(page) == [0, 3, 3]
