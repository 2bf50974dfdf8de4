"""The savings model: the worked checks of docs/pricing.md, a hand-computed fleet, the lever sequence, rendering."""

import json
import random
from decimal import Decimal

import pytest

from ecs_optimizer.core.fargate import all_pairs
from ecs_optimizer.core.model import CapacityStrategy, NetworkState, ServiceState
from ecs_optimizer.output.models import COMMENT_MARKER, savings_report
from ecs_optimizer.output.registry import render
from ecs_optimizer.planning.sizing import SizingOptions, plan_service
from ecs_optimizer.pricing.costs import network_costs
from ecs_optimizer.pricing.prices import PRICE_TABLES, table_prices
from ecs_optimizer.pricing.savings import (
    CATEGORIES,
    SCHEMA_VERSION,
    compute_savings,
)
from report_schema import savings_errors

USE1 = PRICE_TABLES["us-east-1"]


def render_savings(report, fmt: str) -> str:  # type: ignore[no-untyped-def]
    return render(savings_report(report), fmt)


GIB = 1024**3
ON_DEMAND = CapacityStrategy(base=0, on_demand_weight=1, spot_weight=0)


def svc(
    name,
    cpu=512,
    memory=1024,
    desired=3,
    min_capacity=2,
    critical=False,
    keep=10,
    images=(),
    strategy=ON_DEMAND,
    arch="X86_64",
):
    return ServiceState(
        service=name,
        cpu=cpu,
        memory=memory,
        desired_count=desired,
        min_capacity=min_capacity,
        max_capacity=6,
        critical=critical,
        architecture=arch,
        strategy=strategy,
        ecr_keep_images=keep,
        ecr_image_bytes=tuple(images),
    )


def dec(value):
    return Decimal(str(value))


# ----------------------------------------------------------------- worked checks (docs/pricing.md)


def test_one_task_all_month_is_18_02():
    before = {"api": svc("api", desired=1, keep=None)}
    report = compute_savings(before, before, USE1)
    assert report.before_monthly == Decimal("18.02005")  # 14.7752 + 3.24485
    assert report.to_dict()["before"]["monthly"] == 18.02
    assert report.to_dict()["monthlySavings"] == 0.0


def test_six_tasks_from_the_reference_notes():
    before = {"api": svc("api", desired=6, keep=None)}
    report = compute_savings(before, before, USE1)
    # 88.6512 (vCPU) + 19.4691 (memory)
    assert report.before_monthly == Decimal("88.6512") + Decimal("19.4691")
    assert report.to_dict()["before"]["monthly"] == 108.12


def test_one_idle_nat_gateway_is_32_85():
    costs = network_costs(NetworkState(nat_gateway_count=1, availability_zones=1, interface_endpoint_count=0), USE1)
    assert costs.before == Decimal("32.85")


# ----------------------------------------------------------------- hand-computed fleet


#: The platform's least Spot share (70% of the tasks beyond the base): the hand computations
#: below price it.
LEAST_SPOT = SizingOptions(spot_share=0.7)


def dev_fleet():
    images = [GIB] * 12  # twelve 1 GiB images, 10 kept today
    return {
        "api": svc("api", critical=True, images=images),
        "worker": svc("worker", images=images),
        "scheduler": svc("scheduler", images=images),
    }


def test_dev_baseline_to_fixed_by_hand():
    before = dev_fleet()
    after = {name: plan_service(s, "dev", "fixed", None, LEAST_SPOT).after for name, s in before.items()}
    report = compute_savings(before, after, USE1)

    # before: 3 x (0.5 x 0.04048 + 1 x 0.004445) x 730 = 54.06015, + 10 GiB x 0.10 = 55.06015
    # after, api (critical): 2 x 9.010025 + 0.50                             = 18.52005
    # after, worker/scheduler: 9.010025 x (1.3 on-demand + 0.7 Spot x 0.3) + 0.50
    #                          = 13.60513775 + 0.50                          = 14.10513775
    assert report.before_monthly == Decimal("165.18045")
    assert report.after_monthly == Decimal("46.7303255")
    breakdown = report.breakdown()
    assert breakdown["rightsizing"] == Decimal("81.090225")  # 3 services x 3 x 9.010025
    assert breakdown["taskCount"] == Decimal("27.030075")  # 3 services x 1 x 9.010025
    assert breakdown["spot"] == Decimal("8.8298245")  # 2 x (18.02005 - 13.60513775)
    assert breakdown["ecrStorage"] == Decimal("1.5")  # 3 x 5 GiB x 0.10
    assert breakdown["network"] == 0

    # The printed report rounds each billed line to the cent and adds the rounded lines up:
    # worker/scheduler after = 9.60 + 2.11 (on-demand) + 1.55 + 0.34 (Spot) + 0.50 (ECR) = 14.10
    # (the exact 14.105 would round to 14.11, and three such rows would not add up to the total).
    data = report.to_dict()
    assert data["before"]["monthly"] == 165.18
    assert data["after"]["monthly"] == 46.72  # 18.52 + 14.10 + 14.10
    assert data["monthlySavings"] == 118.46
    assert data["percent"] == 71.7
    # 118.46 split by largest remainder: the floors 81.09, 27.03, 8.82, 1.50 leave 2 cents, which
    # go to the largest remainders (Spot's .98, rightsizing's .0225)
    assert [b["monthly"] for b in data["breakdown"]] == [81.1, 0.0, 27.03, 8.83, 1.5, 0.0]
    assert data["services"] == [
        {"service": "api", "before": 55.06, "after": 18.52, "monthlySavings": 36.54},
        {"service": "scheduler", "before": 55.06, "after": 14.1, "monthlySavings": 40.96},
        {"service": "worker", "before": 55.06, "after": 14.1, "monthlySavings": 40.96},
    ]


def test_to_dict_has_exactly_the_documented_shape():
    before = dev_fleet()
    data = compute_savings(before, before, USE1).to_dict()
    assert savings_errors(data) == []
    assert list(data)[:5] == ["schemaVersion", "basis", "environment", "cluster", "account"]
    assert data["schemaVersion"] == SCHEMA_VERSION
    assert data["currency"] == "USD" and data["hoursPerMonth"] == 730
    assert data["pricing"] == {
        "source": USE1.source,
        "region": "us-east-1",
        "asOf": "2026-11-01",
        "commitmentRates": {
            "source": "table",
            "asOf": "2026-11-01",
            "description": "embedded table of typical Compute Savings Plan discounts for Fargate",
        },
    }
    assert data["existingSavingsPlans"] is None  # no plans read from the table
    assert list(data["before"]) == ["monthly"] and list(data["after"]) == ["monthly"]
    assert [b["category"] for b in data["breakdown"]] == list(CATEGORIES)
    assert list(CATEGORIES) == ["rightsizing", "graviton", "taskCount", "spot", "ecrStorage", "network"]
    assert all(list(b) == ["category", "monthly"] for b in data["breakdown"])
    assert all(list(s) == ["service", "before", "after", "monthlySavings"] for s in data["services"])


# ----------------------------------------------------------------- lever sequence


def test_levers_are_sequential_not_independent():
    # Halving the size AND the count: rightsizing is priced at the old count (3 tasks),
    # taskCount at the new size. Independent pricing would count the overlap twice.
    before = {"s": svc("s", cpu=1024, memory=2048, desired=4, keep=None)}
    after = {"s": before["s"].with_changes(cpu=512, memory=1024, desired_count=2)}
    task_big = (Decimal("0.04048") + 2 * Decimal("0.004445")) * 730
    task_small = (Decimal("0.04048") / 2 + Decimal("0.004445")) * 730
    breakdown = compute_savings(before, after, USE1).breakdown()
    assert breakdown["rightsizing"] == 4 * (task_big - task_small)
    assert breakdown["taskCount"] == 2 * task_small


def test_spot_is_priced_at_the_discount_beyond_the_base():
    strategy = CapacityStrategy(base=1, on_demand_weight=1, spot_weight=4)
    before = {"s": svc("s", desired=6, keep=None)}
    after = {"s": before["s"].with_changes(strategy=strategy)}
    task = Decimal("18.02005")
    # 5 tasks beyond the base, 4/5 of them on Spot = 4 Spot tasks at 30% of the price
    report = compute_savings(before, after, USE1, spot_discount=0.70)
    assert report.breakdown()["spot"] == 4 * task * Decimal("0.70")
    report = compute_savings(before, after, USE1, spot_discount=0.5)
    assert report.breakdown()["spot"] == 4 * task * Decimal("0.5")


def test_ecr_prices_only_the_images_the_rule_keeps():
    images = [3 * GIB, 2 * GIB, GIB, GIB, GIB]  # newest first
    before = {"s": svc("s", desired=0, keep=None, images=images)}
    after = {"s": before["s"].with_changes(ecr_keep_images=2)}
    report = compute_savings(before, after, USE1)
    assert report.before_monthly == Decimal("0.8")  # 8 GiB x 0.10
    assert report.after_monthly == Decimal("0.5")  # the 2 newest: 5 GiB
    assert report.breakdown()["ecrStorage"] == Decimal("0.3")


def test_a_service_that_grows_is_reported_as_a_negative_lever():
    before = {"s": svc("s", cpu=256, memory=512, desired=2, keep=None)}
    after = {"s": before["s"].with_changes(cpu=512, memory=1024)}
    report = compute_savings(before, after, USE1)
    assert report.breakdown()["rightsizing"] < 0
    assert report.to_dict()["monthlySavings"] == -18.02


def test_arm_is_priced_at_arm_rates():
    before = {"s": svc("s", desired=1, keep=None, arch="ARM64")}
    expected = (Decimal("0.03238") / 2 + Decimal("0.00356")) * 730
    assert compute_savings(before, before, USE1).before_monthly == expected


def test_random_fleets_break_down_exactly_at_every_rounding():
    rng = random.Random(20261101)
    pairs = all_pairs()
    for _ in range(50):
        before = {}
        for i in range(rng.randint(1, 8)):
            cpu, memory = rng.choice(pairs)
            images = [rng.randint(1, 5 * GIB) for _ in range(rng.randint(0, 15))]
            before[f"s{i}"] = svc(
                f"s{i}",
                cpu=cpu,
                memory=memory,
                desired=rng.randint(1, 9),
                min_capacity=rng.randint(1, 3),
                critical=rng.random() < 0.3,
                keep=rng.choice([None, 3, 10]),
                images=images,
            )
        opts = SizingOptions(spot_share=rng.choice([0.7, 0.8, 1.0]))
        after = {n: plan_service(s, rng.choice(["dev", "prod"]), "fixed", None, opts).after for n, s in before.items()}
        network = NetworkState(rng.randint(0, 3), 3, rng.randint(0, 6))
        report = compute_savings(before, after, USE1, network=network)
        assert sum(report.breakdown().values()) == report.monthly_savings
        data = report.to_dict()
        parts = sum(dec(b["monthly"]) for b in data["breakdown"])
        assert parts == dec(data["monthlySavings"])
        assert dec(data["before"]["monthly"]) - dec(data["after"]["monthly"]) == parts


def test_services_missing_from_after_are_unchanged_and_unknown_ones_rejected():
    before = dev_fleet()
    report = compute_savings(before, {}, USE1)
    assert report.monthly_savings == 0
    with pytest.raises(ValueError, match="ghost"):
        compute_savings(before, {"ghost": svc("ghost")}, USE1)
    with pytest.raises(ValueError, match="spot_discount"):
        compute_savings(before, before, USE1, spot_discount=1.5)


# ----------------------------------------------------------------- network


def test_network_lever_counts_a_cheaper_recommended_design():
    # 3 NAT gateways + 5 endpoints in 3 AZs: 3 x 32.85 + 5 x 21.90 = 208.05
    # recommended: 1 NAT + the same 5 endpoints = 32.85 + 109.50 = 142.35
    network = NetworkState(nat_gateway_count=3, availability_zones=3, interface_endpoint_count=5)
    before = dev_fleet()
    report = compute_savings(before, before, USE1, network=network)
    assert report.breakdown()["network"] == Decimal("65.70")
    assert report.before_monthly == Decimal("165.18045") + Decimal("208.05")
    assert report.to_dict()["breakdown"][-1] == {"category": "network", "monthly": 65.7}
    assert "recommendation" in report.notes[0]


def test_network_lever_never_reports_a_negative_saving():
    # 2 NATs in 2 AZs, no endpoints: 65.70 today against 32.85 + 5 x 2 x 7.30 = 105.85
    network = NetworkState(nat_gateway_count=2, availability_zones=2, interface_endpoint_count=0)
    costs = network_costs(network, USE1)
    assert costs.before == Decimal("65.70")
    assert costs.recommended == Decimal("105.85")
    assert costs.saving == 0
    report = compute_savings(dev_fleet(), dev_fleet(), USE1, network=network)
    assert report.breakdown()["network"] == 0
    assert report.monthly_savings == 0
    assert "$40.15 a month more" in report.notes[0]


def test_without_network_outputs_the_network_lever_is_zero_and_unpriced():
    report = compute_savings(dev_fleet(), dev_fleet(), USE1)
    assert report.breakdown()["network"] == 0
    assert report.before_monthly == Decimal("165.18045")
    assert report.notes == ()


# ----------------------------------------------------------------- rendering


def fixed_report(network=None):
    before = dev_fleet()
    after = {n: plan_service(s, "dev", "fixed", None, LEAST_SPOT).after for n, s in before.items()}
    return compute_savings(before, after, USE1, network=network)


def test_json_rendering_is_to_dict():
    report = fixed_report()
    text = render_savings(report, "json")
    assert json.loads(text) == report.to_dict()
    assert text.startswith('{\n  "schemaVersion": "2.1"')


def test_table_rendering_is_aligned_and_complete():
    text = render_savings(fixed_report(NetworkState(3, 3, 5)), "table")
    lines = text.splitlines()
    assert lines[0].startswith("Estimated monthly savings: ")  # the headline first
    start = lines.index("Per service") + 1
    service_table = lines[start : lines.index("", start)]  # header, rule, rows
    assert service_table[2].startswith("api ")
    assert len({len(line) for line in service_table}) == 1  # right-aligned money columns
    assert "49.3% of compute and network" in text and "71.7% of compute" in text
    # with the network: 165.18 + 208.05 before, 46.72 + 142.35 after (the rows' sums)
    for expected in (
        "$373.23",
        "$189.07",
        "$184.16",
        "rightsizing",
        "$81.10",
        "network (NAT, endpoints)",
        "$65.70",
        "2026-11-01",
        "730 hours",
    ):
        assert expected in text


def test_markdown_rendering_is_a_github_table():
    text = render_savings(fixed_report(), "markdown")
    assert "| service | before | after | saving |" in text
    assert "|:---|---:|---:|---:|" in text
    assert "| api | $55.06 | $18.52 | $36.54 |" in text
    assert "| rightsizing | $81.10 |" in text
    assert "| total | $165.18 | $46.72 | $118.46 (71.7% of compute) |" in text
    assert text.startswith(COMMENT_MARKER + "\n")


def test_unknown_format_is_rejected():
    with pytest.raises(ValueError, match="yaml"):
        render_savings(fixed_report(), "yaml")


def test_network_lever_prices_aws_bound_traffic_moved_from_nat_to_endpoints():
    """3 NAT gateways, no endpoints, 1,000 GB a month of AWS-bound traffic (us-east-1 list prices):
    before = 3 x 0.045 x 730 + 1000 x 0.045 = 98.55 + 45 = 143.55;
    after = 1 x 32.85 + 5 endpoints x 3 AZs x 0.01 x 730 + 1000 x 0.01 = 32.85 + 109.50 + 10 = 152.35;
    so at 1,000 GB the recommendation still costs more (no saving), and at 10,000 GB
    before = 98.55 + 450 = 548.55, after = 142.35 + 100 = 242.35: a saving of 306.20."""

    prices = table_prices("us-east-1")
    small = network_costs(NetworkState(3, 3, 0, 1, aws_traffic_gb_month=1000), prices)
    assert float(small.before) == pytest.approx(143.55)
    assert float(small.recommended) == pytest.approx(152.35)
    assert "no network saving" in small.note
    large = network_costs(NetworkState(3, 3, 0, 1, aws_traffic_gb_month=10000), prices)
    assert float(large.before - large.recommended) == pytest.approx(306.20)
    assert "10,000.0 GB a month of AWS-bound" in large.note


def test_the_schema_rejects_a_report_that_breaks_it():
    data = fixed_report(NetworkState(3, 3, 5)).to_dict()
    assert savings_errors(data) == []
    broken = dict(data, percentBase="of something", before={"monthly": "12"})
    del broken["generatedAt"]
    errors = savings_errors(broken)
    assert any(e.startswith("(root): 'generatedAt' is a required property") for e in errors)
    assert any(e.startswith("percentBase:") for e in errors) and any(e.startswith("before/monthly:") for e in errors)


def test_savings_plan_covers_the_on_demand_floor_at_the_dated_discounts():
    """After the fixed plan: api (critical, 0.25 vCPU/0.5 GB) keeps min 1 task on-demand;
    scheduler and worker (1 on-demand base, 70% Spot above it) min 1 -> 1 on-demand task each.
    Floor = 3 x (0.25 x 0.04048 + 0.5 x 0.004445) = 3 x 0.0123425 = 0.0370275 $/hour."""
    plan = fixed_report().savings_plan
    assert [tasks for _, tasks, _ in plan.floor_by_service] == [1, 1, 1]
    assert float(plan.floor_hourly) == pytest.approx(0.0370275)
    one, three = plan.terms
    assert (one.term, float(one.discount), three.term, float(three.discount)) == (
        "1yr-no-upfront",
        0.2,
        "3yr-no-upfront",
        0.45,
    )
    assert float(one.hourly_commitment) == pytest.approx(0.0370275 * 0.8)
    assert float(three.monthly_savings) == pytest.approx(0.0370275 * 0.45 * 730)
    data = fixed_report().to_dict()["savingsPlan"]
    assert data["applied"] is False and data["terms"][0]["breakEvenUtilizationPercent"] == 80.0
    # never counted in the totals
    assert fixed_report().to_dict()["monthlySavings"] == 118.46
