"""Findings, performance risk and idle verdicts: synthetic traces replayed through the metrics
policy land in the finding, risk band and idle verdict they are built for, and the CLI carries
them in every format, prices growth apart from the cuts, and applies only what --max-risk
allows."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any, Dict, Optional

import pytest

from ecs_optimizer.core.model import CapacityStrategy, ServiceState
from ecs_optimizer.core.usage import Usage, usage_from_series
from ecs_optimizer.planning import findings as fd
from ecs_optimizer.planning import risk as rk
from ecs_optimizer.planning.sizing import SizingOptions, plan_service
from ecs_optimizer_lab.history import fleet_reservations, write_history
from ecs_optimizer_lab.requests import write_requests
from ecs_optimizer_lab.synthetic import TRACE_KINDS, TraceSpec, generate_trace
from ecs_optimizer_lab.task_stops import deployment_stop, oom_stop, put_task_stops
from helpers import FAST
from plan_snapshots import FLEET, SEED

START = dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc)
LOOKBACK = 14
TARGETS = {"cpuHigh": 70.0, "memoryHigh": 75.0}


def service(critical: bool = False, **changes: Any) -> ServiceState:
    base = ServiceState(
        service="svc",
        cpu=1024,
        memory=2048,
        desired_count=2,
        min_capacity=1,
        max_capacity=4,
        critical=critical,
        strategy=CapacityStrategy(),
    )
    return base.with_changes(**changes)


def usage_of(kind: str, cpu: float, memory: float, days: int = LOOKBACK, seed: int = 0) -> Usage:
    trace = generate_trace(TraceSpec(kind, cpu, memory, seed), days, START, "recommendations")
    usage = usage_from_series(trace.hourly_cpu_average(), trace.hourly_memory_maximum(), 3600)
    assert usage is not None
    return usage


def finding_of(
    before: ServiceState,
    usage: Optional[Usage],
    activity: fd.Activity = fd.UNMEASURED,
) -> fd.Finding:
    opts = SizingOptions()
    decision = plan_service(before, "prod", "metrics" if usage else "auto", usage, opts, autoscaling_targets=TARGETS)
    return fd.service_finding(
        before, decision.after, usage, TARGETS, activity, opts.lookback_days, opts.min_history_days
    )


# ----------------------------------------------------------------------------- risk bands


def test_each_input_table_and_band_boundary() -> None:
    calm = rk.RiskInputs(coverage=1.0, cpu_variation=0.1, peak_gap=0.1, headroom=0.5, spot_share=0.0, critical=False)
    assert rk.points_of(calm) == {"coverage": 0, "variance": 0, "peakGap": 0, "headroom": 0, "spot": 0, "critical": 0}
    assert rk.assess(calm).level == "very low" and rk.assess(calm).confidence == "high"
    worst = rk.RiskInputs(coverage=0.3, cpu_variation=0.9, peak_gap=1.0, headroom=0.05, spot_share=0.8, critical=True)
    assert rk.points_of(worst) == {"coverage": 2, "variance": 2, "peakGap": 2, "headroom": 3, "spot": 2, "critical": 1}
    assert rk.assess(worst).level == "high" and rk.assess(worst).confidence == "low"
    assert [rk.level_of(score, 0.5) for score in range(8)] == ["very low"] * 2 + ["low"] * 2 + ["medium"] * 2 + [
        "high"
    ] * 2
    assert rk.level_of(0, -0.01) == "high"  # a size that cannot carry the history
    assert rk.confidence_of(None, None) == "low"
    assert rk.confidence_of(0.95, 0.6) == "medium" and rk.confidence_of(0.6, None) == "medium"


def test_a_steady_trace_on_a_roomy_size_is_very_low_risk() -> None:
    usage = usage_of("steady", cpu=10.0, memory=20.0)
    before = service()
    risk = rk.assess(rk.risk_inputs(before, before, usage, LOOKBACK))
    assert risk.points["variance"] == 0 and risk.points["peakGap"] == 0 and risk.points["headroom"] == 0
    assert (risk.level, risk.confidence) == ("very low", "high")


def test_a_critical_service_with_a_daily_peak_is_low_risk() -> None:
    usage = usage_of("daily", cpu=10.0, memory=20.0)
    before = service(critical=True)
    risk = rk.assess(rk.risk_inputs(before, before, usage, LOOKBACK))
    assert risk.points["critical"] == 1 and risk.points["headroom"] == 0
    assert 2 <= risk.score <= 3 and risk.level == "low"


def test_bursts_on_spot_with_short_history_are_medium_risk() -> None:
    usage = usage_of("bursty", cpu=10.0, memory=20.0, days=5)
    before = service()
    after = before.with_changes(strategy=CapacityStrategy(base=1, on_demand_weight=0, spot_weight=1))
    risk = rk.assess(rk.risk_inputs(before, after, usage, LOOKBACK))
    assert risk.points["coverage"] == 2  # 5 of 14 days
    assert risk.points["peakGap"] >= 1 and risk.points["spot"] == 1
    assert risk.level == "medium" and risk.confidence == "low"


def test_a_size_that_cannot_carry_the_history_is_high_risk() -> None:
    usage = usage_of("steady", cpu=60.0, memory=40.0)
    before = service(critical=True)
    risk = rk.assess(rk.risk_inputs(before, before.with_changes(cpu=512), usage, LOOKBACK))
    assert risk.inputs.headroom is not None and risk.inputs.headroom < 0
    assert risk.level == "high"


def test_no_history_is_low_confidence_and_never_very_low_risk() -> None:
    before = service(cpu=2048, memory=4096, desired_count=3)
    found = finding_of(before, None)
    assert found.risk.confidence == "low" and found.risk.points["coverage"] == rk.NO_HISTORY_POINTS
    assert rk.risk_rank(found.risk.level) >= rk.risk_rank("medium")


# ----------------------------------------------------------------------------- findings


@pytest.mark.parametrize("kind", TRACE_KINDS)
def test_a_lightly_used_service_is_overprovisioned_whatever_its_shape(kind: str) -> None:
    found = finding_of(service(cpu=2048, memory=4096, desired_count=3), usage_of(kind, cpu=8.0, memory=15.0))
    assert found.finding == fd.OVERPROVISIONED
    assert fd.CPU_OVER in found.reason_codes and fd.MEMORY_OVER in found.reason_codes
    assert found.lookback_days == LOOKBACK


def test_a_service_already_at_its_size_is_optimized_with_no_reason_code() -> None:
    before = service(cpu=256, memory=1024, desired_count=2, min_capacity=1)
    found = finding_of(before, usage_of("steady", cpu=30.0, memory=50.0))
    assert found.finding == fd.OPTIMIZED and found.reason_codes == ()
    assert found.summary() == "the task size and count fit the observed use"


def test_memory_near_the_limit_is_underprovisioned_and_the_plan_grows_it() -> None:
    before = service()
    usage = usage_of("steady", cpu=20.0, memory=93.0)
    assert usage.mem_peak_pct >= fd.MEMORY_NEAR_LIMIT_PCT
    found = finding_of(before, usage)
    assert found.finding == fd.UNDERPROVISIONED and fd.MEMORY_UNDER in found.reason_codes
    after = plan_service(before, "prod", "metrics", usage, SizingOptions(), autoscaling_targets=TARGETS).after
    assert after.memory * after.desired_count > before.memory * before.desired_count


def test_p95_cpu_above_the_target_at_the_maximum_is_underprovisioned_and_the_maximum_grows() -> None:
    before = service(desired_count=2, max_capacity=2)
    usage = usage_of("steady", cpu=80.0, memory=30.0)
    found = finding_of(before, usage)
    assert found.finding == fd.UNDERPROVISIONED and fd.CPU_UNDER in found.reason_codes
    after = plan_service(before, "prod", "metrics", usage, SizingOptions(), autoscaling_targets=TARGETS).after
    demand = usage.cpu_p95_pct / 100 * before.cpu * before.desired_count
    assert demand / (after.max_capacity * after.cpu) * 100 <= TARGETS["cpuHigh"]


def test_out_of_memory_stops_make_a_service_underprovisioned() -> None:
    usage = usage_of("steady", cpu=20.0, memory=40.0)
    found = finding_of(service(), usage, activity=fd.Activity(requests=1000.0, oom_stops=3))
    assert found.finding == fd.UNDERPROVISIONED and fd.OUT_OF_MEMORY in found.reason_codes


def test_idle_needs_no_requests_and_cpu_under_the_floor_in_every_hour() -> None:
    quiet = usage_of("steady", cpu=0.5, memory=10.0)
    assert quiet.cpu_peak_pct is not None and quiet.cpu_peak_pct < fd.IDLE_CPU_FLOOR_PCT
    assert finding_of(service(), quiet, activity=fd.Activity(requests=0.0)).finding == fd.IDLE
    idle = finding_of(service(), quiet, activity=fd.Activity(requests=0.0))
    assert idle.reason_codes == (fd.NO_REQUESTS, fd.CPU_IDLE)
    # requests, unknown requests, or one busy hour: not idle
    assert finding_of(service(), quiet, activity=fd.Activity(requests=12.0)).finding != fd.IDLE
    assert finding_of(service(), quiet, activity=fd.Activity(requests=None)).finding != fd.IDLE
    busy = usage_of("bursty", cpu=1.0, memory=10.0)
    assert busy.cpu_peak_pct is not None and busy.cpu_peak_pct >= fd.IDLE_CPU_FLOOR_PCT
    assert finding_of(service(), busy, activity=fd.Activity(requests=0.0)).finding != fd.IDLE
    # too little history to call it idle
    short = usage_of("steady", cpu=0.5, memory=10.0, days=3)
    assert finding_of(service(), short, activity=fd.Activity(requests=0.0)).finding != fd.IDLE


# ----------------------------------------------------------------------------- through the CLI

IDLE_SERVICE, TIGHT_SERVICE, LIGHT_SERVICE = "frontend", "api-gateway", "processing-service"
DAYS = 7


@pytest.fixture
def traced(outputs: Dict[str, Any], client) -> Dict[str, str]:
    """Seven days of history built for a verdict each: frontend idle (no requests, CPU under
    the floor), api-gateway busy with memory near its limit (and requests), processing-service
    lightly used. Returns catalog name -> ECS service name."""
    names = {n: FLEET.service(n)["serviceName"] for n in (IDLE_SERVICE, TIGHT_SERVICE, LIGHT_SERVICE)}
    traces = {
        names[IDLE_SERVICE]: TraceSpec("steady", 0.5, 12.0, 0),
        names[TIGHT_SERVICE]: TraceSpec("steady", 70.0, 93.0, 1),
        names[LIGHT_SERVICE]: TraceSpec("steady", 8.0, 20.0, 2),
    }
    write_history(
        client("cloudwatch"),
        FLEET.cluster_name,
        traces,
        DAYS,
        SEED,
        reservations=fleet_reservations(FLEET),
        concurrency=1,
    )
    groups = FLEET.compute_outputs["services"]
    write_requests(
        client("cloudwatch"),
        {groups[IDLE_SERVICE]["targetGroupArnSuffix"]: 0.0, groups[TIGHT_SERVICE]["targetGroupArnSuffix"]: 40.0},
        DAYS,
    )
    return names


def _rows(report: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    return {row["service"]: row for row in report["services"]}


def test_savings_json_carries_findings_growth_apart_and_idle_costs(traced, outputs_file, run_cli) -> None:
    result = run_cli("savings", "--outputs", outputs_file, "--lookback-days", str(DAYS), "--format", "json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    rows = _rows(report)
    assert rows[IDLE_SERVICE]["finding"] == "Idle"
    assert rows[TIGHT_SERVICE]["finding"] == "Underprovisioned"
    assert "MemoryUnderprovisioned" in rows[TIGHT_SERVICE]["reasonCodes"]
    assert rows[LIGHT_SERVICE]["finding"] == "Overprovisioned"
    for row in rows.values():
        assert row["performanceRisk"] in rk.RISK_LEVELS and row["confidence"] in rk.CONFIDENCE_LEVELS
        assert row["lookbackPeriodInDays"] == DAYS
    # growth is its own line, never netted into the cuts
    grown = [r for r in rows.values() if r["after"] > r["before"]]
    assert [r["service"] for r in grown] == [TIGHT_SERVICE]
    assert report["growth"]["services"] == [TIGHT_SERVICE]
    assert report["growth"]["monthly"] == pytest.approx(round(grown[0]["after"] - grown[0]["before"], 2), abs=0.011)
    cut = sum(r["before"] - r["after"] for r in rows.values() if r["after"] < r["before"])
    assert report["cuts"]["monthly"] == pytest.approx(round(cut, 2), abs=0.011)
    assert report["cuts"]["monthly"] - report["growth"]["monthly"] == pytest.approx(
        sum(r["monthlySavings"] for r in rows.values()), abs=0.011
    )
    idle = [i for i in report["idle"] if i["resource"] == "service"]
    assert [i["id"] for i in idle] == [IDLE_SERVICE]
    assert idle[0]["monthly"] == rows[IDLE_SERVICE]["after"] and idle[0]["applied"] is False


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv", "html"])
def test_every_savings_format_carries_finding_risk_confidence_and_growth(traced, outputs_file, run_cli, fmt) -> None:
    data = json.loads(
        run_cli("savings", "--outputs", outputs_file, "--lookback-days", str(DAYS), "--format", "json").stdout
    )
    result = run_cli("savings", "--outputs", outputs_file, "--lookback-days", str(DAYS), "--format", fmt)
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    rows = _rows(data)
    if fmt == "csv":
        records = list(csv.DictReader(io.StringIO(text)))
        found = {r["scope"]: r for r in records if r["record"] == "finding"}
        for name, row in rows.items():
            assert (found[name]["state"], found[name]["item"], found[name]["unit"]) == (
                row["finding"],
                row["performanceRisk"],
                row["confidence"],
            )
        growth = [r for r in records if r["record"] == "growth"]
        assert float(growth[0]["monthly"]) == data["growth"]["monthly"]
        assert [r["scope"] for r in records if r["record"] == "idle"] == [IDLE_SERVICE]
        return
    for name, row in rows.items():
        line = next(line for line in text.splitlines() if name in line and row["finding"] in line)
        assert row["performanceRisk"] in line and row["confidence"] in line
    assert f"growth: +${data['growth']['monthly']:,.2f}/month ({TIGHT_SERVICE})" in text


def test_optimize_applies_only_what_max_risk_allows(traced, outputs_file, run_cli, tmp_path) -> None:
    planned = json.loads(
        run_cli(
            "optimize", "--outputs", outputs_file, "--lookback-days", str(DAYS), "--dry-run", "--format", "json"
        ).stdout
    )
    risks = {s["service"]: s["finding"]["performanceRisk"] for s in planned["services"]}
    assert set(risks) == {IDLE_SERVICE, TIGHT_SERVICE, LIGHT_SERVICE}
    ceiling = min(risks.values(), key=rk.risk_rank)
    above = sorted(n for n, level in risks.items() if rk.risk_rank(level) > rk.risk_rank(ceiling))
    assert above, "the traces should spread the services over more than one risk level"
    args = ["--outputs", outputs_file, "--lookback-days", str(DAYS), "--max-risk", ceiling.replace(" ", "-")]
    dry = json.loads(run_cli("optimize", *args, "--dry-run", "--format", "json").stdout)
    real = run_cli("optimize", *args, *FAST, "--journal", str(tmp_path / "j.jsonl"), "--format", "json")
    assert real.exit_code == 0, real.stderr
    for report in (dry, json.loads(real.stdout)):
        status = {s["service"]: s for s in report["services"]}
        for name in above:
            assert status[name]["status"] == "skipped"
            assert f"performance risk {risks[name]}" in status[name]["reason"]
            assert status[name]["finding"]["performanceRisk"] == risks[name]
        for name in set(risks) - set(above):
            assert status[name]["status"] != "skipped"


def test_a_bad_max_risk_exits_2(outputs_file, run_cli) -> None:
    result = run_cli("optimize", "--outputs", outputs_file, "--dry-run", "--max-risk", "extreme")
    assert result.exit_code == 2 and "--max-risk" in result.stderr


def test_a_nat_gateway_with_no_traffic_is_idle_with_its_monthly_cost(outputs_file, client, run_cli, tmp_path) -> None:
    ec2, cloudwatch = client("ec2"), client("cloudwatch")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    zones = [f"{FLEET.region}{z}" for z in "ab"]
    gateways = []
    for i, zone in enumerate(zones):
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=zone)["Subnet"]["SubnetId"]
        eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
        gateways.append(ec2.create_nat_gateway(SubnetId=subnet, AllocationId=eip)["NatGateway"]["NatGatewayId"])
    busy, quiet = gateways
    end = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
    points = [
        {
            "MetricName": metric,
            "Dimensions": [{"Name": "NatGatewayId", "Value": gateway}],
            "Timestamp": end - dt.timedelta(hours=hour, minutes=30),
            "Value": value,
            "Unit": "Bytes",
        }
        for hour in range(1, DAYS * 24)
        for gateway, value in ((busy, 2.0**30), (quiet, 0.0))
        for metric in ("BytesInFromSource", "BytesInFromDestination")
    ]
    for start in range(0, len(points), 500):
        cloudwatch.put_metric_data(Namespace="AWS/NATGateway", MetricData=points[start : start + 500])
    network = tmp_path / "network.json"
    network.write_text(
        json.dumps(
            {
                "contractVersion": 1,
                "environmentSuffix": FLEET.suffix,
                "vpcId": vpc,
                "natGatewayCount": 2,
                "availabilityZones": zones,
                "vpcEndpoints": {"s3": "vpce-s3"},
            }
        )
    )
    args = ["savings", "--outputs", outputs_file, "--lookback-days", str(DAYS), "--network-outputs", str(network)]
    report = json.loads(run_cli(*args, "--format", "json").stdout)
    nat = [i for i in report["idle"] if i["resource"] == "natGateway"]
    assert [i["id"] for i in nat] == [quiet]
    assert nat[0]["monthly"] == 32.85  # us-east-1: $0.045 a NAT gateway-hour x 730 hours, no data processed
    assert nat[0]["applied"] is False
    table = run_cli(*args).stdout
    assert quiet in table and busy not in table.split("Idle resources", 1)[1]


STOP_FLEET = FLEET.with_task_stop_log()


@pytest.mark.parametrize("fleet", [STOP_FLEET], ids=["task-stop-log"])
def test_out_of_memory_stops_in_the_task_stop_log_reach_the_finding(fleet, outputs, client, outputs_file, run_cli):
    """OOM kills recorded by the compute layer's task-stop log make a service whose memory
    history looks roomy under-provisioned; a deployment's SIGKILL does not."""
    names = {n: fleet.service(n)["serviceName"] for n in (IDLE_SERVICE, TIGHT_SERVICE, LIGHT_SERVICE)}
    traces = {ecs: TraceSpec("steady", 10.0, 30.0, i) for i, ecs in enumerate(sorted(names.values()))}
    write_history(
        client("cloudwatch"),
        fleet.cluster_name,
        traces,
        DAYS,
        SEED,
        reservations=fleet_reservations(fleet),
        concurrency=1,
    )
    now = dt.datetime.now(dt.timezone.utc)
    events = [
        oom_stop(fleet, LIGHT_SERVICE, now - dt.timedelta(days=2)),
        oom_stop(fleet, LIGHT_SERVICE, now - dt.timedelta(days=1)),
        deployment_stop(fleet, TIGHT_SERVICE, now - dt.timedelta(days=1)),
    ]
    put_task_stops(client("logs"), str(outputs["taskStopLogGroupName"]), events)
    report = json.loads(
        run_cli("savings", "--outputs", outputs_file, "--lookback-days", str(DAYS), "--format", "json").stdout
    )
    rows = _rows(report)
    assert rows[LIGHT_SERVICE]["finding"] == "Underprovisioned"
    assert "OutOfMemoryStops" in rows[LIGHT_SERVICE]["reasonCodes"]
    assert any("2 task(s) stopped for running out of memory" in r for r in rows[LIGHT_SERVICE]["reasons"])
    assert "OutOfMemoryStops" not in rows[TIGHT_SERVICE]["reasonCodes"]
