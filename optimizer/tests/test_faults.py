"""Fault injection: the CLI as a subprocess, a fault proxy between it and a moto server.

Each case starts from a freshly seeded emulator, runs ``optimize`` through the proxy with a
fault armed, and then checks the three promises:

* a re-run of ``optimize`` (with ``--force-unlock``, as an operator would after a kill)
  reaches the state an uninterrupted run reaches;
* ``rollback`` of the journals, newest first, leaves the emulator equal, field by field, to
  the state before the run, with no ACTIVE revision the runs registered;
* every write that reached the emulator (the lock parameter aside) is shown by an intent in
  a journal.

The fleet is the one the dev plan declares; the kill-at-every-call case runs on one service
so that its every mutating call is one case.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import boto3
import pytest

from ecs_optimizer_lab.emulator import Emulator, seed_fleet_through
from ecs_optimizer_lab.readback import read_state
from fault_proxy import FaultProxy
from plan_snapshots import FLEET, SEED

FAST = ["--wait-timeout", "20", "--poll-interval", "0.05"]
ONE = ["--service", "processing-service"]
#: Lock writes are not resource changes: the journal does not record them.
LOCK_OPERATIONS = {"PutParameter", "DeleteParameter"}


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with Emulator(region=FLEET.region) as emulator:
        yield emulator.endpoint


@pytest.fixture(scope="module")
def proxy(server: str) -> Iterator[FaultProxy]:
    p = FaultProxy(server)
    yield p
    p.close()


class Env:
    """One seeded emulator, the CLI runner and the state readers."""

    def __init__(self, server: str, proxy: FaultProxy, work: Path) -> None:
        self.server, self.proxy, self.work = server, proxy, work
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env.update(
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION=FLEET.region,
            AWS_DISABLE_REQUEST_COMPRESSION="true",
            AWS_EC2_METADATA_DISABLED="true",
            AWS_CONFIG_FILE=str(work / "none"),
            AWS_SHARED_CREDENTIALS_FILE=str(work / "none"),
            PYTHONUNBUFFERED="1",
        )
        session = boto3.Session(region_name=FLEET.region, aws_access_key_id="testing", aws_secret_access_key="testing")
        self._clients: Dict[str, Any] = {}
        self.client: Callable[[str], Any] = lambda name: self._clients.setdefault(
            name, session.client(name, endpoint_url=server)
        )
        self.journals: List[Path] = []

    def seed(self) -> None:
        req = urllib.request.Request(f"{self.server}/moto-api/reset", method="POST")
        urllib.request.urlopen(req, timeout=30).read()
        self.proxy.reset()
        seed_fleet_through(FLEET, self.client, seed=SEED)
        outputs = FLEET.exports("compute")
        self.outputs = self.work / "outputs.json"
        self.outputs.write_text(json.dumps(outputs))

    def journal(self) -> Path:
        path = self.work / f"journal-{len(self.journals) + 1}.jsonl"
        self.journals.append(path)
        return path

    def args(self, command: str, *extra: str) -> List[str]:
        return [sys.executable, "-m", "ecs_optimizer.cli.main", command, "--endpoint-url", self.proxy.url, *extra]

    def start_optimize(self, *extra: str) -> subprocess.Popen:
        cmd = self.args(
            "optimize",
            "--outputs",
            str(self.outputs),
            "--policy",
            "fixed",
            *FAST,
            "--journal",
            str(self.journal()),
            "--format",
            "json",
            *extra,
        )
        return subprocess.Popen(
            cmd, cwd=self.work, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def run(self, cmd: List[str]) -> subprocess.CompletedProcess:
        return subprocess.run(cmd, cwd=self.work, env=self.env, capture_output=True, text=True, timeout=180)

    def optimize(self, *extra: str) -> subprocess.CompletedProcess:
        proc = self.start_optimize(*extra)
        out, err = proc.communicate(timeout=180)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    def rollback_all(self) -> None:
        """Roll back every journal of the case, newest first (what an operator does)."""
        for journal in reversed(self.journals):
            if not journal.exists():
                continue
            done = self.run(self.args("rollback", "--journal", str(journal), *FAST, "--force-unlock"))
            assert done.returncode == 0, done.stderr

    # ------------------------------------------------------------------ state

    def state(self) -> Dict[str, Any]:
        """Every field the optimizer may write, for an exact before/after comparison. Only
        ACTIVE revisions count (a retired one stays describable as INACTIVE)."""
        state = read_state(self.client, FLEET)
        state["revisions"] = {
            f: sorted(a for a, s in revs.items() if s == "ACTIVE") for f, revs in state["revisions"].items()
        }
        volatile = ("Timestamp", "StateValue", "StateReason", "StateReasonData")
        state["alarms"] = {
            a["AlarmName"]: {k: v for k, v in a.items() if not k.endswith(volatile)}
            for a in self.client("cloudwatch").describe_alarms()["MetricAlarms"]
        }
        return state

    def converged(self) -> Dict[str, Any]:
        """The state with each task-definition ARN replaced by its family and size, so runs
        that reached the same sizes through different revision numbers compare equal."""
        state = self.state()
        ecs = self.client("ecs")

        def size(arn: str) -> tuple:
            td = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
            return (td["family"], td["cpu"], td["memory"])

        for svc in state["services"].values():
            svc["taskDefinition"] = size(svc["taskDefinition"])
        state["revisions"] = {f: sorted(size(a) for a in arns) for f, arns in state["revisions"].items()}
        # the emulator names target tracking's own alarms randomly on each seed
        state["alarms"] = {n: a for n, a in state["alarms"].items() if not n.startswith("TargetTracking-")}
        return state

    # ------------------------------------------------------------------ journal coverage

    def unjournalled_writes(self) -> List[str]:
        """Writes the proxy forwarded that no journal intent names (operation and resource)."""
        intents = []
        for journal in self.journals:
            if journal.exists():
                for line in journal.read_text().splitlines():
                    record = json.loads(line)
                    if record["kind"] == "intent":
                        intents.append(record)
        missing = []
        for operation, body in self.proxy.writes:
            if operation in LOCK_OPERATIONS:
                continue
            named = any(i["operation"] == operation and _identifier(i["changes"][0]).encode() in body for i in intents)
            if not named:
                missing.append(f"{operation} {body[:120]!r}")
        return missing


def _identifier(change: Dict[str, Any]) -> str:
    """The name a write's request body carries for the resource a journal change names."""
    target = change["target"]
    if change["resource"] == "taskDefinition":
        return change["before"] if change["field"] == "retired" else target["family"]
    for key in ("serviceName", "resourceId", "repositoryName", "alarmName"):
        if key in target:
            return target[key]
    raise AssertionError(f"no identifier in {target}")


@pytest.fixture
def env(server: str, proxy: FaultProxy, tmp_path: Path) -> Env:
    e = Env(server, proxy, tmp_path)
    e.seed()
    return e


@pytest.fixture(scope="module")
def reference(server: str, proxy: FaultProxy, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Dict[str, Any]]:
    """The uninterrupted runs' end states (the whole fleet, and processing-service alone)."""
    states = {}
    for name, extra in (("fleet", []), ("one", ONE)):
        e = Env(server, proxy, tmp_path_factory.mktemp(f"reference-{name}"))
        e.seed()
        done = e.optimize(*extra)
        assert done.returncode == 0, done.stderr
        states[name] = e.converged()
        assert states[name]["locks"] == []
    return states


def differences(a: Any, b: Any, path: str = "") -> List[str]:
    """Leaf paths where ``a`` and ``b`` differ, with both values (readable assertion output)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: List[str] = []
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b:
                out.append(
                    f"{path}/{key}: {'missing' if key not in a else a[key]!r} != {'missing' if key not in b else b[key]!r}"
                )
            else:
                out += differences(a[key], b[key], f"{path}/{key}")
        return out
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def _check_recovery(env: Env, before: Dict[str, Any], reference: Dict[str, Any], *extra: str) -> None:
    """Re-run converges; rollback of every journal restores ``before``; nothing unjournalled."""
    rerun = env.optimize("--force-unlock", *extra)
    assert rerun.returncode == 0, rerun.stderr
    assert differences(env.converged(), reference) == []
    env.rollback_all()
    assert differences(env.state(), before) == []
    assert env.unjournalled_writes() == []


def _mutating_calls_of_a_clean_run(env: Env, *extra: str) -> int:
    env.proxy.reset()
    done = env.optimize(*extra)
    assert done.returncode == 0, done.stderr
    return env.proxy.mutating


def test_kill_at_every_mutating_call(server, proxy, tmp_path, reference):
    probe = Env(server, proxy, tmp_path / "probe")
    probe.work.mkdir()
    probe.seed()
    calls = _mutating_calls_of_a_clean_run(probe, *ONE)
    assert calls >= 7  # lock, revision, service, scalable target, ECR policy, alarms, unlock
    for n in range(1, calls + 1):
        env = Env(server, proxy, tmp_path / f"kill-{n}")
        env.work.mkdir()
        env.seed()
        before = env.state()
        proc = env.start_optimize(*ONE)
        proxy.kill_at(n, proc.pid)
        proc.communicate(timeout=120)
        assert proc.returncode == -signal.SIGKILL and proxy.killed, f"call {n}: not killed"
        _check_recovery(env, before, reference["one"], *ONE)


def test_kill_mid_run_with_concurrent_services(env, reference):
    before = env.state()
    proc = env.start_optimize("--concurrency", "3")
    env.proxy.kill_at(5, proc.pid)  # several services have writes in flight by then
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    _check_recovery(env, before, reference["fleet"])


def test_lost_responses_on_every_mutating_operation(env, reference):
    before = env.state()
    operations = {
        "PutParameter",
        "RegisterTaskDefinition",
        "UpdateService",
        "RegisterScalableTarget",
        "PutLifecyclePolicy",
        "PutMetricAlarm",
        "DeleteParameter",
    }
    env.proxy.lose(operations)
    done = env.optimize()
    assert done.returncode == 0, done.stderr
    assert set(env.proxy.lost) == operations
    # the retried registration left no extra ACTIVE revision, the lock is gone
    assert differences(env.converged(), reference["fleet"]) == []
    assert env.unjournalled_writes() == []
    env.rollback_all()
    assert differences(env.state(), before) == []


def test_throttling_beyond_the_retries_fails_one_service_and_restores_it(env, reference):
    before = env.state()
    env.env["AWS_MAX_ATTEMPTS"] = "2"  # botocore's attempts; the optimizer's backoff adds 5 rounds
    env.proxy.throttle("UpdateService", 2 * 5)
    done = env.optimize("--concurrency", "1")
    assert done.returncode == 4, done.stderr
    assert env.proxy.throttled == 10
    services = {s["service"]: s for s in json.loads(done.stdout)["services"]}
    failed = [n for n, s in services.items() if s["status"] == "rolled_back"]
    assert len(failed) == 1 and "ThrottlingException" in services[failed[0]]["reason"]
    state = env.state()
    name = f"{failed[0]}-{FLEET.suffix}"
    assert state["services"][name] == before["services"][name]
    assert state["revisions"][name] == before["revisions"][name]  # its new revision was retired
    assert env.unjournalled_writes() == []
    _check_recovery(env, before, reference["fleet"])


@pytest.mark.parametrize("signals", [[signal.SIGTERM], [signal.SIGINT, signal.SIGINT]], ids=["sigterm", "sigint-twice"])
def test_signals_finish_or_restore_in_flight_services(env, reference, signals):
    before = env.state()
    proc = env.start_optimize("--concurrency", "2")
    env.proxy.hold_at(3)  # a service's write in flight
    assert env.proxy.held.wait(60), "the run never reached its third write"
    started = time.monotonic()
    for sig in signals:
        proc.send_signal(sig)
        time.sleep(0.2)
    env.proxy.release()
    out, err = proc.communicate(timeout=60)
    assert time.monotonic() - started < 30, "the stop took longer than ECS waits before SIGKILL"
    assert proc.returncode == 6, err
    report = json.loads(out)
    statuses = {s["service"]: s["status"] for s in report["services"]}
    assert set(statuses.values()) <= {"applied", "rolled_back", "skipped"}
    assert "not started" in " ".join(s["reason"] for s in report["services"] if s["status"] == "skipped")
    # the lock was deleted last: no write after it
    assert env.proxy.writes[-1][0] == "DeleteParameter"
    assert env.state()["locks"] == []
    assert env.unjournalled_writes() == []
    _check_recovery(env, before, reference["fleet"])


def test_concurrent_runs_never_both_write(env, reference):
    before = env.state()
    env.proxy.hold_at(2)  # the first run holds the lock and is mid-write
    first = env.start_optimize()
    assert env.proxy.held.wait(60)
    second = env.optimize()
    assert second.returncode == 5 and "is locked by another optimizer run" in second.stderr
    env.proxy.release()
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert differences(env.converged(), reference["fleet"]) == []
    assert env.unjournalled_writes() == []
    env.rollback_all()
    assert differences(env.state(), before) == []
