"""rollback: restores the journal's before values exactly, is idempotent, validates input."""

from __future__ import annotations

import json

from ecs_optimizer_lab.readback import read_state
from helpers import FAST, ON_DEMAND_FLEET, mutating
from plan_snapshots import FLEET, SERVICE

FIXED = ["--policy", "fixed"]


def _optimize(run_cli, outputs_file, journal, *extra):
    result = run_cli("optimize", "--outputs", outputs_file, *FIXED, *FAST, "--journal", str(journal), *extra)
    assert result.exit_code == 0, result.stderr
    return result


@ON_DEMAND_FLEET
def test_rollback_restores_the_recorded_state_exactly(outputs_file, run_cli, client, tmp_path, contexts):
    before = read_state(client, FLEET)
    journal = tmp_path / "j.jsonl"
    _optimize(run_cli, outputs_file, journal)
    optimized = read_state(client, FLEET)
    processing = FLEET.service("processing-service")["serviceName"]
    assert optimized != before  # the Spot share too: the strategy's restore is exercised
    assert (
        optimized["services"][processing]["capacityProviderStrategy"]
        != before["services"][processing]["capacityProviderStrategy"]
    )
    result = run_cli("rollback", "--journal", str(journal), *FAST, "--format", "json")
    assert result.exit_code == 0, result.stderr
    after = read_state(client, FLEET)
    # every service, target, policy, alarm and lock is back; the run's revisions are retired
    assert after == before  # services, targets, policies, alarms, active revisions, locks
    for name in FLEET.catalog:
        retired = client("ecs").describe_task_definition(
            taskDefinition=f"{FLEET.service(name)['taskDefinitionFamily']}:2"
        )["taskDefinition"]
        assert retired["status"] == "INACTIVE"
    data = json.loads(result.stdout)
    assert {s["service"]: s["status"] for s in data["services"]} == {n: "restored" for n in FLEET.catalog}


def test_second_rollback_changes_nothing(outputs_file, run_cli, client, tmp_path, contexts):
    journal = tmp_path / "j.jsonl"
    _optimize(run_cli, outputs_file, journal)
    assert run_cli("rollback", "--journal", str(journal), *FAST).exit_code == 0
    state = read_state(client, FLEET)
    contexts.clear()
    result = run_cli("rollback", "--journal", str(journal), *FAST, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert mutating(contexts) == {}
    assert read_state(client, FLEET) == state
    assert {s["status"] for s in json.loads(result.stdout)["services"]} == {"unchanged"}


def test_rollback_leaves_a_desired_count_autoscaling_changed(outputs_file, run_cli, client, tmp_path):
    """The run set frontend's desired count 3 -> 2; autoscaling then scaled out to 5. Rollback
    restores the rest but not the count (autoscaling owns it now), and says so."""
    before = read_state(client, FLEET)
    journal = tmp_path / "j.jsonl"
    _optimize(run_cli, outputs_file, journal, "--service", "frontend")
    client("ecs").update_service(cluster=FLEET.cluster_name, service=SERVICE["frontend"], desiredCount=5)
    result = run_cli("rollback", "--journal", str(journal), *FAST, "--format", "json")
    assert result.exit_code == 0, result.stderr
    after = read_state(client, FLEET)
    assert after["services"][SERVICE["frontend"]]["desiredCount"] == 5
    assert (
        after["services"][SERVICE["frontend"]]["taskDefinition"]
        == before["services"][SERVICE["frontend"]]["taskDefinition"]
    )
    assert after["scalable"] == before["scalable"]
    frontend = json.loads(result.stdout)["services"][0]
    assert frontend["status"] == "restored"
    assert not any(c["field"] == "desiredCount" for c in frontend["changes"])
    assert "desired count 5 kept: autoscaling changed it after the run set 2" in frontend["reason"]
    # where the count is still what the run set, it is restored as before
    journal2 = tmp_path / "j2.jsonl"
    _optimize(run_cli, outputs_file, journal2, "--service", "api-gateway")
    assert read_state(client, FLEET)["services"][SERVICE["api-gateway"]]["desiredCount"] == 2
    assert run_cli("rollback", "--journal", str(journal2), *FAST).exit_code == 0
    assert (
        read_state(client, FLEET)["services"][SERVICE["api-gateway"]]["desiredCount"]
        == FLEET.service("api-gateway")["desiredCount"]
    )


def test_rollback_dry_run_lists_without_changing(outputs_file, run_cli, client, tmp_path, contexts):
    journal = tmp_path / "j.jsonl"
    _optimize(run_cli, outputs_file, journal, "--service", "frontend")
    state = read_state(client, FLEET)
    contexts.clear()
    result = run_cli("rollback", "--journal", str(journal), "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert mutating(contexts) == {}
    assert read_state(client, FLEET) == state
    assert "service.desiredCount" in result.stdout and "2 -> 3" in result.stdout
    assert "taskDefinition.retired" in result.stdout


def test_rollback_of_one_service_leaves_the_others(outputs_file, run_cli, client, tmp_path):
    before = read_state(client, FLEET)
    journal = tmp_path / "j.jsonl"
    _optimize(run_cli, outputs_file, journal)
    optimized = read_state(client, FLEET)
    assert run_cli("rollback", "--journal", str(journal), "--service", "frontend", *FAST).exit_code == 0
    after = read_state(client, FLEET)
    assert after["services"][SERVICE["frontend"]] == before["services"][SERVICE["frontend"]]
    assert after["services"][SERVICE["api-gateway"]] == optimized["services"][SERVICE["api-gateway"]]


def test_malformed_journal_exits_2(aws, run_cli, tmp_path, contexts):
    bad = tmp_path / "bad.jsonl"
    cases = {
        "not json": "{this is not json\n",
        "no header": json.dumps({"kind": "change"}) + "\n",
        "unknown resource": json.dumps({"kind": "run", "cluster": "c"})
        + "\n"
        + json.dumps(
            {
                "kind": "change",
                "time": "t",
                "service": "s",
                "resource": "bucket",
                "field": "f",
                "before": 1,
                "after": 2,
                "target": {},
            }
        )
        + "\n",
        "missing keys": json.dumps({"kind": "run", "cluster": "c"})
        + "\n"
        + json.dumps({"kind": "change", "service": "s"})
        + "\n",
        "empty": "",
    }
    for label, text in cases.items():
        bad.write_text(text)
        result = run_cli("rollback", "--journal", str(bad))
        assert result.exit_code == 2, (label, result.stderr)
        assert str(bad) in result.stderr and "Traceback" not in result.stderr
        assert result.stdout == ""
    result = run_cli("rollback", "--journal", str(tmp_path / "missing.jsonl"))
    assert result.exit_code == 2 and "cannot read" in result.stderr
    assert contexts == []  # rejected before any AWS client existed
