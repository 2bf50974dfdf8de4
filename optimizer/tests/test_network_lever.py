"""The measured network lever: NAT gateways and their AWS/NATGateway metrics in the emulator,
priced with no traffic flag, the migration plan in every format, and every format agreeing
with the JSON to the cent."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal
from typing import Any, Callable, Dict, List

import pytest

from ecs_optimizer.network.lever import ASSUMED_AWS_SHARE, migration_plan
from ecs_optimizer.output.models import COMMENT_MARKER
from ecs_optimizer.output.render import usd
from helpers import write_json
from plan_snapshots import FLEET

GIB = 1024**3
HOURS = Decimal(730)
NAT_HOUR = Decimal("0.045")  # us-east-1: per NAT gateway-hour and per GB processed
NAT_GB = Decimal("0.045")
ENDPOINT_AZ_HOUR = Decimal("0.01")
ENDPOINT_GB = Decimal("0.01")
#: Per gateway and hour: 1 GiB from the tasks out, 3 GiB of answers back.
FROM_SOURCE_GIB, FROM_DESTINATION_GIB = 1, 3
LOOKBACK_DAYS = 7


def seed_network(client: Callable[[str], Any], nat_count: int, days: int) -> Dict[str, Any]:
    """A VPC with ``nat_count`` NAT gateways and ``days`` of hourly AWS/NATGateway bytes; returns
    the network layer's outputs for it (only the S3 gateway endpoint configured)."""
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    zones = [f"{FLEET.region}{z}" for z in "abc"]
    gateways = []
    for i in range(nat_count):
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=zones[i])["Subnet"][
            "SubnetId"
        ]
        eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
        gateways.append(ec2.create_nat_gateway(SubnetId=subnet, AllocationId=eip)["NatGateway"]["NatGatewayId"])
    end = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
    points = []
    for gateway in gateways:
        dims = [{"Name": "NatGatewayId", "Value": gateway}]
        for hour in range(1, days * 24 + 1):
            ts = end - dt.timedelta(hours=hour) + dt.timedelta(minutes=30)
            points.append(
                {
                    "MetricName": "BytesInFromSource",
                    "Dimensions": dims,
                    "Timestamp": ts,
                    "Value": float(FROM_SOURCE_GIB * GIB),
                    "Unit": "Bytes",
                }
            )
            points.append(
                {
                    "MetricName": "BytesInFromDestination",
                    "Dimensions": dims,
                    "Timestamp": ts,
                    "Value": float(FROM_DESTINATION_GIB * GIB),
                    "Unit": "Bytes",
                }
            )
    cloudwatch = client("cloudwatch")
    for start in range(0, len(points), 500):
        cloudwatch.put_metric_data(Namespace="AWS/NATGateway", MetricData=points[start : start + 500])
    return {
        "contractVersion": 1,
        "environmentSuffix": FLEET.suffix,
        "vpcId": vpc,
        "natGatewayCount": nat_count,
        "availabilityZones": zones,
        "vpcEndpoints": {"s3": "vpce-s3"},
        "flowLogGroupName": f"/aws/vpc/flow-logs-{FLEET.suffix}",
    }


def cents(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


@pytest.fixture
def network_file(outputs: Dict[str, Any], client: Callable[[str], Any], tmp_path) -> str:
    return write_json(tmp_path / "network.json", seed_network(client, 3, LOOKBACK_DAYS))


def savings_args(outputs_file: str, network_file: str, *extra: str) -> List[str]:
    """`savings` on the seeded fleet and network, fixed policy, over the seeded lookback."""
    return [
        "savings",
        "--outputs",
        outputs_file,
        "--policy",
        "fixed",
        "--lookback-days",
        str(LOOKBACK_DAYS),
        "--network-outputs",
        network_file,
        *extra,
    ]


def run_savings(run_cli, outputs_file: str, network_file: str, fmt: str, *extra: str):
    result = run_cli(*savings_args(outputs_file, network_file, "--format", fmt, *extra))
    assert result.exit_code == 0, result.stderr
    return result


def test_nat_metrics_price_the_network_lever_with_no_traffic_flag(outputs_file, network_file, run_cli):
    data = json.loads(run_savings(run_cli, outputs_file, network_file, "json").stdout)
    # 3 gateways x 4 GiB an hour = 12 GB an hour = 8,760 GB a month processed by NAT
    processed = Decimal(3 * (FROM_SOURCE_GIB + FROM_DESTINATION_GIB)) * HOURS
    aws = processed * Decimal(ASSUMED_AWS_SHARE.numerator) / Decimal(ASSUMED_AWS_SHARE.denominator)
    internet = processed - aws
    before = 3 * NAT_HOUR * HOURS + processed * NAT_GB
    after = NAT_HOUR * HOURS + internet * NAT_GB + 5 * 3 * ENDPOINT_AZ_HOUR * HOURS + aws * ENDPOINT_GB
    assert (cents(before), cents(after)) == (492.75, 383.25)
    lines = {
        side: sum(
            Decimal(str(c["monthly"])) for c in data["components"] if (c["scope"], c["state"]) == ("network", side)
        )
        for side in ("before", "after")
    }
    assert (float(lines["before"]), float(lines["after"])) == (cents(before), cents(after))
    assert {b["category"]: b["monthly"] for b in data["breakdown"]}["network"] == 109.50
    # the network row is what the rounded totals hold beyond the rounded service rows, so it
    # may differ from its priced lines by the rounding of the rows (half a cent each)
    net = data["network"]
    residual = Decimal("0.005") * (len(data["services"]) + 1)
    for side in ("before", "after"):
        assert abs(Decimal(str(net[side])) - lines[side]) <= residual, (side, net[side], lines[side])
    assert net["monthlySavings"] == round(net["before"] - net["after"], 2)
    # the rows add up to the totals, to the cent
    assert round(sum(s["before"] for s in data["services"]) + net["before"], 2) == data["before"]["monthly"]
    assert round(sum(s["after"] for s in data["services"]) + net["after"], 2) == data["after"]["monthly"]
    nat_lines = {(c["state"], c["item"]): c for c in data["components"] if c["scope"] == "network"}
    assert nat_lines[("before", "NAT data processing, AWS-bound")]["quantity"] == float(aws)
    assert nat_lines[("after", "interface endpoint data processing")]["monthly"] == cents(aws * ENDPOINT_GB)
    steps = net["migrationPlan"]
    assert [s["configKey"] for s in steps] == ["network:interfaceEndpoints", None, "network:natStrategy"]
    assert steps[0]["after"] == ["ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm"]
    assert (steps[2]["before"], steps[2]["after"]) == ("perAz", "single")
    assert "measured: 8,760.0 GB a month through 3 NAT gateways" in " ".join(data["notes"])
    assert data["percentBase"] == "of compute and network"
    assert [p["base"] for p in data["percentages"]] == ["of compute", "of compute and network"]


def test_the_traffic_flag_overrides_the_estimate_and_reads_no_nat_metrics(
    outputs_file, network_file, run_cli, contexts
):
    data = json.loads(run_savings(run_cli, outputs_file, network_file, "json", "--aws-traffic-gb", "10000").stdout)
    assert "given: --aws-traffic-gb" in " ".join(data["notes"])
    calls = {op for ctx in contexts for op in ctx.recorder.counts}
    assert "ec2:DescribeNatGateways" not in calls


def test_every_format_agrees_with_the_json_to_the_cent(outputs_file, network_file, run_cli):
    data = json.loads(run_savings(run_cli, outputs_file, network_file, "json").stdout)
    out = {
        fmt: run_savings(run_cli, outputs_file, network_file, fmt).stdout
        for fmt in ("table", "markdown", "html", "csv")
    }
    amounts = [data["before"]["monthly"], data["after"]["monthly"], data["monthlySavings"]]
    for row in data["services"] + [data["network"]]:
        amounts += [row["before"], row["after"], row["monthlySavings"]]
    for fmt in ("table", "markdown", "html"):
        for amount in amounts:
            assert usd(amount) in out[fmt], f"{usd(amount)} missing from --format {fmt}"
        assert f"{data['percent']:.1f}% of compute and network" in out[fmt]
        assert "natStrategy" in out[fmt] and "network:interfaceEndpoints" in out[fmt]  # the migration plan
        assert "1yr-no-upfront" in out[fmt] and "3yr-no-upfront" in out[fmt]  # the Savings Plan
    assert out["markdown"].startswith(COMMENT_MARKER + "\n")
    assert out["html"].startswith("<!DOCTYPE html>")
    rows = list(csv.DictReader(io.StringIO(out["csv"])))
    by = {(r["record"], r["state"], r["scope"]): r for r in rows}
    assert float(by[("total", "before", "total")]["monthly"]) == data["before"]["monthly"]
    assert float(by[("total", "saving", "total")]["monthly"]) == data["monthlySavings"]
    assert float(by[("network", "saving", "network")]["monthly"]) == data["network"]["monthlySavings"]
    for s in data["services"]:
        assert float(by[("service", "after", s["service"])]["monthly"]) == s["after"]
    components = [r for r in rows if r["record"] == "component"]
    assert len(components) == len(data["components"])
    for side in ("before", "after"):
        side_sum = sum(Decimal(r["monthly"]) for r in components if r["state"] == side)
        # each line is rounded on its own, so the sum may be a few cents off the total
        assert abs(side_sum - Decimal(str(data[side]["monthly"]))) <= Decimal("0.01") * len(components)
    assert [r["scope"] for r in rows if r["record"] == "migrationStep"] == [
        "network:interfaceEndpoints",
        "",
        "network:natStrategy",
    ]


def test_csv_and_html_are_for_savings_only(outputs_file, run_cli):
    result = run_cli("optimize", "--outputs", outputs_file, "--dry-run", "--format", "csv")
    assert result.exit_code == 2
    assert result.stderr.startswith("ecs-optimizer: error: ") and "'csv' is not one of" in result.stderr


def test_network_outputs_without_a_vpc_id_are_bad_input(outputs_file, run_cli, tmp_path):
    path = write_json(tmp_path / "network.json", {"natGatewayCount": 1, "availabilityZones": ["a"], "vpcEndpoints": {}})
    result = run_cli("savings", "--outputs", outputs_file, "--network-outputs", path)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1].endswith("vpcId: expected the VPC id, to find its NAT gateways")


def test_the_migration_adds_only_missing_endpoints_and_stops_at_the_nat_strategy_kept():
    steps = migration_plan(1, ["ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm"], 1)
    assert [s.config_key for s in steps] == [None]  # nothing to add, NAT already single: verify only
    steps = migration_plan(3, ["ecr.api"], 0)
    assert steps[0].after == ["ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm"]
    assert (steps[-1].before, steps[-1].after) == ("perAz", "none")
    assert [s.order for s in steps] == [1, 2, 3]
