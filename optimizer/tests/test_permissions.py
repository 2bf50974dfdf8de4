"""iam_actions.json lists exactly the actions optimize, rollback and savings use."""

from __future__ import annotations

import json
from importlib import resources
from typing import Set

import pytest

from ecs_optimizer.apply import permissions
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
