"""The README's "Try it on the emulator" commands, run verbatim: a clone to a savings report.

The commands are read from the section's bash block, not retyped, and run as one bash script
in the repository root, the way a new user pastes them. They must print a dry run and a savings
report, and leave no emulator and no lab state behind.
"""

from __future__ import annotations

import os
import re
import subprocess
from typing import List

import pytest

from plan_snapshots import REPO_ROOT

README = REPO_ROOT / "README.md"
SECTION = "## Try it on the emulator"
LAB_STATE = REPO_ROOT / ".ecs-optimizer" / "lab" / "state.json"


def quickstart_commands(readme: str) -> List[str]:
    """The command lines of the first bash block under :data:`SECTION`."""
    lines = readme.split("\n")
    if SECTION not in lines:
        raise AssertionError(f"README.md has no section {SECTION!r}")
    body = "\n".join(lines[lines.index(SECTION) + 1 :]).split("\n## ", 1)[0]
    block = re.search(r"^```bash\n(.*?)^```", body, flags=re.S | re.M)
    if block is None:
        raise AssertionError(f"README.md's {SECTION!r} has no bash block")
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_the_quickstart_block_is_read_from_the_readme() -> None:
    readme = f"# x\n\n{SECTION}\n\ntext\n\n```bash\nmake plan   # a comment\n\neval x\n```\n\n```bash\nnot this\n```\n## Next\n"
    assert quickstart_commands(readme) == ["make plan   # a comment", "eval x"]
    with pytest.raises(AssertionError, match="no section"):
        quickstart_commands("# x\n")


def test_the_readme_quickstart_goes_from_a_clone_to_a_savings_report() -> None:
    commands = quickstart_commands(README.read_text(encoding="utf-8"))
    assert any("ecs-optimizer-lab up" in c for c in commands) and any("ecs-optimizer savings" in c for c in commands)
    assert not LAB_STATE.exists(), (
        f"a lab is already up in the repository ({LAB_STATE}): `ecs-optimizer-lab down` first"
    )
    # A new user's shell: no AWS settings, no virtualenv active, not inside another make.
    outer = {"VIRTUAL_ENV", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in outer}
    venv_bin = str(REPO_ROOT / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    script = "set -euo pipefail\n" + "\n".join(commands) + "\n"
    try:
        run = subprocess.run(
            ["bash", "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
        )
    finally:
        if LAB_STATE.exists():  # the block failed before its last line: stop what it started
            subprocess.run([f"{venv_bin}/ecs-optimizer-lab", "down"], cwd=REPO_ROOT, capture_output=True, timeout=60)
    assert run.returncode == 0, f"{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    assert "dry run: nothing was changed" in run.stdout
    assert re.search(r"\$\d[\d,]*\.\d\d a month", run.stdout), run.stdout[-3000:]
    assert "stopped the emulator at http://127.0.0.1:" in run.stdout
    assert not LAB_STATE.exists()
