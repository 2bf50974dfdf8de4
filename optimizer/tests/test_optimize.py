"""optimize: dry run, a real run read back from AWS, untouched fields, idempotence, journal."""

from __future__ import annotations

import json
from pathlib import Path

from ecs_optimizer.planning import alarm_thresholds
from ecs_optimizer.planning.alarm_basis import BASIS_TAGS, recorded_basis
from ecs_optimizer_lab.history import fleet_reservations, write_history
from ecs_optimizer_lab.readback import read_state
from ecs_optimizer_lab.synthetic import TraceSpec
from helpers import ALARM_VOLATILE_FIELDS, FAST, ON_DEMAND_FLEET, mutating
from plan_snapshots import FLEET
from report_schema import savings_errors

FIXED = ["--policy", "fixed"]
#: The documented baseline cut (docs/architecture.md, policy fixed): CPU/memory before -> after.
DOCUMENTED_CUT = {(512, 1024): (256, 512), (1024, 2048): (512, 1024)}
#: What the fixed policy makes of each service of the plan's fleet.
FIXED_SIZES = {
    name: DOCUMENTED_CUT[(FLEET.service(name)["cpu"], FLEET.service(name)["memory"])] for name in FLEET.catalog
}
#: The scaling policies' predefined metrics behind the cpu-high and memory-high alarms.
ALARM_METRICS = {"cpuHigh": "ECSServiceAverageCPUUtilization", "memoryHigh": "ECSServiceAverageMemoryUtilization"}


@ON_DEMAND_FLEET
def test_dry_run_makes_no_mutating_call_and_prints_the_plan(outputs_file, run_cli, contexts, client):
    before = read_state(client, FLEET)
    result = run_cli("optimize", "--outputs", outputs_file, "--dry-run", *FIXED, *FAST)
    assert result.exit_code == 0, result.stderr
    assert contexts and contexts[0].dry_run
    assert mutating(contexts) == {}
    assert contexts[0].recorder.total() > 0  # it did read
    assert read_state(client, FLEET) == before
    out = result.stdout
    assert "dry run: nothing was changed" in out
    assert "Migration order" in out and "1. register a task-definition revision" in out
    frontend = FLEET.service("frontend")
    assert "taskDefinition.cpu" in out and f"{frontend['cpu']} -> {FIXED_SIZES['frontend'][0]}" in out
    # the documented count and retention targets: desired 3 -> 2, min 2 -> 1, keep 10 -> 5
    assert (frontend["desiredCount"], frontend["minCapacity"]) == (3, 2)
    assert FLEET.registry_outputs["repositories"]["frontend"]["keepImages"] == 10
    assert "service.desiredCount" in out and "3 -> 2" in out
    assert "scalableTarget.minCapacity" in out and "2 -> 1" in out
    assert "ecrLifecyclePolicy.keepImages" in out and "10 -> 5" in out
    # the non-critical service moves from on-demand to the Spot share (the cell wraps at its width)
    assert "service.capacityProviderStrategy" in out
    assert "FARGATE weight 1 -> FARGATE base 1 weight 0, FARGATE_SPOT weight" in out
    # stdout is only the report: no log lines
    assert "INFO" not in out and "INFO" in result.stderr
    assert not Path(".ecs-optimizer").exists()


def test_dry_run_json_has_the_documented_shape(outputs_file, run_cli):
    result = run_cli("optimize", "--outputs", outputs_file, "--dry-run", "--format", "json", *FIXED)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {
        "schemaVersion",
        "environment",
        "cluster",
        "account",
        "region",
        "generatedAt",
        "dryRun",
        "changesPending",
        "policy",
        "journal",
        "services",
        "savings",
        "oomEvidence",
    }
    assert data["changesPending"] is True and data["environment"] == "dev"
    assert data["cluster"] == FLEET.cluster_name and data["dryRun"] is True and data["policy"] == "fixed"
    # the dev plan's compute layer names its task-stop log: the run read it (no OOM stops there)
    stop_log = FLEET.exports("compute")["taskStopLogGroupName"]
    assert data["oomEvidence"]["read"] is True and data["oomEvidence"]["logGroup"] == stop_log
    assert data["oomEvidence"]["oomStops"] == 0
    assert data["journal"] is None
    assert [s["service"] for s in data["services"]] == list(FLEET.catalog)
    for svc in data["services"]:
        assert set(svc) == {"service", "status", "changes", "reason", "finding"}
        assert svc["finding"]["finding"] in ("Overprovisioned", "Underprovisioned", "Optimized", "Idle")
        assert svc["status"] == "planned"
        for change in svc["changes"]:
            assert set(change) == {"resource", "field", "before", "after"}
    api = next(s for s in data["services"] if s["service"] == "api-gateway")
    got = {(c["resource"], c["field"]): (c["before"], c["after"]) for c in api["changes"]}
    declared = FLEET.service("api-gateway")
    assert got[("taskDefinition", "cpu")] == (declared["cpu"], FIXED_SIZES["api-gateway"][0])
    assert got[("taskDefinition", "memory")] == (declared["memory"], FIXED_SIZES["api-gateway"][1])
    running_low = FLEET.service_alarms("api-gateway")["runningTasksLow"]
    assert running_low["Threshold"] == declared["minCapacity"]  # the floor follows the minimum
    assert got[(f"alarm:{running_low['AlarmName']}", "threshold")] == (float(declared["minCapacity"]), 1.0)
    # critical service: no strategy change
    assert ("service", "capacityProviderStrategy") not in got
    assert savings_errors(data["savings"]) == []  # the savings report's own schema
    assert data["savings"]["monthlySavings"] > 0


def _strategy(items):
    return {i["capacityProvider"]: (i.get("base", 0), i["weight"]) for i in items or []}


def test_real_run_is_read_back_from_aws(outputs_file, run_cli, client, tmp_path):
    journal = tmp_path / "journal.jsonl"
    result = run_cli("optimize", "--outputs", outputs_file, *FIXED, *FAST, "--journal", str(journal))
    assert result.exit_code == 0, result.stderr
    assert f"Journal: {journal}" in result.stdout
    ecs, aas, ecr, cw = (client(s) for s in ("ecs", "application-autoscaling", "ecr", "cloudwatch"))
    services = {
        s["serviceName"]: s
        for s in ecs.describe_services(cluster=FLEET.cluster_name, services=list(FLEET.service_names.values()))[
            "services"
        ]
    }
    targets = {t["ResourceId"]: t for t in aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]}
    alarms = {a["AlarmName"]: a for a in cw.describe_alarms()["MetricAlarms"]}
    for name in FLEET.catalog:
        declared = FLEET.service(name)
        svc = services[declared["serviceName"]]
        assert svc["taskDefinition"].endswith(f"task-definition/{declared['taskDefinitionFamily']}:2")
        td = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
        assert (int(td["cpu"]), int(td["memory"])) == FIXED_SIZES[name]
        assert svc["desiredCount"] == 2
        if declared["critical"]:  # kept as deployed
            assert _strategy(svc["capacityProviderStrategy"]) == _strategy(
                FLEET.service_request(name)["capacityProviderStrategy"]
            )
        else:
            # one on-demand base task, every task beyond it on Spot (the default share)
            assert _strategy(svc["capacityProviderStrategy"]) == {"FARGATE": (1, 0), "FARGATE_SPOT": (0, 1)}
        target = targets[declared["scalableTargetResourceId"]]
        assert (target["MinCapacity"], target["MaxCapacity"]) == (1, declared["maxCapacity"])
        policy = json.loads(ecr.get_lifecycle_policy(repositoryName=declared["repositoryName"])["lifecyclePolicyText"])
        expected = json.loads(FLEET.repository(name).lifecycle_policy or "")
        keep = [r for r in expected["rules"] if r["selection"]["countType"] == "imageCountMoreThan"]
        assert len(keep) == 1 and keep[0]["selection"]["countNumber"] == 10
        keep[0]["selection"]["countNumber"] = 5
        assert policy == expected  # only the count changed
        declared_alarms = FLEET.service_alarms(name)
        assert alarms[declared_alarms["runningTasksLow"]["AlarmName"]]["Threshold"] == 1.0
        # above the autoscaling targets by the margin, so a service held at its target is quiet
        scaling = FLEET.scaling_targets(name)
        for kind, metric in ALARM_METRICS.items():
            assert (
                alarms[declared_alarms[kind]["AlarmName"]]["Threshold"]
                == scaling[metric] + alarm_thresholds.ALARM_TARGET_MARGIN
            )
        # the load balancer's alarms keep their declared thresholds
        for kind in ("http5xx", "unhealthyHosts"):
            if kind in declared_alarms:
                request = declared_alarms[kind]
                assert alarms[request["AlarmName"]]["Threshold"] == request["Threshold"]
    assert any("http5xx" in FLEET.service_alarms(n) for n in FLEET.catalog)  # the case above is exercised
    # the scaling policies registered on the targets are all still there
    policies = aas.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]
    assert {p["PolicyName"] for p in policies} == {p["PolicyName"] for p in FLEET.scaling_policies}
    # the lock is released
    assert read_state(client, FLEET)["locks"] == []


def test_new_revision_copies_every_other_field(outputs_file, run_cli, client):
    ecs = client("ecs")
    old = ecs.describe_task_definition(
        taskDefinition=FLEET.service("api-gateway")["taskDefinitionFamily"] + ":1", include=["TAGS"]
    )
    assert run_cli("optimize", "--outputs", outputs_file, *FIXED, *FAST).exit_code == 0
    new = ecs.describe_task_definition(
        taskDefinition=FLEET.service("api-gateway")["taskDefinitionFamily"] + ":2", include=["TAGS"]
    )
    # every tag is copied; the run's id is added, so a revision whose response was lost is found,
    # and the basis of the alarm thresholds: the size and thresholds before the first resize
    run_tag = [t for t in new["tags"] if t["key"] == "ecs-optimizer:run"]
    assert len(run_tag) == 1 and run_tag[0]["value"]
    added = {"ecs-optimizer:run", *BASIS_TAGS}
    assert [t for t in new["tags"] if t["key"] not in added] == old["tags"] and old["tags"]
    basis = recorded_basis(new["tags"])
    declared = FLEET.service("api-gateway")
    assert basis is not None and (basis.cpu, basis.memory) == (declared["cpu"], declared["memory"])
    alarms = FLEET.service_alarms("api-gateway")
    assert basis.thresholds == {k: alarms[k]["Threshold"] for k in ("cpuHigh", "memoryHigh")}
    differing = {
        k
        for k in set(old["taskDefinition"]) | set(new["taskDefinition"])
        if old["taskDefinition"].get(k) != new["taskDefinition"].get(k)
    }
    assert differing == {"cpu", "memory", "revision", "taskDefinitionArn"}
    # every field the plan declares (tags aside, compared above) is carried over unchanged
    copied = set(FLEET.task_definition("api-gateway")) - {"cpu", "memory", "tags"}
    assert {"containerDefinitions", "executionRoleArn", "taskRoleArn", "volumes", "runtimePlatform"} <= copied
    for key in sorted(copied):
        assert new["taskDefinition"][key] == old["taskDefinition"][key]


def test_alarms_keep_every_field_but_the_threshold(outputs_file, run_cli, client):
    cw = client("cloudwatch")
    before = {a["AlarmName"]: a for a in cw.describe_alarms()["MetricAlarms"]}
    tags_before = {n: cw.list_tags_for_resource(ResourceARN=a["AlarmArn"])["Tags"] for n, a in before.items()}
    assert run_cli("optimize", "--outputs", outputs_file, *FIXED, *FAST).exit_code == 0
    after = {a["AlarmName"]: a for a in cw.describe_alarms()["MetricAlarms"]}
    volatile = ALARM_VOLATILE_FIELDS
    changed = 0
    for name, old in before.items():
        new = after[name]
        assert {k: v for k, v in new.items() if k not in volatile} == {
            k: v for k, v in old.items() if k not in volatile
        }, name
        assert cw.list_tags_for_resource(ResourceARN=new["AlarmArn"])["Tags"] == tags_before[name]
        changed += new["Threshold"] != old["Threshold"]
    # cpu-high and memory-high move to their scaling target + margin where they are not there
    # yet, running-tasks-low follows the minimum (2 -> 1) of each service; ALB alarms untouched
    expected = 0
    for name in FLEET.catalog:
        declared, scaling = FLEET.service_alarms(name), FLEET.scaling_targets(name)
        expected += sum(
            declared[kind]["Threshold"] != scaling[metric] + alarm_thresholds.ALARM_TARGET_MARGIN
            for kind, metric in ALARM_METRICS.items()
        )
        expected += declared["runningTasksLow"]["Threshold"] != 1.0
    assert expected > 0 and changed == expected


def test_second_run_is_a_no_op(outputs_file, history, run_cli, contexts, client):
    week = ["--lookback-days", str(history)]
    first = run_cli("optimize", "--outputs", outputs_file, *week, *FAST, "--format", "json")
    assert first.exit_code == 0, first.stderr
    assert all("p95 CPU" in s["reason"] for s in json.loads(first.stdout)["services"])  # sized by metrics
    state = read_state(client, FLEET)
    contexts.clear()
    result = run_cli("optimize", "--outputs", outputs_file, "--format", "json", *week, *FAST)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [s["status"] for s in data["services"]] == ["unchanged"] * len(FLEET.catalog)
    assert all(s["changes"] == [] for s in data["services"])
    assert data["journal"] is None
    assert mutating(contexts) == {}
    assert read_state(client, FLEET) == state


def test_fixed_does_not_ratchet_after_write_back_and_pulumi_up(
    outputs, outputs_file, run_cli, contexts, client, tmp_path
):
    """Run 1 halves; after --write-config and `pulumi up` the outputs declare the halved size
    and export the original as baselineCpu/baselineMemory: run 2 halves that, i.e. nothing."""
    first = run_cli("optimize", "--outputs", outputs_file, *FIXED, *FAST, "--format", "json")
    assert first.exit_code == 0, first.stderr
    assert [s["status"] for s in json.loads(first.stdout)["services"]] == ["applied"] * len(FLEET.catalog)
    state = read_state(client, FLEET)
    applied = {}
    for name in FLEET.catalog:
        family = FLEET.service(name)["serviceName"]
        live = client("ecs").describe_task_definition(taskDefinition=state["services"][family]["taskDefinition"])[
            "taskDefinition"
        ]
        applied[name] = (int(live["cpu"]), int(live["memory"]))
    assert applied == FIXED_SIZES
    # what the compute stack outputs after the write-back and `pulumi up`
    redeployed = json.loads(json.dumps(outputs))
    for name, spec in redeployed["services"].items():
        family = spec["serviceName"]
        spec.update(
            baselineCpu=spec["cpu"],
            baselineMemory=spec["memory"],
            cpu=applied[name][0],
            memory=applied[name][1],
            taskDefinitionArn=state["services"][family]["taskDefinition"],
            desiredCount=state["services"][family]["desiredCount"],
            minCapacity=state["scalable"][spec["scalableTargetResourceId"]][0],
        )
    after_up = tmp_path / "outputs-after-up.json"
    after_up.write_text(json.dumps(redeployed))
    contexts.clear()
    second = run_cli("optimize", "--outputs", str(after_up), *FIXED, *FAST, "--format", "json")
    assert second.exit_code == 0, second.stderr
    data = json.loads(second.stdout)
    assert [s["status"] for s in data["services"]] == ["unchanged"] * len(FLEET.catalog)
    assert mutating(contexts) == {}
    assert read_state(client, FLEET) == state
    # the ratchet this prevents: an older stack (no baseline outputs) declares the halved size
    for spec in redeployed["services"].values():
        del spec["baselineCpu"], spec["baselineMemory"]
    after_up.write_text(json.dumps(redeployed))
    old = run_cli("optimize", "--outputs", str(after_up), *FIXED, *FAST, "--dry-run", "--format", "json")
    processing = next(s for s in json.loads(old.stdout)["services"] if s["service"] == "processing-service")
    assert processing["status"] == "planned"
    halved_again = DOCUMENTED_CUT[FIXED_SIZES["processing-service"]]
    assert any(c["field"] == "cpu" and c["after"] == halved_again[0] for c in processing["changes"])


@ON_DEMAND_FLEET
def test_journal_records_every_write_ahead_of_the_call(outputs_file, run_cli, tmp_path):
    journal = tmp_path / "j.jsonl"
    result = run_cli(
        "optimize",
        "--outputs",
        outputs_file,
        "--service",
        "processing-service",
        *FIXED,
        *FAST,
        "--journal",
        str(journal),
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    header = lines[0]
    assert header["kind"] == "run" and header["cluster"] == FLEET.cluster_name
    assert header["account"] == FLEET.account and header["region"] == FLEET.region and header["runId"]
    assert lines[1]["kind"] == "snapshot" and lines[1]["service"] == "processing-service"
    # every intent is followed by its outcome before the next intent: one call at a time
    ops = [line for line in lines if line["kind"] in ("intent", "outcome")]
    assert [o["kind"] for o in ops] == ["intent", "outcome"] * (len(ops) // 2)
    assert all(i["op"] == o["op"] and o["result"] == "applied" for i, o in zip(ops[::2], ops[1::2]))
    operations = [i["operation"] for i in ops[::2]]
    assert operations[:4] == ["RegisterTaskDefinition", "UpdateService", "RegisterScalableTarget", "PutLifecyclePolicy"]
    assert set(operations[4:]) == {"PutMetricAlarm"} and len(operations) == 6  # memory-high, running-tasks-low
    changes = [c for i in ops[::2] for c in i["changes"]]
    assert all(c["time"].endswith("Z") and c["service"] == "processing-service" for c in changes)
    fields = {(c["resource"], c["field"]): (c["before"], c["after"]) for c in changes}
    assert fields[("service", "desiredCount")] == (3, 2)
    # the new revision's ARN is known only once AWS answered: the outcome carries it
    assert fields[("taskDefinition", "revision")][1] is None
    assert ops[1]["after"]["revision"].endswith(f"{FLEET.service('processing-service')['taskDefinitionFamily']}:2")
    on_demand = FLEET.on_demand().capacity_providers["defaultCapacityProviderStrategy"]
    assert fields[("service", "capacityProviderStrategy")][0] == on_demand
    # only the one service was touched
    data = json.loads(result.stdout)
    assert [s["service"] for s in data["services"]] == ["processing-service"]


def test_auto_policy_never_cuts_below_observed_need(outputs_file, client, run_cli):
    """A busy service (90% CPU of its reservation, three days) is not halved by auto."""
    frontend = FLEET.service("frontend")
    write_history(
        client("cloudwatch"),
        FLEET.cluster_name,
        {frontend["serviceName"]: TraceSpec("steady", cpu=90.0, memory=40.0)},
        days=3,
        reservations=fleet_reservations(FLEET),
        concurrency=1,
    )
    result = run_cli("optimize", "--outputs", outputs_file, "--service", "frontend", "--dry-run", "--format", "json")
    assert result.exit_code == 0, result.stderr
    svc = json.loads(result.stdout)["services"][0]
    sizes = {c["field"]: c["after"] for c in svc["changes"] if c["resource"] == "taskDefinition"}
    # the need (~0.9 of today's CPU, times today's tasks) would not fit the fixed cut: no cut
    assert sizes.get("cpu", frontend["cpu"]) >= frontend["cpu"], svc
    assert "history" in svc["reason"]
