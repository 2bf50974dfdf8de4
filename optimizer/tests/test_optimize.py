"""optimize: dry run, a real run read back from AWS, untouched fields, idempotence, journal."""

from __future__ import annotations

import json
from pathlib import Path

import fleet
from ecs_optimizer import alarm_thresholds
from ecs_optimizer.report_schema import savings_errors
from helpers import FAST, mutating

FIXED = ["--policy", "fixed"]
#: The documented baseline cut for a dev fleet (docs/architecture.md, policy fixed).
FIXED_SIZES = {"frontend": (256, 512), "api-gateway": (512, 1024), "processing-service": (1024, 2048)}


def test_dry_run_makes_no_mutating_call_and_prints_the_plan(outputs_file, run_cli, contexts, client):
    before = fleet.read_state(client)
    result = run_cli("optimize", "--outputs", outputs_file, "--dry-run", *FIXED, *FAST)
    assert result.exit_code == 0, result.stderr
    assert contexts and contexts[0].dry_run
    assert mutating(contexts) == {}
    assert contexts[0].recorder.total() > 0  # it did read
    assert fleet.read_state(client) == before
    out = result.stdout
    assert "dry run: nothing was changed" in out
    assert "Migration order" in out and "1. register a task-definition revision" in out
    assert "taskDefinition.cpu" in out and "512 -> 256" in out
    assert "service.desiredCount" in out and "3 -> 2" in out
    assert "scalableTarget.minCapacity" in out and "2 -> 1" in out
    assert "ecrLifecyclePolicy.keepImages" in out and "10 -> 5" in out
    assert "FARGATE base 1 weight 3, FARGATE_SPOT weight 7" in out
    # stdout is only the report: no log lines
    assert "INFO" not in out and "INFO" in result.stderr
    assert not Path(".ecs-optimizer").exists()


def test_dry_run_json_has_the_documented_shape(outputs_file, run_cli):
    result = run_cli("optimize", "--outputs", outputs_file, "--dry-run", "--format", "json", *FIXED)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"cluster", "dryRun", "policy", "journal", "services", "savings"}
    assert data["cluster"] == fleet.CLUSTER and data["dryRun"] is True and data["policy"] == "fixed"
    assert data["journal"] is None
    assert [s["service"] for s in data["services"]] == sorted(fleet.SERVICES)
    for svc in data["services"]:
        assert set(svc) == {"service", "status", "changes", "reason"}
        assert svc["status"] == "planned"
        for change in svc["changes"]:
            assert set(change) == {"resource", "field", "before", "after"}
    api = next(s for s in data["services"] if s["service"] == "api-gateway")
    got = {(c["resource"], c["field"]): (c["before"], c["after"]) for c in api["changes"]}
    assert got[("taskDefinition", "cpu")] == (1024, 512)
    assert got[("taskDefinition", "memory")] == (2048, 1024)
    assert got[("alarm:running-tasks-low-api-gateway-dev", "threshold")] == (2.0, 1.0)
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
        for s in ecs.describe_services(cluster=fleet.CLUSTER, services=[f"{n}-dev" for n in fleet.SERVICES])["services"]
    }
    targets = {t["ResourceId"]: t for t in aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]}
    for name, spec in fleet.SERVICES.items():
        svc = services[f"{name}-dev"]
        assert svc["taskDefinition"].endswith(f"task-definition/{name}-dev:2")
        td = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
        assert (int(td["cpu"]), int(td["memory"])) == FIXED_SIZES[name]
        assert svc["desiredCount"] == 2
        if spec.critical:
            assert not svc.get("capacityProviderStrategy")
        else:
            assert _strategy(svc["capacityProviderStrategy"]) == {"FARGATE": (1, 3), "FARGATE_SPOT": (0, 7)}
        target = targets[f"service/{fleet.CLUSTER}/{name}-dev"]
        assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 6)
        policy = json.loads(ecr.get_lifecycle_policy(repositoryName=f"{name}-dev")["lifecyclePolicyText"])
        expected = json.loads(fleet.keep_policy(10))
        expected["rules"][1]["selection"]["countNumber"] = 5
        assert policy == expected  # only the count changed
        alarms = {a["AlarmName"]: a for a in cw.describe_alarms()["MetricAlarms"]}
        assert alarms[f"running-tasks-low-{name}-dev"]["Threshold"] == 1.0
        # above the autoscaling targets by the margin, so a service held at its target is quiet
        for prefix, metric in (("cpu-high", "cpu"), ("memory-high", "memory")):
            target = fleet.AUTOSCALING_TARGETS[metric][1]
            assert alarms[f"{prefix}-{name}-dev"]["Threshold"] == target + alarm_thresholds.ALARM_TARGET_MARGIN
    assert alarms["http-5xx-frontend-dev"]["Threshold"] == 10.0
    assert alarms["unhealthy-hosts-frontend-dev"]["Threshold"] == 0.0
    # the scaling policy registered on the target is still there
    policies = aas.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]
    assert {p["PolicyName"] for p in policies} == {
        f"{m}-target-{n}-dev" for n in fleet.SERVICES for m in fleet.AUTOSCALING_TARGETS
    }
    # the lock is released
    assert fleet.read_state(client)["locks"] == []


def test_new_revision_copies_every_other_field(outputs_file, run_cli, client):
    ecs = client("ecs")
    old = ecs.describe_task_definition(taskDefinition="api-gateway-dev:1", include=["TAGS"])
    assert run_cli("optimize", "--outputs", outputs_file, *FIXED, *FAST).exit_code == 0
    new = ecs.describe_task_definition(taskDefinition="api-gateway-dev:2", include=["TAGS"])
    # every tag is copied; the run's id is added, so a revision whose response was lost is found
    run_tag = [t for t in new["tags"] if t["key"] == "ecs-optimizer:run"]
    assert len(run_tag) == 1 and run_tag[0]["value"]
    assert [t for t in new["tags"] if t["key"] != "ecs-optimizer:run"] == old["tags"] and old["tags"]
    differing = {
        k
        for k in set(old["taskDefinition"]) | set(new["taskDefinition"])
        if old["taskDefinition"].get(k) != new["taskDefinition"].get(k)
    }
    assert differing == {"cpu", "memory", "revision", "taskDefinitionArn"}
    for key in (
        "containerDefinitions",
        "executionRoleArn",
        "taskRoleArn",
        "volumes",
        "runtimePlatform",
        "ephemeralStorage",
        "pidMode",
        "networkMode",
        "requiresCompatibilities",
    ):
        assert new["taskDefinition"][key] == old["taskDefinition"][key]


def test_alarms_keep_every_field_but_the_threshold(outputs_file, run_cli, client):
    cw = client("cloudwatch")
    before = {a["AlarmName"]: a for a in cw.describe_alarms()["MetricAlarms"]}
    tags_before = {n: cw.list_tags_for_resource(ResourceARN=a["AlarmArn"])["Tags"] for n, a in before.items()}
    assert run_cli("optimize", "--outputs", outputs_file, *FIXED, *FAST).exit_code == 0
    after = {a["AlarmName"]: a for a in cw.describe_alarms()["MetricAlarms"]}
    volatile = {
        "Threshold",
        "AlarmConfigurationUpdatedTimestamp",
        "StateUpdatedTimestamp",
        "StateValue",
        "StateReason",
        "StateReasonData",
        "StateTransitionedTimestamp",
    }
    changed = 0
    for name, old in before.items():
        new = after[name]
        assert {k: v for k, v in new.items() if k not in volatile} == {
            k: v for k, v in old.items() if k not in volatile
        }, name
        assert cw.list_tags_for_resource(ResourceARN=new["AlarmArn"])["Tags"] == tags_before[name]
        changed += new["Threshold"] != old["Threshold"]
    # memory-high (80 -> memory target + margin) and running-tasks-low of each service; cpu-high
    # already sits at its target + margin; ALB alarms untouched
    assert changed == 6


def test_second_run_is_a_no_op(outputs_file, history, run_cli, contexts, client):
    week = ["--lookback-days", str(history)]
    first = run_cli("optimize", "--outputs", outputs_file, *week, *FAST, "--format", "json")
    assert first.exit_code == 0, first.stderr
    assert all("p95 CPU" in s["reason"] for s in json.loads(first.stdout)["services"])  # sized by metrics
    state = fleet.read_state(client)
    contexts.clear()
    result = run_cli("optimize", "--outputs", outputs_file, "--format", "json", *week, *FAST)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [s["status"] for s in data["services"]] == ["unchanged"] * 3
    assert all(s["changes"] == [] for s in data["services"])
    assert data["journal"] is None
    assert mutating(contexts) == {}
    assert fleet.read_state(client) == state


def test_fixed_does_not_ratchet_after_write_back_and_pulumi_up(
    outputs, outputs_file, run_cli, contexts, client, tmp_path
):
    """Run 1 halves; after --write-config and `pulumi up` the outputs declare the halved size
    and export the original as baselineCpu/baselineMemory: run 2 halves that, i.e. nothing."""
    first = run_cli("optimize", "--outputs", outputs_file, *FIXED, *FAST, "--format", "json")
    assert first.exit_code == 0, first.stderr
    assert [s["status"] for s in json.loads(first.stdout)["services"]] == ["applied"] * 3
    state = fleet.read_state(client)
    applied = {}
    for name in fleet.SERVICES:
        family = f"{name}-{fleet.SUFFIX}"
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
    assert [s["status"] for s in data["services"]] == ["unchanged"] * 3
    assert mutating(contexts) == {}
    assert fleet.read_state(client) == state
    # the ratchet this prevents: an older stack (no baseline outputs) declares the halved size
    for spec in redeployed["services"].values():
        del spec["baselineCpu"], spec["baselineMemory"]
    after_up.write_text(json.dumps(redeployed))
    old = run_cli("optimize", "--outputs", str(after_up), *FIXED, *FAST, "--dry-run", "--format", "json")
    processing = next(s for s in json.loads(old.stdout)["services"] if s["service"] == "processing-service")
    assert processing["status"] == "planned"
    assert any(c["field"] == "cpu" and c["after"] == 512 for c in processing["changes"])


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
    assert header["kind"] == "run" and header["cluster"] == fleet.CLUSTER
    assert header["account"] == fleet.ACCOUNT and header["region"] == fleet.REGION and header["runId"]
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
    assert ops[1]["after"]["revision"].endswith("processing-service-dev:2")
    assert fields[("service", "capacityProviderStrategy")][0] is None
    # only the one service was touched
    data = json.loads(result.stdout)
    assert [s["service"] for s in data["services"]] == ["processing-service"]


def test_auto_policy_never_cuts_below_observed_need(outputs_file, client, run_cli):
    """A busy service (90% CPU of 512 units over 3 tasks) is not halved by auto."""
    busy = dict(fleet.SERVICES)
    fleet.seed_history(client("cloudwatch"), 3, services={"frontend": fleet.Spec(512, 1024, True, 90.0, 40.0)})
    result = run_cli("optimize", "--outputs", outputs_file, "--service", "frontend", "--dry-run", "--format", "json")
    assert result.exit_code == 0, result.stderr
    svc = json.loads(result.stdout)["services"][0]
    sizes = {c["field"]: c["after"] for c in svc["changes"] if c["resource"] == "taskDefinition"}
    # the need (~0.92 * 512 * 3 tasks) would not fit the fixed cut to 256 units: no cut
    assert sizes.get("cpu", 512) >= 512, svc
    assert "history" in svc["reason"]
    assert busy == fleet.SERVICES
