"""A lab session: one detached emulator, seeded from a plan, that outlives the command that started it.

``ecs-optimizer-lab up`` (:func:`up`) starts the emulator in its own session, creates in it
the fleet a plan directory declares with two weeks of utilization history, writes each
layer's outputs file, and records the session in ``<state dir>/state.json``: the server's
process id, endpoint and instance name, the fleet, and the files written. ``status``
(:func:`status`) reads that record and asks the emulator what it holds; ``down``
(:func:`down`) stops exactly the recorded process, after checking that the process id
still belongs to that server, and removes the session's files.

Every refusal is a :class:`LabError` with a one-line message; nothing is left running or
half-written after one.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
import shutil
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from .emulator import (
    DUMMY_CREDENTIALS,
    HOST,
    EmulatorError,
    emulator_client,
    server_is_running,
    start_detached,
    stop_detached,
)
from .fleet import PlanError, fleet_from_plan
from .history import HISTORY_DAYS, seed_fleet_history
from .seeding import seed_fleet
from .synthetic import DEFAULT_SEED
from .workers import Progress, quiet

#: Where a session is recorded unless ``--state-dir`` says otherwise (relative to the working directory).
DEFAULT_STATE_DIR = Path(".ecs-optimizer/lab")
#: The plan ``make plan`` writes.
DEFAULT_PLAN_DIR = Path("build/plan")

STATE_FILE = "state.json"
LOG_FILE = "emulator.log"
OUTPUTS_DIR = "outputs"

#: The optimizer option that takes each outputs file ``up`` writes (the registry's is for reading only).
OUTPUT_OPTIONS = {"compute": "--outputs", "observability": "--observability-outputs", "network": "--network-outputs"}


class LabError(Exception):
    """A refusal or failure of a lab command; the message is one line."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class LabState:
    """What ``state.json`` records about a running session."""

    pid: int
    instance: str
    endpoint: str
    region: str
    log: str
    started_at: str
    plan_dir: str = ""
    cluster: str = ""
    services: List[str] = field(default_factory=list)  # ECS service names seeded
    outputs: Dict[str, str] = field(default_factory=dict)  # layer -> outputs file
    seed: int = DEFAULT_SEED

    @property
    def port(self) -> int:
        return int(self.endpoint.rsplit(":", 1)[1])

    def env(self) -> Dict[str, str]:
        """The variables the ``ecs-optimizer`` CLI (any boto3 program) needs to reach the emulator."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            **DUMMY_CREDENTIALS,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }


def state_path(state_dir: Path) -> Path:
    return state_dir / STATE_FILE


def read_state(state_dir: Path) -> Optional[LabState]:
    """The recorded session, or ``None`` when there is none."""
    path = state_path(state_dir)
    if not path.is_file():
        return None
    try:
        return LabState(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as exc:
        raise LabError(f"{path} is not a lab state file ({exc}); remove it by hand") from exc


def _write_state(state_dir: Path, state: LabState) -> None:
    path = state_path(state_dir)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def _remove_session_files(state_dir: Path) -> None:
    for name in (STATE_FILE, LOG_FILE):
        (state_dir / name).unlink(missing_ok=True)
    shutil.rmtree(state_dir / OUTPUTS_DIR, ignore_errors=True)
    try:
        state_dir.rmdir()  # only when nothing else was put there
    except OSError:
        pass


def _check_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the server binds: a port whose last connections are in TIME_WAIT is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            raise LabError(
                f"port {port} on {HOST} is in use ({exc.strerror or exc}): pick another with --port"
            ) from exc


def up(
    plan_dir: Path = DEFAULT_PLAN_DIR,
    state_dir: Path = DEFAULT_STATE_DIR,
    port: int = 0,
    seed: int = DEFAULT_SEED,
    rollout_seconds: float = 0.0,
    progress: Progress = quiet,
) -> LabState:
    """Start a detached emulator, seed it from ``plan_dir`` (fleet and history), write the
    outputs files, and record the session. Refuses when a session is already up."""
    current = read_state(state_dir)
    if current is not None:
        if server_is_running(current.pid, current.instance):
            raise LabError(
                f"the lab is already up at {current.endpoint} (pid {current.pid}, state {state_path(state_dir)}): "
                "run `ecs-optimizer-lab down` first"
            )
        progress(f"the emulator recorded in {state_path(state_dir)} (pid {current.pid}) has stopped; starting anew")
        _remove_session_files(state_dir)
    if not (plan_dir / "compute.json").is_file():
        raise LabError(f"no offline plan in {plan_dir} (no compute.json): run `make plan` first, or pass --plan-dir")
    try:
        fleet = fleet_from_plan(plan_dir)
    except PlanError as exc:
        raise LabError(f"plan {plan_dir}: {str(exc).splitlines()[0]}") from exc
    if port:
        _check_port_free(port)
    state_dir.mkdir(parents=True, exist_ok=True)
    log = state_dir / LOG_FILE
    progress(f"starting the emulator on {HOST}:{port or '(a free port)'}; its log: {log}")
    try:
        server = start_detached(fleet.region, log, port=port, rollout_seconds=rollout_seconds)
    except EmulatorError as exc:
        raise LabError(f"the emulator did not start: {' '.join(str(exc).split())[:300]}", exit_code=1) from exc
    state = LabState(
        pid=server.pid,
        instance=server.instance,
        endpoint=server.endpoint,
        region=fleet.region,
        log=str(log),
        started_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        plan_dir=str(plan_dir),
        cluster=fleet.cluster_name,
        seed=seed,
    )
    # Recorded before seeding, so a `down` finds the process even if seeding is interrupted.
    _write_state(state_dir, state)
    try:
        progress(f"seeding {server.endpoint} with the fleet {plan_dir} declares")
        seeded = seed_fleet(fleet, server.endpoint, seed=seed, outputs_dir=state_dir / OUTPUTS_DIR, progress=progress)
        progress(f"writing {HISTORY_DAYS} days of hourly CPU and memory utilization per service")
        seed_fleet_history(server.endpoint, fleet, seed=seed, progress=progress)
    except BaseException as exc:
        stop_detached(server.pid, server.instance)
        _remove_session_files(state_dir)
        if isinstance(exc, Exception):
            raise LabError(f"seeding from {plan_dir} failed, the emulator was stopped: {exc}", exit_code=1) from exc
        raise
    state.services = sorted(seeded.services)
    state.outputs = {layer: str(path) for layer, path in seeded.outputs.items()}
    _write_state(state_dir, state)
    return state


def shell_exports(state: LabState) -> str:
    """``export`` lines a shell can ``eval``, then the outputs files as comments."""
    lines = [f"export {name}={shlex.quote(value)}" for name, value in state.env().items()]
    # A named profile would take precedence over the emulator's credentials.
    lines.append("unset AWS_PROFILE")
    lines.append(
        f"# ecs-optimizer-lab: emulator up at {state.endpoint} (pid {state.pid}); "
        f"cluster {state.cluster}, {len(state.services)} services"
    )
    for layer, path in state.outputs.items():
        option = f" ({OUTPUT_OPTIONS[layer]})" if layer in OUTPUT_OPTIONS else ""
        lines.append(f"# {layer} outputs{option}: {path}")
    return "\n".join(lines)


@dataclass(frozen=True)
class LabStatus:
    state: LabState
    running: bool
    services: Optional[int]  # services the emulator holds in the cluster; None when it does not answer


def status(state_dir: Path = DEFAULT_STATE_DIR) -> Optional[LabStatus]:
    """The recorded session and what the emulator holds now; ``None`` when none is recorded."""
    state = read_state(state_dir)
    if state is None:
        return None
    if not server_is_running(state.pid, state.instance):
        return LabStatus(state, False, None)
    try:
        ecs = emulator_client(state.endpoint, state.region, "ecs")
        arns = [
            arn
            for page in ecs.get_paginator("list_services").paginate(cluster=state.cluster)
            for arn in page["serviceArns"]
        ]
        count: Optional[int] = len(arns)
    except Exception:  # noqa: BLE001 - a process that does not answer is reported as such
        count = None
    return LabStatus(state, True, count)


@dataclass(frozen=True)
class DownResult:
    state: LabState
    stopped: bool  # False: the recorded process had already gone (or its id now belongs to another process)


def down(state_dir: Path = DEFAULT_STATE_DIR) -> Optional[DownResult]:
    """Stop the recorded emulator and remove the session's files; ``None`` when none is recorded."""
    state = read_state(state_dir)
    if state is None:
        return None
    try:
        stopped = stop_detached(state.pid, state.instance)
    except EmulatorError as exc:
        raise LabError(str(exc), exit_code=1) from exc
    _remove_session_files(state_dir)
    return DownResult(state, stopped)


def status_json(result: LabStatus) -> Dict[str, Any]:
    return {
        "running": result.running,
        "endpoint": result.state.endpoint,
        "pid": result.state.pid,
        "region": result.state.region,
        "cluster": result.state.cluster,
        "services": result.services,
        "planDir": result.state.plan_dir,
        "outputs": result.state.outputs,
        "startedAt": result.state.started_at,
        "log": result.state.log,
    }
