"""``ecs-optimizer-lab`` as a user runs it: the installed console script as a subprocess.

One session goes up (seeded from the reviewed dev plan), is reported by ``status``, answers the
optimizer's ``savings`` through the exported variables, refuses a second ``up``, and goes down
leaving no process and no state. The refusals (no plan, a port in use, no moto) and a ``down``
whose recorded process id now belongs to another process are checked on their own.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterator

import pytest

from ecs_optimizer_lab.emulator import SERVER_MODULE, server_info, server_is_running
from plan_snapshots import FLEET, PLAN_DIR

LAB = shutil.which("ecs-optimizer-lab", path=str(Path(sys.executable).parent))
OPTIMIZER = shutil.which("ecs-optimizer", path=str(Path(sys.executable).parent))
pytestmark = pytest.mark.skipif(LAB is None or OPTIMIZER is None, reason="the console scripts are not installed")


def lab(*args: str, cwd: Path, env: Dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    assert LAB is not None
    return subprocess.run([LAB, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def exports(stdout: str) -> Dict[str, str]:
    """The variables an ``eval`` of ``up``'s output would set, read the way bash reads them."""
    script = f"{stdout}\nenv -0"
    out = subprocess.run(["bash", "-c", script], capture_output=True, env={"PATH": os.environ["PATH"]}, check=True)
    pairs = (item.split(b"=", 1) for item in out.stdout.split(b"\0") if b"=" in item)
    return {k.decode(): v.decode() for k, v in pairs}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    """A working directory whose lab is always brought down, whatever the test did."""
    yield tmp_path
    if (tmp_path / ".ecs-optimizer" / "lab" / "state.json").exists():
        lab("down", cwd=tmp_path)


def test_up_status_savings_down(workdir: Path) -> None:
    up = lab("up", "--plan-dir", str(PLAN_DIR), cwd=workdir)
    assert up.returncode == 0, up.stderr
    env = exports(up.stdout)
    endpoint = env["AWS_ENDPOINT_URL"]
    assert endpoint.startswith("http://127.0.0.1:")
    assert env["AWS_ACCESS_KEY_ID"] == "testing" and env["AWS_REGION"] == FLEET.region
    assert "AWS_PROFILE" not in exports(f"export AWS_PROFILE=prod\n{up.stdout}")
    outputs = workdir / ".ecs-optimizer" / "lab" / "outputs"
    assert f"# compute outputs (--outputs): {outputs.relative_to(workdir) / 'compute.json'}" in up.stdout
    assert json.loads((outputs / "compute.json").read_text()) == FLEET.compute_outputs
    assert json.loads((outputs / "network.json").read_text()) == FLEET.network_outputs

    state = json.loads((workdir / ".ecs-optimizer" / "lab" / "state.json").read_text())
    pid = state["pid"]
    assert server_info(endpoint) == {"pid": pid, "instance": state["instance"]}
    assert os.getpgid(pid) == pid, "the emulator leads its own process group"
    assert server_is_running(pid, state["instance"])

    status = lab("status", "--json", cwd=workdir)
    assert status.returncode == 0, status.stderr
    reported = json.loads(status.stdout)
    assert reported["running"] is True and reported["endpoint"] == endpoint and reported["pid"] == pid
    assert reported["cluster"] == FLEET.cluster_name and reported["services"] == len(FLEET.services)
    text = lab("status", cwd=workdir).stdout
    assert f"cluster:  {FLEET.cluster_name}, {len(FLEET.services)} services" in text

    again = lab("up", "--plan-dir", str(PLAN_DIR), cwd=workdir)
    assert again.returncode == 2 and again.stdout.startswith("false  #")  # an eval of it fails too
    assert again.stderr.strip().splitlines() == [
        f"error: the lab is already up at {endpoint} (pid {pid}, state .ecs-optimizer/lab/state.json): "
        "run `ecs-optimizer-lab down` first"
    ]

    assert OPTIMIZER is not None
    savings = subprocess.run(
        [OPTIMIZER, "savings", "--outputs", str(outputs / "compute.json"), "--format", "json"],
        cwd=workdir,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert savings.returncode == 0, savings.stderr
    report = json.loads(savings.stdout)
    assert report["monthlySavings"] > 0
    assert report["before"]["monthly"] > report["after"]["monthly"]

    down = lab("down", cwd=workdir)
    assert down.returncode == 0, down.stderr
    assert down.stdout.strip() == f"stopped the emulator at {endpoint} (pid {pid}); removed .ecs-optimizer/lab"
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:  # init reaps it once it has exited
        time.sleep(0.05)
    assert not alive(pid), "down left the emulator running"
    assert not (workdir / ".ecs-optimizer" / "lab").exists()
    with socket.socket() as s:  # nothing listens on the port any more (its last connections may be in TIME_WAIT)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", int(endpoint.rsplit(":", 1)[1])))

    after = lab("status", cwd=workdir)
    assert after.returncode == 3 and after.stdout.startswith("not up: no lab state in .ecs-optimizer/lab")
    twice = lab("down", cwd=workdir)
    assert twice.returncode == 0 and twice.stdout.startswith("nothing to stop")


def one_line_error(result: subprocess.CompletedProcess, code: int = 2) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def test_up_without_a_plan_says_how_to_make_one_and_leaves_nothing(workdir: Path) -> None:
    error = one_line_error(lab("up", "--plan-dir", str(workdir / "missing"), cwd=workdir))
    assert "no offline plan in" in error and "make plan" in error
    assert not (workdir / ".ecs-optimizer").exists()


def test_a_failed_up_fails_the_eval_that_reads_it(workdir: Path) -> None:
    """`eval "$(ecs-optimizer-lab up)"` takes eval's status, so a failed up must print a failing command."""
    script = f'eval "$({LAB} up --plan-dir missing)"\necho reached'
    result = subprocess.run(["sh", "-ec", script], cwd=workdir, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "reached" not in result.stdout
    assert "error: no offline plan in missing" in result.stderr


def test_up_on_a_port_in_use_names_the_port(workdir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        error = one_line_error(lab("up", "--plan-dir", str(PLAN_DIR), "--port", str(port), cwd=workdir))
    assert f"port {port} on 127.0.0.1 is in use" in error
    assert not (workdir / ".ecs-optimizer" / "lab" / "state.json").exists()


def test_down_never_kills_a_process_that_is_not_its_emulator(workdir: Path) -> None:
    """A recorded pid that now belongs to another process (here: a sleep) is left alone."""
    other = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        state_dir = workdir / "state"
        state_dir.mkdir()
        record = {
            "pid": other.pid,
            "instance": "0123456789abcdef",
            "endpoint": "http://127.0.0.1:1",
            "region": "us-east-1",
            "log": str(state_dir / "emulator.log"),
            "started_at": "2026-01-01T00:00:00+00:00",
        }
        (state_dir / "state.json").write_text(json.dumps(record))
        status = lab("status", "--state-dir", str(state_dir), cwd=workdir)
        assert status.returncode == 3 and "has stopped" in status.stdout
        down = lab("down", "--state-dir", str(state_dir), cwd=workdir)
        assert down.returncode == 0 and "had already stopped; nothing was killed" in down.stdout
        assert other.poll() is None, "down killed a process it did not start"
        assert not (state_dir / "state.json").exists()
    finally:
        os.killpg(other.pid, signal.SIGTERM)
        other.wait()


def test_a_broken_state_file_is_named(workdir: Path) -> None:
    state_dir = workdir / "state"
    state_dir.mkdir()
    (state_dir / "state.json").write_text("{not json")
    error = one_line_error(lab("status", "--state-dir", str(state_dir), cwd=workdir))
    assert "state.json is not a lab state file" in error


def test_without_moto_it_names_the_lab_extra(workdir: Path) -> None:
    code = "import sys; sys.modules['moto'] = None\nfrom ecs_optimizer_lab.cli import main\nmain(['status'])\n"
    result = subprocess.run([sys.executable, "-c", code], cwd=workdir, capture_output=True, text=True, timeout=60)
    error = one_line_error(result)
    assert "pip install 'ecs-optimizer[lab]'" in error and "moto" in error


def test_the_attached_server_still_exits_when_its_stdin_closes() -> None:
    """The tests' and the real-engine harness's way of running it is unchanged by --detached."""
    proc = subprocess.Popen(
        [sys.executable, "-m", SERVER_MODULE, "--host", "127.0.0.1", "--port", "0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None and proc.stdin is not None
    assert proc.stdout.readline().decode().startswith("listening on http://127.0.0.1:")
    proc.stdin.close()
    assert proc.wait(timeout=15) == 0
    proc.stdout.close()


def test_the_server_refuses_a_port_in_use_in_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", SERVER_MODULE, "--host", "127.0.0.1", "--port", str(port), "--detached"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [f"error: cannot listen on 127.0.0.1:{port}: Address already in use"]
