"""Targeting: compute outputs, `pulumi stack output`, discovery by suffix, observability outputs."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ecs_optimizer.core.errors import BadInput
from ecs_optimizer.live import targets as tg
from ecs_optimizer.live.aws import AwsSettings, open_context
from ecs_optimizer.live.discovery import discover
from helpers import write_json
from plan_snapshots import FLEET


def test_outputs_file_gives_every_service_with_pattern_alarms(tmp_path):
    targets = tg.load_outputs_file(write_json(tmp_path / "o.json", FLEET.exports("compute")))
    assert targets.cluster_name == FLEET.cluster_name and targets.tier == "dev" and targets.region == FLEET.region
    assert set(targets.services) == set(FLEET.catalog)
    api = targets.services["api-gateway"]
    declared = FLEET.service("api-gateway")
    assert api.service_name == declared["serviceName"] and api.critical is declared["critical"]
    assert api.declared == tg.Declared(
        declared["cpu"],
        declared["memory"],
        declared["desiredCount"],
        declared["minCapacity"],
        declared["maxCapacity"],
        declared["baselineCpu"],
        declared["baselineMemory"],
    )
    assert {a.kind: a.name for a in api.alarms}["memoryHigh"] == "memory-high-api-gateway-dev"
    assert not any(a.required for a in api.alarms)


def test_baseline_outputs_are_optional_typed_and_a_valid_pair():
    data = FLEET.exports("compute")
    exported = data["services"]["api-gateway"]
    deployed = (exported["cpu"], exported["memory"])
    assert tg.parse_compute_outputs(data, "o").services["api-gateway"].declared.baseline == (
        exported["baselineCpu"],
        exported["baselineMemory"],
    )
    older = json.loads(json.dumps(data))  # an older stack exports no baseline: the deployed size is it
    del older["services"]["api-gateway"]["baselineCpu"], older["services"]["api-gateway"]["baselineMemory"]
    assert tg.parse_compute_outputs(older, "o").services["api-gateway"].declared.baseline == deployed
    # after a write-back and `pulumi up`: the smaller size deployed, the original as the baseline
    exported.update(cpu=256, memory=512, baselineCpu=deployed[0], baselineMemory=deployed[1])
    declared = tg.parse_compute_outputs(data, "o").services["api-gateway"].declared
    assert (declared.cpu, declared.memory, declared.baseline) == (256, 512, deployed)
    bad = [
        ({"baselineCpu": str(deployed[0])}, r"services\.api-gateway\.baselineCpu: expected an integer"),
        (
            {"baselineMemory": 512},
            rf"services\.api-gateway.*baselineCpu/baselineMemory: memory 512 MiB is not valid with cpu {deployed[0]}",
        ),
        ({"baselineMemory": None}, r"baselineCpu and baselineMemory come together; baselineMemory is missing"),
    ]
    for change, message in bad:
        broken = json.loads(json.dumps(data))
        broken["services"]["api-gateway"].update(change)
        with pytest.raises(BadInput, match=message):
            tg.parse_compute_outputs(broken, "o")


def test_discovery_by_suffix_matches_the_outputs(outputs, run_cli, monkeypatch):
    monkeypatch.setenv("ENVIRONMENT_SUFFIX", "dev")
    ctx = open_context(AwsSettings(region=FLEET.region))
    found = discover(ctx, "dev", None)
    declared = tg.parse_compute_outputs(outputs, "outputs")
    assert found.tier == "dev"  # from the cluster's Tier tag
    assert set(found.services) == set(declared.services)
    for name, target in found.services.items():
        other = declared.services[name]
        assert (
            target.service_name,
            target.critical,
            target.scalable_target_resource_id,
            target.repository_name,
            target.alarms,
        ) == (
            other.service_name,
            other.critical,
            other.scalable_target_resource_id,
            other.repository_name,
            other.alarms,
        )
    # and the CLI plans the same fleet without any outputs file
    result = run_cli("optimize", "--dry-run", "--policy", "fixed", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert [s["service"] for s in json.loads(result.stdout)["services"]] == list(FLEET.catalog)
    assert "discovery ENVIRONMENT_SUFFIX=dev" in result.stderr


def test_discovery_of_an_absent_environment_exits_3(aws, run_cli, monkeypatch):
    monkeypatch.setenv("ENVIRONMENT_SUFFIX", "qa")
    result = run_cli("optimize", "--dry-run")
    assert result.exit_code == 3 and "ecs-cluster-qa" in result.stderr


def test_discovery_unknown_service_exits_2(outputs, run_cli, monkeypatch):
    monkeypatch.setenv("ENVIRONMENT_SUFFIX", "dev")
    result = run_cli("optimize", "--dry-run", "--service", "billing")
    assert result.exit_code == 2 and "unknown service billing" in result.stderr


def test_observability_outputs_name_the_alarms(outputs_file, tmp_path, run_cli, client):
    obs = FLEET.exports("observability")
    path = write_json(tmp_path / "obs.json", obs)
    result = run_cli(
        "optimize",
        "--outputs",
        outputs_file,
        "--observability-outputs",
        path,
        "--dry-run",
        "--policy",
        "fixed",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    alarms = {
        c["resource"]
        for s in json.loads(result.stdout)["services"]
        for c in s["changes"]
        if c["resource"].startswith("alarm:")
    }
    assert "alarm:memory-high-frontend-dev" in alarms
    # an alarm the observability outputs promise must exist
    obs["alarms"]["frontend"]["cpuHigh"]["name"] = "cpu-high-frontend-renamed"
    result = run_cli(
        "optimize",
        "--outputs",
        outputs_file,
        "--observability-outputs",
        write_json(tmp_path / "obs2.json", obs),
        "--dry-run",
    )
    assert result.exit_code == 3 and "cpu-high-frontend-renamed" in result.stderr
    del obs["alarms"]["frontend"]["cpuHigh"]
    result = run_cli(
        "optimize",
        "--outputs",
        outputs_file,
        "--observability-outputs",
        write_json(tmp_path / "obs3.json", obs),
        "--dry-run",
    )
    assert result.exit_code == 2 and "alarms.frontend: missing key cpuHigh" in result.stderr


def test_pattern_alarms_that_do_not_exist_are_skipped(outputs_file, run_cli, client):
    client("cloudwatch").delete_alarms(AlarmNames=["cpu-high-frontend-dev"])
    result = run_cli("optimize", "--outputs", outputs_file, "--dry-run", "--policy", "fixed", "--format", "json")
    assert result.exit_code == 0, result.stderr
    frontend = json.loads(result.stdout)["services"][1]
    assert frontend["service"] == "frontend"
    assert not any(c["resource"] == "alarm:cpu-high-frontend-dev" for c in frontend["changes"])


def test_stack_runs_pulumi_in_stacks_compute(outputs, tmp_path, monkeypatch, run_cli):
    """A fake `pulumi` on PATH records its arguments and working directory."""
    (tmp_path / "repo" / "stacks" / "compute").mkdir(parents=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "call.txt"
    write_json(tmp_path / "out.json", outputs)
    script = bin_dir / "pulumi"
    script.write_text(f'#!/bin/sh\necho "$PWD $@" > {record}\ncat {tmp_path / "out.json"}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(tmp_path / "repo")
    result = run_cli("optimize", "--stack", "org/compute/dev", "--dry-run", "--policy", "fixed", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert record.read_text().strip() == (
        f"{tmp_path / 'repo' / 'stacks' / 'compute'} stack output --json --show-secrets=false --stack org/compute/dev"
    )
    assert json.loads(result.stdout)["cluster"] == FLEET.cluster_name
    script.write_text("#!/bin/sh\necho 'error: no stack named dev found' >&2\nexit 255\n")
    result = run_cli("optimize", "--stack", "dev", "--dry-run")
    assert result.exit_code == 2 and "no stack named dev found" in result.stderr


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.update(services={}), "services is empty"),
        (lambda d: d["services"]["frontend"].update(critical="yes"), "expected true or false"),
        (lambda d: d["services"]["frontend"].update(minCapacity=7), "minCapacity 7 and maxCapacity 6"),
        (lambda d: d["services"]["frontend"].update(cpu=300), "cpu 300 is not a Fargate CPU size"),
        (lambda d: d.update(contractVersion=True), "out.json: contractVersion: expected an integer, got true"),
        (lambda d: d.update(services=[]), "expected an object"),
    ],
)
def test_outputs_validation_names_key_and_value(edit, message):
    data = FLEET.exports("compute")
    edit(data)
    with pytest.raises(BadInput, match=message.replace("(", r"\(")):
        tg.parse_compute_outputs(data, "out.json")


def test_extra_keys_are_allowed():
    data = FLEET.exports("compute")
    data["somethingNew"] = {"a": 1}
    data["services"]["frontend"]["futureField"] = 3
    assert set(tg.parse_compute_outputs(data, "x").services) == set(FLEET.catalog)
