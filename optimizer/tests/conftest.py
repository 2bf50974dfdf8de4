"""Fixtures: an isolated AWS environment (moto, in-process), the fleet the dev plan declares
seeded into it through the lab, its utilization history, and a CLI runner that exposes the
call recorder of every AWS context the CLI opened."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest
from moto import mock_aws  # imported before any boto3 session exists, so moto can hook it

# isort: split
import boto3
from click.testing import CliRunner, Result

from ecs_optimizer.cli import context as cli_context
from ecs_optimizer.cli import main as cli_mod
from ecs_optimizer.live import aws as aws_mod
from ecs_optimizer_lab.emulator_server import FAIL_DEPLOYMENTS_ENV, apply_fidelity_patches
from ecs_optimizer_lab.fleet import FleetSpec
from ecs_optimizer_lab.history import fleet_reservations, write_history
from ecs_optimizer_lab.seeding import seed_fleet_through
from ecs_optimizer_lab.synthetic import fleet_traces
from helpers import write_json
from plan_snapshots import FLEET, SEED
from report_schema import optimize_errors, org_errors, savings_errors, step_errors


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Fake credentials, no real config files, no instance metadata, and a scratch cwd (the
    default journal directory is relative)."""
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "ENVIRONMENT_SUFFIX", FAIL_DEPLOYMENTS_ENV, "AWS_REGION"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", FLEET.region)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # keep the optimizer's own jittered backoff, but in milliseconds
    monkeypatch.setattr(aws_mod.Backoff, "delay", lambda self, attempt: 0.001 * (attempt + 1))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def aws(aws_env: Path):
    apply_fidelity_patches()
    with mock_aws():
        yield


@pytest.fixture
def session(aws: None) -> boto3.Session:
    return boto3.Session(region_name=FLEET.region)


@pytest.fixture
def client(session: boto3.Session) -> Callable[[str], Any]:
    cache: Dict[str, Any] = {}

    def get(name: str) -> Any:
        if name not in cache:
            cache[name] = session.client(name)
        return cache[name]

    return get


@pytest.fixture
def fleet() -> FleetSpec:
    """The fleet ``outputs`` seeds: the dev plan's. A test seeds a documented variant by
    parametrizing it directly, e.g. ``@pytest.mark.parametrize("fleet", [FLEET.on_demand()])``."""
    return FLEET


@pytest.fixture
def outputs(client: Callable[[str], Any], fleet: FleetSpec) -> Dict[str, Any]:
    """The fleet, seeded; its compute outputs (no CloudWatch history: see ``history``)."""
    seed_fleet_through(fleet, client, seed=SEED, concurrency=1)
    return fleet.exports("compute")


@pytest.fixture
def history(outputs: Dict[str, Any], client: Callable[[str], Any], fleet: FleetSpec) -> int:
    """Seven days of hourly utilization, one synthetic trace per service (lightly used, as a
    first run finds a fleet), with the Container Insights reservations: just enough for the
    metrics policy. Tests pass ``--lookback-days 7`` with it."""
    days = 7
    traces = fleet_traces(sorted(fleet.service_names.values()), SEED)
    write_history(
        client("cloudwatch"),
        fleet.cluster_name,
        traces,
        days,
        SEED,
        reservations=fleet_reservations(fleet),
        concurrency=1,
    )
    return days


@pytest.fixture
def outputs_file(outputs: Dict[str, Any], tmp_path: Path) -> str:
    return write_json(tmp_path / "compute-outputs.json", outputs)


@pytest.fixture
def contexts(monkeypatch: pytest.MonkeyPatch) -> List[aws_mod.AwsContext]:
    """Every AwsContext the CLI opens, so tests can read its call recorder."""
    opened: List[aws_mod.AwsContext] = []
    real = cli_context.open_aws

    def spy(settings: aws_mod.AwsSettings) -> aws_mod.AwsContext:
        ctx = real(settings)
        opened.append(ctx)
        return ctx

    monkeypatch.setattr(cli_context, "open_aws", spy)
    return opened


def _is_json(args: List[str], command: str) -> bool:
    """A report of ``command`` in JSON (for savings with ``--migration-step``, a step's report)."""
    return (
        bool(args)
        and args[0] == command
        and any(a == "--format" and i + 1 < len(args) and args[i + 1] == "json" for i, a in enumerate(args))
        and not any(a in ("-o", "--output") for a in args)
    )


@pytest.fixture
def run_cli() -> Callable[..., Result]:
    """Runs the CLI in-process. Every ``savings`` and ``optimize --format json`` run that prints a report is
    validated against the committed JSON Schema (the organization-wide one with --accounts,
    the migration step's with --migration-step)."""

    def run(*args: str) -> Result:
        result = CliRunner().invoke(cli_mod.cli, list(args), catch_exceptions=False)
        if _is_json(list(args), "savings") and result.stdout.strip():
            check = (
                org_errors if "--accounts" in args else step_errors if "--migration-step" in args else savings_errors
            )
            errors = check(json.loads(result.stdout))
            assert not errors, "savings JSON breaks the schema:\n" + "\n".join(errors)
        # --via-pulumi prints its own document (the pull-request comment and the expected preview)
        plan_document = _is_json(list(args), "optimize") and not {"--accounts", "--via-pulumi"} & set(args)
        if plan_document and result.stdout.strip():
            errors = optimize_errors(json.loads(result.stdout))
            assert not errors, "optimize JSON breaks the schema:\n" + "\n".join(errors)
        return result

    return run
