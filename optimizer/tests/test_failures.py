"""Throttling, failed deployments, the lock, and every bad input (exit codes 2, 3, 4, 5)."""

from __future__ import annotations

import json
from typing import Any, Dict, List

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from ecs_optimizer.cli import context as cli_context
from ecs_optimizer.cli import main as cli_mod
from ecs_optimizer_lab.emulator_server import FAIL_DEPLOYMENTS_ENV
from ecs_optimizer_lab.readback import read_state
from helpers import FAST, ON_DEMAND_FLEET, mutating, write_json
from plan_snapshots import FLEET, SERVICE

FIXED = ["--policy", "fixed"]


class _Raw:
    """Just enough of a urllib3 response for botocore to read a canned body."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any):
        yield self._body


def throttled_response(request: Any) -> AWSResponse:
    body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
    return AWSResponse(request.url, 400, {"x-amzn-ErrorType": "ThrottlingException"}, _Raw(body))


@pytest.fixture
def flaky(monkeypatch):
    """Throttle the first calls: one DescribeServices HTTP response (botocore's adaptive retries
    must absorb them) and one RegisterTaskDefinition raised before sending (only the
    optimizer's own backoff can absorb that)."""
    counts: Dict[str, int] = {"sent": 0, "raised": 0}
    real = cli_context.open_aws

    def before_send(request: Any, **_: Any):
        if counts["sent"] < 1:
            counts["sent"] += 1
            return throttled_response(request)
        return None

    def before_call(**_: Any):
        if counts["raised"] < 1:
            counts["raised"] += 1
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "RegisterTaskDefinition"
            )

    def opened(settings):
        ctx = real(settings)
        ctx.ecs.raw.meta.events.register_first("before-send.ecs.DescribeServices", before_send)
        ctx.ecs.raw.meta.events.register_first("before-call.ecs.RegisterTaskDefinition", before_call)
        return ctx

    monkeypatch.setattr(cli_context, "open_aws", opened)
    return counts


def test_throttling_on_the_first_calls_still_succeeds(outputs_file, run_cli, client, flaky):
    result = run_cli("optimize", "--outputs", outputs_file, *FIXED, *FAST, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert flaky == {"sent": 1, "raised": 1}
    assert {s["status"] for s in json.loads(result.stdout)["services"]} == {"applied"}
    assert "ThrottlingException, retrying" in result.stderr
    svc = client("ecs").describe_services(cluster=FLEET.cluster_name, services=[SERVICE["frontend"]])["services"][0]
    assert svc["desiredCount"] == 2


def test_failed_deployment_is_rolled_back_and_others_finish(outputs_file, run_cli, client, monkeypatch, tmp_path):
    monkeypatch.setenv(FAIL_DEPLOYMENTS_ENV, SERVICE["api-gateway"])
    before = read_state(client, FLEET)
    journal = tmp_path / "j.jsonl"
    result = run_cli(
        "optimize", "--outputs", outputs_file, *FIXED, *FAST, "--format", "json", "--journal", str(journal)
    )
    assert result.exit_code == 4, result.stderr
    data = json.loads(result.stdout)
    status = {s["service"]: s for s in data["services"]}
    assert status["api-gateway"]["status"] == "rolled_back"
    assert "circuit breaker" in status["api-gateway"]["reason"]
    assert status["frontend"]["status"] == status["processing-service"]["status"] == "applied"
    after = read_state(client, FLEET)
    name, target = SERVICE["api-gateway"], FLEET.service("api-gateway")["scalableTargetResourceId"]
    assert after["services"][name] == before["services"][name]
    assert after["scalable"][target] == before["scalable"][target]  # later steps never ran
    assert after["policies"][name] == before["policies"][name]
    cpu_high = FLEET.service_alarms("api-gateway")["cpuHigh"]["AlarmName"]
    assert after["alarms"][cpu_high] == before["alarms"][cpu_high]
    assert after["services"][SERVICE["frontend"]]["desiredCount"] == 2
    assert "partial failure: api-gateway rolled_back" in result.stderr
    # the savings count only what stayed applied
    api = next(s for s in data["savings"]["services"] if s["service"] == "api-gateway")
    assert api["monthlySavings"] == 0
    # a later rollback of the journal restores the rest and leaves api-gateway as it is
    monkeypatch.delenv(FAIL_DEPLOYMENTS_ENV)
    assert run_cli("rollback", "--journal", str(journal), *FAST).exit_code == 0
    assert read_state(client, FLEET) == before


def test_a_failed_restore_counts_no_saving(outputs_file, run_cli, client, monkeypatch):
    """Deployment failed and putting the service back failed too: its state is unknown, so the
    report counts it as unchanged (after = before), not at its planned saving."""
    from ecs_optimizer.levers.base import RestoreFailed
    from ecs_optimizer.levers.service_update import ServiceUpdate

    def broken(self, restorer, step, notes):
        raise RestoreFailed("injected: the service could not be put back")

    monkeypatch.setenv(FAIL_DEPLOYMENTS_ENV, SERVICE["api-gateway"])
    monkeypatch.setattr(ServiceUpdate, "restore", broken)
    result = run_cli("optimize", "--outputs", outputs_file, *FIXED, *FAST, "--format", "json")
    assert result.exit_code == 4, result.stderr
    data = json.loads(result.stdout)
    api = next(s for s in data["services"] if s["service"] == "api-gateway")
    assert api["status"] == "failed" and "restoring failed" in api["reason"] and "injected" in api["reason"]
    saving = next(s for s in data["savings"]["services"] if s["service"] == "api-gateway")
    assert saving["monthlySavings"] == 0
    assert next(s for s in data["savings"]["services"] if s["service"] == "frontend")["monthlySavings"] > 0


def test_lock_held_exits_5_and_force_unlock_clears_it(outputs_file, run_cli, client, contexts):
    ssm = client("ssm")
    owner = {"host": "ci-runner-7", "pid": 4242, "user": "deploy", "time": "2026-01-01T00:00:00.000Z"}
    ssm.put_parameter(Name=f"/ecs-optimizer/lock/{FLEET.cluster_name}", Value=json.dumps(owner), Type="String")
    before = read_state(client, FLEET)
    result = run_cli("optimize", "--outputs", outputs_file, *FIXED, *FAST)
    assert result.exit_code == 5
    assert "deploy@ci-runner-7 pid 4242 since 2026-01-01T00:00:00.000Z" in result.stderr
    assert "--force-unlock" in result.stderr
    assert read_state(client, FLEET) == before
    assert set(mutating(contexts)) == {"ssm:PutParameter"}  # only the refused lock attempt
    result = run_cli("optimize", "--outputs", outputs_file, *FIXED, *FAST, "--force-unlock")
    assert result.exit_code == 0, result.stderr
    assert read_state(client, FLEET)["locks"] == []


def test_dry_run_takes_no_lock(outputs_file, run_cli, client):
    client("ssm").put_parameter(Name=f"/ecs-optimizer/lock/{FLEET.cluster_name}", Value="{}", Type="String")
    assert run_cli("optimize", "--outputs", outputs_file, "--dry-run", *FIXED).exit_code == 0


def _bad_outputs(outputs: Dict[str, Any]) -> Dict[str, Any]:
    def edit(fn):
        data = json.loads(json.dumps(outputs))
        fn(data)
        return data

    return {
        "missing key": (
            edit(lambda d: d["services"]["frontend"].pop("scalableTargetResourceId")),
            "scalableTargetResourceId",
        ),
        "missing top key": (edit(lambda d: d.pop("clusterName")), "clusterName"),
        "bad contract version": (edit(lambda d: d.update(contractVersion=2)), "contractVersion 2 is not supported"),
        "invalid cpu/memory": (
            edit(lambda d: d["services"]["frontend"].update(memory=8192)),
            "memory 8192 MiB is not valid with cpu 512",
        ),
        "wrong type": (edit(lambda d: d["services"]["api-gateway"].update(cpu="1024")), "services.api-gateway.cpu"),
        "bad tier": (edit(lambda d: d.update(tier="staging")), 'tier "staging"'),
    }


def test_every_bad_input_exits_2_with_nothing_changed(outputs, outputs_file, run_cli, client, tmp_path, contexts):
    before = read_state(client, FLEET)
    cases: List[tuple] = []
    for label, (data, message) in _bad_outputs(outputs).items():
        cases.append((label, ["--outputs", write_json(tmp_path / f"{label.replace('/', '-')}.json", data)], message))
    malformed = tmp_path / "malformed.json"
    malformed.write_text('{"contractVersion": 1,')
    used_journal = tmp_path / "used.jsonl"
    used_journal.write_text("")
    cases += [
        ("malformed JSON", ["--outputs", str(malformed)], "not valid JSON"),
        ("missing file", ["--outputs", str(tmp_path / "nope.json")], "cannot read"),
        ("unknown service", ["--outputs", outputs_file, "--service", "billing"], "unknown service billing"),
        ("outputs and stack", ["--outputs", outputs_file, "--stack", "dev"], "pass one of them"),
        ("unknown format", ["--outputs", outputs_file, "--format", "yaml"], "yaml"),
        ("bad spot share", ["--outputs", outputs_file, "--spot-share", "0.5"], "0.5"),
        (
            "bad observability outputs",
            ["--outputs", outputs_file, "--observability-outputs", str(malformed)],
            "not valid JSON",
        ),
        ("no targets at all", [], "ENVIRONMENT_SUFFIX"),
        ("journal exists", ["--outputs", outputs_file, "--journal", str(used_journal)], "the file exists"),
    ]
    for label, args, message in cases:
        result = run_cli("optimize", *args, *FIXED, *FAST)
        assert result.exit_code == 2, (label, result.stdout, result.stderr)
        assert message in result.stderr, (label, result.stderr)
        assert "Traceback" not in result.stderr and result.stdout == "", label
    assert mutating(contexts) == {}
    assert read_state(client, FLEET) == before


def test_missing_credentials_exit_2(outputs_file, run_cli, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = run_cli("optimize", "--outputs", outputs_file, "--dry-run")
    assert result.exit_code == 2
    assert "no AWS credentials found" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_profile_exit_2(outputs_file, run_cli):
    result = run_cli("savings", "--outputs", outputs_file, "--profile", "nobody")
    assert result.exit_code == 2 and "AWS profile not found: nobody" in result.stderr


def test_missing_pulumi_exits_2(aws, run_cli, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    result = run_cli("optimize", "--stack", "dev", "--dry-run")
    assert result.exit_code == 2 and "pulumi CLI" in result.stderr


def test_targets_missing_in_aws_exit_3(outputs, tmp_path, run_cli, client):
    gone = json.loads(json.dumps(outputs))
    gone["services"]["frontend"]["serviceName"] = "frontend-old-dev"
    result = run_cli("optimize", "--outputs", write_json(tmp_path / "o.json", gone), "--dry-run", *FIXED)
    assert result.exit_code == 3 and "frontend-old-dev" in result.stderr
    other = json.loads(json.dumps(outputs))
    other["clusterName"] = "ecs-cluster-nope"
    result = run_cli("optimize", "--outputs", write_json(tmp_path / "p.json", other), "--dry-run", *FIXED)
    assert result.exit_code == 3 and "ecs-cluster-nope" in result.stderr
    client("ecr").delete_lifecycle_policy(repositoryName=FLEET.repository("frontend").name)  # a missing policy is fine
    client("ecr").delete_repository(repositoryName=FLEET.repository("api-gateway").name, force=True)
    result = run_cli("optimize", "--outputs", write_json(tmp_path / "q.json", outputs), "--dry-run", *FIXED)
    assert result.exit_code == 3 and "ECR repository api-gateway-dev" in result.stderr


def test_unexpected_errors_exit_1_in_one_line(outputs_file, run_cli, monkeypatch):
    def boom(*_a, **_k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(cli_mod, "run_optimize", boom)
    result = run_cli("optimize", "--outputs", outputs_file, "--dry-run")
    assert result.exit_code == 1
    assert "unexpected error: RuntimeError: disk on fire" in result.stderr
    assert "Traceback" not in result.stderr
    result = run_cli("optimize", "--outputs", outputs_file, "--dry-run", "-v")
    assert "Traceback" in result.stderr


def test_a_lock_release_error_still_prints_the_report(outputs_file, run_cli, client, monkeypatch):
    from ecs_optimizer.apply import lock as lock_mod

    def broken_release(self):
        raise ClientError({"Error": {"Code": "InternalError", "Message": "SSM is down"}}, "DeleteParameter")

    monkeypatch.setattr(lock_mod.ClusterLock, "release", broken_release)
    result = run_cli("optimize", "--outputs", outputs_file, *FIXED, *FAST, "--format", "json")
    assert result.exit_code == 1, result.stderr
    data = json.loads(result.stdout)  # the report of what was applied
    assert {s["status"] for s in data["services"]} == {"applied"}
    assert "releasing the lock /ecs-optimizer/lock/ecs-cluster-dev failed" in result.stderr
    assert "--force-unlock" in result.stderr


@ON_DEMAND_FLEET  # on-demand, so that a non-critical service would move to Spot
def test_discovery_treats_an_untagged_service_as_critical(outputs, run_cli, client, monkeypatch):
    ecs = client("ecs")
    arn = ecs.describe_services(cluster=FLEET.cluster_name, services=[SERVICE["processing-service"]])["services"][0][
        "serviceArn"
    ]
    ecs.untag_resource(resourceArn=arn, tagKeys=["Critical"])
    monkeypatch.setenv("ENVIRONMENT_SUFFIX", FLEET.suffix)
    result = run_cli("optimize", "--policy", "fixed", "--dry-run", "--format", "json")
    assert result.exit_code == 0, result.stderr
    services = {s["service"]: s for s in json.loads(result.stdout)["services"]}
    fields = {c["field"] for c in services["processing-service"]["changes"]}
    assert "capacityProviderStrategy" not in fields  # kept on-demand
    assert "cpu" in fields  # still rightsized


def test_progress_lines_name_the_deploying_service(outputs_file, run_cli):
    result = run_cli("optimize", "--outputs", outputs_file, "--service", "frontend", *FIXED, *FAST)
    assert result.exit_code == 0, result.stderr
    line = next(x for x in result.stderr.splitlines() if "deploying frontend:" in x)
    assert "deployment completed" in line and "elapsed" in line
