"""iam_actions.json lists exactly the actions optimize, rollback and savings use."""

from __future__ import annotations

import ast
import importlib
import json
from importlib import resources
from pathlib import Path
from typing import Dict, Set

import pytest

from ecs_optimizer.apply import permissions
from ecs_optimizer.live.aws import CLIENTS
from ecs_optimizer_lab.fleet import FleetSpec
from helpers import FAST, write_json
from plan_snapshots import FLEET
from test_network_lever import seed_network


@pytest.fixture
def fleet() -> FleetSpec:
    """The plan's fleet with each service running its own repository's image, so that
    ``--allow-arm64`` reads manifests from ECR (the plan's placeholder image is public)."""
    return FLEET.running_repository_images()


def test_declared_actions_are_exactly_the_ones_used(outputs, history, run_cli, contexts, client, tmp_path, monkeypatch):
    # a repository without a policy: optimize creates one, rollback deletes it again
    client("ecr").delete_lifecycle_policy(repositoryName=FLEET.repository("frontend").name)
    monkeypatch.setenv("ENVIRONMENT_SUFFIX", FLEET.suffix)  # discovery: ListServices too
    journal = tmp_path / "j.jsonl"
    assert run_cli("optimize", *FAST, "--lookback-days", str(history), "--journal", str(journal)).exit_code == 0
    assert run_cli("savings", "--pricing", "live", "--lookback-days", str(history)).exit_code == 0
    # --allow-arm64 reads each image's manifest
    assert run_cli("savings", "--allow-arm64", "--lookback-days", str(history)).exit_code == 0
    assert run_cli("savings", "--journal", str(journal)).exit_code == 0
    # the measured network lever lists the VPC's NAT gateways and reads their metrics, and splits
    # their traffic from the flow logs by the AWS-managed prefix lists
    data = dict(seed_network(client, 1, history), vpcCidr="10.0.0.0/16")
    client("logs").create_log_group(logGroupName=data["flowLogGroupName"])
    network = write_json(tmp_path / "network.json", data)
    assert (
        run_cli(
            "savings", "--journal", str(journal), "--network-outputs", network, "--lookback-days", str(history)
        ).exit_code
        == 0
    )
    # the verify step of the network migration reads the endpoints' metrics (none deployed here: exit 4)
    assert (
        run_cli(
            "savings", "--network-outputs", network, "--migration-step", "verify", "--lookback-days", str(history)
        ).exit_code
        == 4
    )
    assert run_cli("rollback", "--journal", str(journal), *FAST).exit_code == 0
    used: Set[str] = set()
    for ctx in contexts:
        used |= set(ctx.recorder.counts)
    ungranted, unused = permissions.compare(used, permissions.load_actions())
    assert ungranted == set(), f"called but not in iam_actions.json: {sorted(ungranted)}"
    assert unused == set(), f"granted but never needed: {sorted(unused)}"
    # every write but the cluster lock's (SSM) is one a lever declares, and the file grants them
    assert {op.split(":")[0] for op in permissions.writes_outside_levers(used)} == {"ssm"}
    assert permissions.undeclared_lever_actions(permissions.load_actions()) == {}


def test_file_is_sorted_and_split_by_kind():
    data = json.loads(resources.files("ecs_optimizer.apply").joinpath("iam_actions.json").read_text())
    assert set(data) == {"read", "write"}
    for kind, actions in data.items():
        assert actions == sorted(set(actions)), kind
        assert all(permissions.kind(a) == kind for a in actions), kind


def test_the_file_is_what_the_declarations_generate():
    """iam_actions.json is generated: `python -m ecs_optimizer.apply.permissions --write`."""
    committed = resources.files("ecs_optimizer.apply").joinpath("iam_actions.json").read_text()
    assert committed == permissions.render(permissions.generate()), (
        "iam_actions.json is stale: run python -m ecs_optimizer.apply.permissions --write"
    )


def test_the_staleness_check_fails_on_a_stale_file_and_write_fixes_it(tmp_path, monkeypatch, capsys):
    path = tmp_path / "iam_actions.json"
    path.write_text(json.dumps({"read": ["ecs:DescribeServices"], "write": []}))
    monkeypatch.setattr(permissions, "actions_path", lambda: path)
    assert permissions.main(["--check"]) == 1
    assert "is stale: run python -m ecs_optimizer.apply.permissions --write" in capsys.readouterr().err
    assert permissions.main(["--write"]) == 0
    assert permissions.main(["--check"]) == 0
    assert json.loads(path.read_text())["write"] == sorted(permissions.generate().write)


def test_the_generator_collects_the_modules_and_the_implied_actions():
    declared = permissions.declarations()
    assert declared["ecs_optimizer.apply.lock"] == ("ssm:GetParameter", "ssm:PutParameter", "ssm:DeleteParameter")
    assert "lever task size" in declared
    generated = permissions.generate()
    assert {"ecs:TagResource", "iam:PassRole"} <= set(generated.write)  # implied by RegisterTaskDefinition
    assert "ecs:TagResource" not in {a for actions in declared.values() for a in actions}


#: client attribute of AwsContext -> the IAM service prefix
PREFIXES = {attr: service for service, attr in CLIENTS.items()}


def _camel(operation: str) -> str:
    return "".join(part.capitalize() for part in operation.split("_"))


def _calls(source: str) -> Set[str]:
    """``service:Operation`` for every ``<x>.<client>.<operation>`` (or ``.raw.<operation>``)
    a module reads, called or passed to a paginator, and every ``get_paginator("op")``."""
    found: Set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and not node.attr.startswith("_") and node.attr not in ("raw", "meta"):
            owner = node.value
            if isinstance(owner, ast.Attribute) and owner.attr == "raw":
                owner = owner.value
            if isinstance(owner, ast.Attribute) and owner.attr in PREFIXES and node.attr != "get_paginator":
                found.add(f"{PREFIXES[owner.attr]}:{_camel(node.attr)}")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get_paginator"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.add(f"*:{_camel(str(node.args[0].value))}")
    return found


def test_every_module_declares_the_calls_it_makes():
    """A module that calls AWS lists each call in its own IAM_ACTIONS, next to the code."""
    package = Path(importlib.import_module("ecs_optimizer").__file__).parent
    declared: Dict[str, Set[str]] = {m: set(a) for m, a in permissions.module_declarations().items()}
    missing = {}
    called: Set[str] = set()
    for path in sorted(package.rglob("*.py")):
        name = ".".join(path.relative_to(package.parent).with_suffix("").parts)
        calls = _calls(path.read_text(encoding="utf-8"))
        own = declared.get(name, set())
        undeclared = {
            c for c in calls if not (c in own or (c.startswith("*:") and any(a.endswith(c[1:]) for a in own)))
        }
        if undeclared:
            missing[name] = sorted(undeclared)
        called |= {next((a for a in own if a.endswith(c[1:])), c) if c.startswith("*:") else c for c in calls}
    assert missing == {}
    # and nothing is declared that no module calls (IAM's implied actions aside)
    assert permissions.needed_for(called) == permissions.generate().all


def test_the_call_finder_reads_client_calls_raw_calls_and_paginators():
    source = (
        "ctx.ecs.update_service(cluster='c')\n"
        "paginate(ctx.ecs.list_services, 'serviceArns')\n"
        "ctx.ecs.raw.register_task_definition(**kw)\n"
        "input_fields(ctx.cloudwatch.raw, 'PutMetricAlarm', alarm)\n"
        "client.get_paginator('get_products')\n"
        "self._ctx.autoscaling.describe_scalable_targets()\n"
    )
    assert _calls(source) == {
        "ecs:UpdateService",
        "ecs:ListServices",
        "ecs:RegisterTaskDefinition",
        "*:GetProducts",
        "application-autoscaling:DescribeScalableTargets",
    }
