"""savings: the live state against the plan, a finished run's journal, network outputs,
and figures equal to hand computations from the list prices (docs/pricing.md)."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Dict

from ecs_optimizer_lab.seeding import fleet_images
from helpers import FAST, ON_DEMAND_FLEET, write_json
from plan_snapshots import FLEET, SEED

HOURS = Decimal(730)
VCPU_HOUR = Decimal("0.04048")  # us-east-1 Linux x86 list price
GB_HOUR = Decimal("0.004445")
ECR_GB_MONTH = Decimal("0.10")
NAT_HOUR = Decimal("0.045")
ENDPOINT_AZ_HOUR = Decimal("0.01")
GIB = 1024**3


def cents(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def task_month(cpu: int, memory: int) -> Decimal:
    return (Decimal(cpu) / 1024 * VCPU_HOUR + Decimal(memory) / 1024 * GB_HOUR) * HOURS


def ecr_month(sizes_bytes) -> Decimal:
    return Decimal(sum(sizes_bytes)) / GIB * ECR_GB_MONTH


def without_time(report: dict) -> dict:
    """The report without its generation time, which differs between two runs."""
    assert report["generatedAt"].endswith("Z")
    return {k: v for k, v in report.items() if k != "generatedAt"}


#: A service row's finding and risk (docs/recommendations.md): in a plan's report, not a journal's.
FINDING_FIELDS = ("finding", "reasonCodes", "reasons", "lookbackPeriodInDays", "performanceRisk", "confidence", "risk")


def without_findings(report: dict) -> dict:
    """The report without the plan's findings and the idle resources they list."""
    rows = [{k: v for k, v in row.items() if k not in FINDING_FIELDS} for row in report["services"]]
    return {**report, "services": rows, "idle": []}


def test_journal_savings_equal_a_hand_computation(outputs_file, run_cli, tmp_path):
    journal = tmp_path / "j.jsonl"
    result = run_cli(
        "optimize",
        "--outputs",
        outputs_file,
        "--service",
        "frontend",
        "--policy",
        "fixed",
        *FAST,
        "--journal",
        str(journal),
    )
    assert result.exit_code == 0, result.stderr
    result = run_cli("savings", "--journal", str(journal), "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    # frontend: 3 x 0.5 vCPU/1 GB on-demand, its repository's images (all kept: as many as the
    # policy keeps) -> 2 x 0.25 vCPU/0.5 GB on-demand (critical: no Spot), the newest 5 kept
    frontend = FLEET.service("frontend")
    assert (frontend["cpu"], frontend["memory"], frontend["desiredCount"], frontend["critical"]) == (512, 1024, 3, True)
    sizes = [image.size for image in fleet_images(FLEET.repository("frontend"), SEED)]  # oldest first
    assert len(sizes) == FLEET.registry_outputs["repositories"]["frontend"]["keepImages"] == 10
    before = 3 * task_month(512, 1024) + ecr_month(sizes)
    after = 2 * task_month(256, 512) + ecr_month(sizes[-5:])
    assert cents(task_month(512, 1024)) == 18.02  # the first worked check of docs/pricing.md
    assert data["services"] == [
        {
            "service": "frontend",
            "before": cents(before),
            "after": cents(after),
            "monthlySavings": round(cents(before) - cents(after), 2),
        }
    ]
    assert data["before"]["monthly"] == cents(before) and data["after"]["monthly"] == cents(after)
    breakdown = {b["category"]: b["monthly"] for b in data["breakdown"]}
    assert breakdown["spot"] == 0 and breakdown["network"] == 0
    assert abs(breakdown["rightsizing"] - float(3 * (task_month(512, 1024) - task_month(256, 512)))) <= 0.01
    assert abs(breakdown["taskCount"] - float(task_month(256, 512))) <= 0.01
    assert abs(breakdown["ecrStorage"] - float(ecr_month(sizes[:-5]))) <= 0.01
    assert data["pricing"]["region"] == FLEET.region and data["hoursPerMonth"] == 730


@ON_DEMAND_FLEET
def test_default_savings_match_the_optimize_plan_and_the_realised_run(outputs_file, run_cli, tmp_path, contexts):
    plan = run_cli("savings", "--outputs", outputs_file, "--policy", "fixed", "--format", "json")
    assert plan.exit_code == 0, plan.stderr
    assert all(not ctx.recorder.mutating() for ctx in contexts)
    journal = tmp_path / "j.jsonl"
    run = run_cli(
        "optimize", "--outputs", outputs_file, "--policy", "fixed", *FAST, "--journal", str(journal), "--format", "json"
    )
    assert run.exit_code == 0, run.stderr
    realised = run_cli("savings", "--journal", str(journal), "--format", "json")
    planned = without_time(json.loads(plan.stdout))
    assert planned["environment"] == "dev" and planned["cluster"] == "ecs-cluster-dev"
    # the same figures; the plan's are an estimate, the run's and its journal's realised
    assert planned.pop("basis") == "estimate"
    applied = without_time(json.loads(run.stdout)["savings"])
    assert applied.pop("basis") == "realised" and applied == planned
    # a journal records what changed, not why: its report has the same money, without findings
    priced = without_time(json.loads(realised.stdout))
    assert priced.pop("basis") == "realised" and without_findings(priced) == without_findings(planned)
    assert all("finding" in row for row in planned["services"])
    # Spot counts for the non-critical service only
    breakdown = {b["category"]: b["monthly"] for b in planned["breakdown"]}
    assert breakdown["spot"] > 0
    # after the run there is nothing left to save
    again = json.loads(run_cli("savings", "--outputs", outputs_file, "--policy", "fixed", "--format", "json").stdout)
    assert again["monthlySavings"] == 0


def network_breakdown(run_cli, outputs_file: str, network_path: str, aws_traffic_gb: str) -> Dict[str, Any]:
    """The savings breakdown (category -> monthly) of the fixed policy with these network outputs."""
    result = run_cli(
        "savings",
        "--outputs",
        outputs_file,
        "--policy",
        "fixed",
        "--network-outputs",
        network_path,
        "--aws-traffic-gb",
        aws_traffic_gb,
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    return {b["category"]: b["monthly"] for b in json.loads(result.stdout)["breakdown"]}


def test_network_outputs_price_nat_against_endpoints(outputs_file, run_cli, tmp_path):
    network = {
        "natGatewayCount": 3,
        "availabilityZones": ["us-east-1a", "us-east-1b", "us-east-1c"],
        "vpcEndpoints": {
            "s3": "vpce-1",
            "ecr.api": "vpce-2",
            "ecr.dkr": "vpce-3",
            "logs": "vpce-4",
            "secretsmanager": "vpce-5",
            "ssm": "vpce-6",
        },
    }
    path = write_json(tmp_path / "network.json", network)
    # --aws-traffic-gb 0: hourly charges only, no NAT metrics read
    breakdown = network_breakdown(run_cli, outputs_file, path, "0")
    # two of three NAT gateways go; the five interface endpoints stay (s3 is a free gateway endpoint)
    assert cents(NAT_HOUR * HOURS) == 32.85  # the NAT worked check of docs/pricing.md
    assert breakdown["network"] == cents(2 * NAT_HOUR * HOURS)
    assert cents(ENDPOINT_AZ_HOUR * 3 * HOURS) == 21.90
    bad = write_json(tmp_path / "bad-network.json", {"natGatewayCount": "three"})
    result = run_cli("savings", "--outputs", outputs_file, "--network-outputs", bad)
    assert result.exit_code == 2 and "natGatewayCount" in result.stderr


def test_aws_bound_traffic_moves_from_nat_to_endpoints(outputs_file, run_cli, tmp_path):
    network = {
        "natGatewayCount": 3,
        "availabilityZones": ["us-east-1a", "us-east-1b", "us-east-1c"],
        "vpcEndpoints": {"s3": "vpce-1"},
    }
    path = write_json(tmp_path / "network.json", network)
    breakdown = network_breakdown(run_cli, outputs_file, path, "10000")
    # before: 3 NATs + 10,000 GB at the NAT's $0.045; after: 1 NAT, 5 endpoints in 3 AZs, 10,000 GB at $0.01
    before = 3 * NAT_HOUR * HOURS + 10000 * Decimal("0.045")
    after = NAT_HOUR * HOURS + 5 * ENDPOINT_AZ_HOUR * 3 * HOURS + 10000 * Decimal("0.01")
    assert breakdown["network"] == cents(before - after) == 306.20
    alone = run_cli("savings", "--outputs", outputs_file, "--aws-traffic-gb", "5")
    assert alone.exit_code == 2 and "--aws-traffic-gb needs --network-outputs" in alone.stderr


def test_live_pricing_falls_back_to_the_table_with_a_warning(outputs_file, run_cli):
    result = run_cli("savings", "--outputs", outputs_file, "--policy", "fixed", "--pricing", "live", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert "WARNING" in result.stderr and "live pricing" in result.stderr
    assert json.loads(result.stdout)["pricing"]["asOf"]


def test_markdown_and_table_formats(outputs_file, run_cli):
    md = run_cli("savings", "--outputs", outputs_file, "--policy", "fixed", "--format", "markdown")
    assert md.exit_code == 0 and "| service |" in md.stdout
    table = run_cli("optimize", "--outputs", outputs_file, "--policy", "fixed", "--dry-run", "--format", "markdown")
    assert table.exit_code == 0 and "| service | status | lever | change | old -> new |" in table.stdout
