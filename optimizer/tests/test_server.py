"""End to end through the installed CLI against a moto server on 127.0.0.1 (a separate process,
so the optimizer talks HTTP to an endpoint exactly as it would to AWS)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator, List

import boto3
import pytest

from ecs_optimizer_lab.emulator import Emulator, seed_fleet_through
from ecs_optimizer_lab.readback import read_state
from plan_snapshots import FLEET, SEED, SERVICE
from report_schema import savings_errors
from test_savings_cli import without_time


@pytest.fixture
def moto_server(aws_env, monkeypatch) -> Iterator[str]:
    with Emulator(region=FLEET.region) as emulator:
        yield emulator.endpoint


def _cli(args: List[str], cwd: Path, env: Dict[str, str]) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("ecs-optimizer")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "ecs_optimizer.cli.main"]
    return subprocess.run(cmd + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_optimize_rollback_and_savings_against_a_moto_server(moto_server, tmp_path, monkeypatch):
    # moto's server cannot read gzip-compressed PutMetricData bodies
    monkeypatch.setenv("AWS_DISABLE_REQUEST_COMPRESSION", "true")
    session = boto3.Session(region_name=FLEET.region)
    clients: Dict[str, object] = {}

    def client(name: str):
        if name not in clients:
            clients[name] = session.client(name, endpoint_url=moto_server)
        return clients[name]

    # before any Spot share, so the run moves the non-critical service to Spot over HTTP too;
    # no history: the metrics path is covered in-process
    seed_fleet_through(FLEET.on_demand(), client, seed=SEED)
    outputs = FLEET.exports("compute")
    out_file = tmp_path / "outputs.json"
    out_file.write_text(json.dumps(outputs))
    before = read_state(client, FLEET)
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    common = ["--outputs", str(out_file), "--endpoint-url", moto_server]
    fast = ["--wait-timeout", "20", "--poll-interval", "0.1"]
    log_file = tmp_path / "run.log"

    dry = _cli(["optimize", "--dry-run", *common, "--format", "json"], tmp_path, env)
    assert dry.returncode == 0, dry.stderr
    planned = json.loads(dry.stdout)
    assert planned["dryRun"] is True and {s["status"] for s in planned["services"]} == {"planned"}
    assert read_state(client, FLEET) == before

    run = _cli(["optimize", *common, *fast, "--format", "json", "--log-file", str(log_file)], tmp_path, env)
    assert run.returncode == 0, run.stderr
    applied = json.loads(run.stdout)
    assert {s["status"] for s in applied["services"]} == {"applied"}
    assert [s["changes"] for s in applied["services"]] == [s["changes"] for s in planned["services"]]
    journal = tmp_path / applied["journal"]
    assert journal.exists() and applied["journal"].startswith(".ecs-optimizer/journal-")
    # every log line is UTC ISO 8601, on stderr and in the log file alike
    stamped = lambda line: len(line) > 24 and line[10] == "T" and line[23] == "Z"  # 2026-01-01T00:00:00.000Z  # noqa: E731
    lines = log_file.read_text().splitlines()
    assert lines and all(stamped(line) for line in lines)
    assert [line for line in run.stderr.splitlines() if line] == lines

    after = read_state(client, FLEET)
    processing = after["services"][SERVICE["processing-service"]]
    assert processing["desiredCount"] <= 3
    assert {i["capacityProvider"] for i in processing["capacityProviderStrategy"]} == {"FARGATE", "FARGATE_SPOT"}
    assert (
        before["services"][SERVICE["processing-service"]]["capacityProviderStrategy"]
        != processing["capacityProviderStrategy"]
    )
    assert after["policies"][FLEET.repository("frontend").name]["rules"][1]["selection"]["countNumber"] == 5

    again = _cli(["optimize", *common, *fast, "--format", "json"], tmp_path, env)
    assert again.returncode == 0, again.stderr
    assert {s["status"] for s in json.loads(again.stdout)["services"]} == {"unchanged"}
    assert read_state(client, FLEET) == after

    realised = _cli(["savings", "--journal", str(journal), "--format", "json"], tmp_path, env)
    assert realised.returncode == 0, realised.stderr
    report = json.loads(realised.stdout)
    assert savings_errors(report) == []
    assert without_time(report) == without_time(applied["savings"])

    # rollback takes its endpoint from AWS_ENDPOINT_URL this time
    back = _cli(["rollback", "--journal", str(journal), *fast], tmp_path, {**env, "AWS_ENDPOINT_URL": moto_server})
    assert back.returncode == 0, back.stderr
    assert read_state(client, FLEET) == before
