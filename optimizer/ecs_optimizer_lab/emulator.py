"""The emulator process: starting and stopping :mod:`ecs_optimizer_lab.emulator_server`, and talking to it.

:class:`Emulator` runs the server (moto's server plus the fidelity fixes documented there) as
a child process on 127.0.0.1 and a free port, waits until it answers, and stops it when the
``with`` block ends, however it ends (an exception, Ctrl-C). The child also exits on its own
when this process dies, since it watches its stdin pipe.

:func:`start_detached` starts one that outlives its starter (its own session, stdin
ignored), for ``ecs-optimizer-lab up``; :func:`stop_detached` stops it again, after checking
that the process id still belongs to that server (:func:`server_is_running`).
:func:`emulator_client` is a boto3 client for a server at an endpoint. Seeding it is
:mod:`ecs_optimizer_lab.seeding` and :mod:`ecs_optimizer_lab.history`; reading it back is
:mod:`ecs_optimizer_lab.readback`.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Dict, List, Optional

import boto3
from botocore.config import Config

#: The module the server runs as (``python -m``); also how a stop recognises its process.
SERVER_MODULE = "ecs_optimizer_lab.emulator_server"

#: The emulator only ever listens on the loopback interface.
HOST = "127.0.0.1"

#: Credentials the emulator accepts; they never leave this machine.
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def terminate(proc: "subprocess.Popen[Any]", grace: float = 5.0) -> None:
    """Stop a child process: SIGTERM, then SIGKILL if it has not exited within ``grace`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class EmulatorError(RuntimeError):
    """The emulator did not start, or stopped answering."""


class Emulator:
    """The emulator process. Use as a context manager::

        with Emulator(region="us-east-1") as emu:
            ecs = emu.client("ecs")

    ``rollout_seconds`` is how long an ECS deployment takes to complete (0: at once).
    The server's own log (one line per request is silenced; errors remain) goes to
    ``log_path``, or a temporary file whose tail is shown if the server fails to start.
    """

    def __init__(
        self,
        region: str = "us-east-1",
        rollout_seconds: float = 0.0,
        startup_timeout: float = 60.0,
        log_path: Optional[Path] = None,
    ) -> None:
        self.region = region
        self.rollout_seconds = rollout_seconds
        self.startup_timeout = startup_timeout
        self.log_path = log_path
        self.endpoint: str = ""
        self._proc: Optional[subprocess.Popen] = None
        self._log: Optional[IO[bytes]] = None

    def __enter__(self) -> "Emulator":
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        if self._proc is not None:
            raise EmulatorError("the emulator is already running")
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "wb")
        else:
            self._log = tempfile.TemporaryFile()
        cmd = server_command(0, self.rollout_seconds)
        self._proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, env=server_env(self.region)
        )
        try:
            self.endpoint = self._read_endpoint()
            self._wait_until_answering()
        except BaseException:
            self.stop()
            raise

    def _read_endpoint(self) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        return read_endpoint(self._proc.stdout, self.startup_timeout, self._log_tail)

    def _wait_until_answering(self) -> None:
        wait_until_answering(self.endpoint, self.region, self.startup_timeout, lambda: self.running, self._log_tail)

    def _log_tail(self) -> str:
        if self._log is None:
            return "no log"
        try:
            self._log.flush()
            if self.log_path is not None:
                data = self.log_path.read_bytes()
            else:
                self._log.seek(0)
                data = self._log.read()
        except (OSError, ValueError):
            return "log unreadable"
        return _tail(data)

    def stop(self) -> None:
        """Stop the server: close its stdin (it exits by itself), then terminate, then kill."""
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                if proc.stdin is not None:
                    proc.stdin.close()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    terminate(proc)
            finally:
                if proc.stdout is not None:
                    proc.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None

    # -- talking to it

    def client(self, service: str, max_pool_connections: int = 16) -> Any:
        return emulator_client(self.endpoint, self.region, service, max_pool_connections)

    def env(self) -> Dict[str, str]:
        """Environment for a process (the ``ecs-optimizer`` CLI) that should talk to the emulator."""
        return {
            **DUMMY_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }

    def calls(self) -> Dict[str, int]:
        """API calls served since the last reset, by ``service:Operation``."""
        with urllib.request.urlopen(f"{self.endpoint}/_emulator/calls", timeout=10) as resp:
            return {str(k): int(v) for k, v in json.loads(resp.read()).items()}

    def reset_calls(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/_emulator/calls/reset", data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass


def emulator_client(endpoint: str, region: str, service: str, max_pool_connections: int = 16) -> Any:
    """A boto3 client for the emulator. Request compression is off because moto's server
    cannot read gzip-compressed PutMetricData bodies."""
    config = Config(
        retries={"mode": "standard", "max_attempts": 5},
        max_pool_connections=max_pool_connections,
        disable_request_compression=True,
    )
    return boto3.session.Session(
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
        region_name=region,
    ).client(service, endpoint_url=endpoint, config=config)


# ----------------------------------------------------------------------------- shared by both


def server_command(port: int, rollout_seconds: float, detached: bool = False, instance: str = "") -> List[str]:
    """The command line that runs the server on :data:`HOST` and ``port`` (0: a free one)."""
    cmd = [sys.executable, "-m", SERVER_MODULE, "--host", HOST, "--port", str(port)]
    cmd += ["--rollout-seconds", str(rollout_seconds)]
    if detached:
        cmd += ["--detached", "--instance", instance]
    return cmd


def server_env(region: str) -> Dict[str, str]:
    return {**os.environ, **DUMMY_CREDENTIALS, "AWS_DEFAULT_REGION": region}


def read_endpoint(stdout: IO[bytes], timeout: float, log_tail: Any) -> str:
    """The endpoint from the server's first line (``listening on http://HOST:PORT``)."""
    line: List[bytes] = []
    reader = threading.Thread(target=lambda: line.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    text = line[0].decode().strip() if line else ""
    if not line:
        raise EmulatorError(f"the emulator did not start within {timeout:g}s: {log_tail()}")
    if not text.startswith("listening on "):
        raise EmulatorError(f"the emulator exited before it listened: {log_tail()}")
    return text.split("listening on ", 1)[1]


def wait_until_answering(endpoint: str, region: str, timeout: float, running: Any, log_tail: Any) -> None:
    """Return once the server at ``endpoint`` answers an ECS call; fail if it exits or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    client = emulator_client(endpoint, region, "ecs")
    while True:
        try:
            client.list_clusters()
            return
        except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
            if not running() or time.monotonic() > deadline:
                raise EmulatorError(f"the emulator at {endpoint} does not answer ({exc}): {log_tail()}") from exc
            time.sleep(0.1)


def _tail(data: bytes, limit: int = 2000) -> str:
    return data.decode("utf-8", "replace")[-limit:].strip() or "the server wrote nothing"


# ----------------------------------------------------------------------------- detached


@dataclass(frozen=True)
class DetachedServer:
    """A server started by :func:`start_detached`: its process id, endpoint and instance name."""

    pid: int
    endpoint: str
    instance: str


def start_detached(
    region: str,
    log_path: Path,
    port: int = 0,
    rollout_seconds: float = 0.0,
    startup_timeout: float = 60.0,
) -> DetachedServer:
    """Start a server that outlives this process: its own session (so a terminal's Ctrl-C or
    hang-up does not reach it), stdin ignored, its log in ``log_path``. It runs until
    :func:`stop_detached` (or any SIGTERM) stops it. Raises :class:`EmulatorError`, with the
    log's tail, when it does not start; nothing is left running then."""
    instance = secrets.token_hex(8)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            server_command(port, rollout_seconds, detached=True, instance=instance),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            env=server_env(region),
            start_new_session=True,
        )
    assert proc.stdout is not None

    def log_tail() -> str:
        try:
            return _tail(log_path.read_bytes())
        except OSError:
            return "log unreadable"

    try:
        endpoint = read_endpoint(proc.stdout, startup_timeout, log_tail)
        wait_until_answering(endpoint, region, startup_timeout, lambda: proc.poll() is None, log_tail)
    except BaseException:
        terminate(proc)
        raise
    finally:
        proc.stdout.close()
    return DetachedServer(proc.pid, endpoint, instance)


def _command_line(pid: int) -> Optional[str]:
    """The command line of process ``pid``, or ``None`` when there is no such process."""
    proc = Path(f"/proc/{pid}")
    if Path("/proc/self").exists():
        try:
            if proc.joinpath("stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return None  # exited; only its exit status is left
            return proc.joinpath("cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except (OSError, IndexError):
            return None
    out = subprocess.run(["ps", "-o", "stat=,command=", "-p", str(pid)], capture_output=True, text=True)
    if out.returncode != 0 or not out.stdout.strip() or out.stdout.split()[0].startswith("Z"):
        return None
    return out.stdout.strip().split(None, 1)[1]


def _reap(pid: int) -> None:
    """Collect ``pid``'s exit status if it is this process's child (a test that started it in-process)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def server_is_running(pid: int, instance: str) -> bool:
    """Whether ``pid`` is alive and is the server started as ``instance`` (not a process
    that reused the id)."""
    _reap(pid)
    command = _command_line(pid)
    return command is not None and SERVER_MODULE in command and f"--instance {instance}" in command


def stop_detached(pid: int, instance: str, grace: float = 10.0) -> bool:
    """Stop the server ``instance`` running as ``pid`` and wait until it has gone: SIGTERM to
    its process group (it leads its own session), then SIGKILL after ``grace`` seconds.
    Returns ``False``, touching nothing, when ``pid`` is not that server."""
    if not server_is_running(pid, instance):
        return False
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            if os.getpgid(pid) == pid:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not server_is_running(pid, instance):
                return True
            time.sleep(0.05)
    if server_is_running(pid, instance):
        raise EmulatorError(f"the emulator (pid {pid}) did not stop after SIGTERM and SIGKILL")
    return True


def server_info(endpoint: str, timeout: float = 5.0) -> Dict[str, Any]:
    """What the server at ``endpoint`` says about itself: its ``pid`` and ``instance``."""
    with urllib.request.urlopen(f"{endpoint}/_emulator/info", timeout=timeout) as resp:
        return dict(json.loads(resp.read()))
