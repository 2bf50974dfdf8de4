"""The optimizer's core (``ecs_optimizer``) never depends on its lab (``ecs_optimizer_lab``).

The core is what runs against AWS; the lab (emulator, seeding, synthetic traces, demo) exists
only to run it without AWS. Both checks read the installed packages, so a lab import added
anywhere in the core, at module level or inside a function, fails here.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import List

import ecs_optimizer
import ecs_optimizer_lab

CORE = Path(ecs_optimizer.__file__).parent
LAB = "ecs_optimizer_lab"


def _lab_imports(source: Path) -> List[str]:
    found = []
    for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [f"{source.name}:{node.lineno} imports {n}" for n in names if n.split(".")[0] == LAB]
    return found


def test_no_core_module_imports_the_lab():
    modules = sorted(CORE.rglob("*.py"))
    assert len(modules) > 20, f"expected the core's modules under {CORE}"
    offenders = [hit for module in modules for hit in _lab_imports(module)]
    assert offenders == []


def test_the_boundary_check_sees_a_lab_import(tmp_path):
    """The scan above would catch both spellings of an import of the lab."""
    module = tmp_path / "offender.py"
    module.write_text("def f():\n    from ecs_optimizer_lab.emulator import Emulator\n\nimport ecs_optimizer_lab\n")
    assert sorted(_lab_imports(module)) == [
        "offender.py:2 imports ecs_optimizer_lab.emulator",
        "offender.py:4 imports ecs_optimizer_lab",
    ]


def test_running_the_cli_loads_no_lab_module():
    code = (
        "import sys, ecs_optimizer.cli.main\n"
        "from click.testing import CliRunner\n"
        "CliRunner().invoke(ecs_optimizer.cli.main.cli, ['--help'])\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] == {LAB!r}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


def test_the_lab_is_a_separate_package():
    assert Path(ecs_optimizer_lab.__file__).parent != CORE
    assert not (CORE / "emulator.py").exists() and not (CORE / "demo.py").exists()
