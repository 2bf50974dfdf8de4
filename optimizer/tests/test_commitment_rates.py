"""Savings Plans rates read from AWS (the lab's stand-in), the account's active plans, the fallback."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from fractions import Fraction

import pytest

from ecs_optimizer.apply import permissions
from ecs_optimizer.core.model import CapacityStrategy, ServiceState
from ecs_optimizer.pricing.commitments import LIVE, TABLE, ExistingPlan, load_commitment_rates
from ecs_optimizer.pricing.prices import PRICE_TABLES
from ecs_optimizer.pricing.savings import compute_savings
from ecs_optimizer_lab import savings_plans as lab

USE1 = PRICE_TABLES["us-east-1"]
ON_DEMAND = CapacityStrategy(base=0, on_demand_weight=1, spot_weight=0)


def savings_json(run_cli, outputs_file, *extra):
    result = run_cli(
        "savings", "--outputs", outputs_file, "--policy", "fixed", "--pricing", "live", "--format", "json", *extra
    )
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout), result.stderr


def lab_rate(client, usage_type, seconds):
    """The stand-in's 1- or 3-year No Upfront rate for one usage type, read through the API."""
    rows = client("savingsplans").describe_savings_plans_offering_rates(
        savingsPlanTypes=["Compute"],
        savingsPlanPaymentOptions=["No Upfront"],
        usageTypes=[usage_type],
        filters=[{"name": "region", "values": ["us-east-1"]}],
    )["searchResults"]
    (rate,) = [Decimal(r["rate"]) for r in rows if r["savingsPlanOffering"]["durationSeconds"] == seconds]
    return rate


def buy(client, commitment, seconds=lab.ONE_YEAR):
    offering = next(
        r["savingsPlanOffering"]["offeringId"]
        for r in client("savingsplans").describe_savings_plans_offering_rates(savingsPlanPaymentOptions=["No Upfront"])[
            "searchResults"
        ]
        if r["savingsPlanOffering"]["durationSeconds"] == seconds
    )
    client("savingsplans").create_savings_plan(savingsPlanOfferingId=offering, commitment=str(commitment))


def test_live_rates_are_read_and_the_discount_is_computed_from_them(session, client):
    """One task of 0.25 vCPU / 0.5 GB: the discount is the plan price of that task against its
    on-demand price, computed from the rates AWS answers (the lab's: 24%/22% off for 1 year)."""
    rates = load_commitment_rates("us-east-1", "live", session)
    assert rates.source == LIVE and rates.as_of == dt.datetime.now(dt.timezone.utc).date().isoformat()
    state = ServiceState("api", 256, 512, 1, 1, 2, True, "X86_64", ON_DEMAND, None, ())
    plan = compute_savings({"api": state}, {"api": state}, USE1, commitments=rates).savings_plan
    assert plan is not None and plan.rates_source == LIVE
    for term, seconds in (("1yr-no-upfront", lab.ONE_YEAR), ("3yr-no-upfront", lab.THREE_YEARS)):
        vcpu = lab_rate(client, "USE1-Fargate-vCPU-Hours:perCPU", seconds)
        gb = lab_rate(client, "USE1-Fargate-GB-Hours", seconds)
        expected = 1 - Fraction(Decimal("0.25") * vcpu + Decimal("0.5") * gb) / Fraction(
            Decimal("0.25") * USE1.fargate_vcpu_hour_x86 + Decimal("0.5") * USE1.fargate_gb_hour_x86
        )
        (found,) = [t for t in plan.terms if t.term == term]
        assert found.discount == expected
    # by hand: 1 year (0.01012 x 0.76 + 0.0022225 x 0.78) / 0.0123425 = 0.7636, 3 years
    # (0.01012 x 0.50 + 0.0022225 x 0.52) / 0.0123425 = 0.5036: neither the table's 20% nor 45%
    assert [round(float(t.discount), 4) for t in plan.terms] == [0.2364, 0.4964]


def test_the_report_carries_the_live_source_and_no_fallback_warning(outputs_file, run_cli):
    data, stderr = savings_json(run_cli, outputs_file)
    assert data["pricing"]["commitmentRates"]["source"] == "live"
    assert data["pricing"]["commitmentRates"]["asOf"] == dt.datetime.now(dt.timezone.utc).date().isoformat()
    assert "Savings Plans rates" not in stderr
    plan = data["savingsPlan"]
    assert plan["ratesSource"] == "live" and plan["alreadyCoveredHourly"] == 0
    one, three = plan["terms"]
    assert 22 < one["discountPercent"] < 24 and 48 < three["discountPercent"] < 50  # the lab's rates
    assert data["existingSavingsPlans"] is None


def test_existing_plans_reduce_the_reported_saving(outputs_file, run_cli, client):
    buy(client, "0.0001")
    data, _ = savings_json(run_cli, outputs_file)
    small = data["existingSavingsPlans"]
    before, after = small["onDemandBeforeHourly"], small["onDemandAfterHourly"]
    assert before > after > 0
    # a second plan that brings the coverage half-way between the usage after and before
    one_year = data["savingsPlan"]["terms"][0]["discountPercent"] / 100
    buy(client, round((before + after) / 2 * (1 - one_year) - 0.0001, 4))
    data, _ = savings_json(run_cli, outputs_file)
    existing = data["existingSavingsPlans"]
    assert len(existing["plans"]) == 2 and {p["type"] for p in existing["plans"]} == {"Compute"}
    covered = existing["coveredOnDemandHourly"]
    assert after < covered < before
    # the cut below the coverage is usage the plans already pay for: it saves nothing
    absorbed = (covered - after) * 730
    assert existing["absorbedMonthly"] == pytest.approx(absorbed, abs=0.2)
    assert existing["monthlySavingsAfterExistingPlans"] == pytest.approx(data["monthlySavings"] - absorbed, abs=0.2)
    assert existing["monthlySavingsAfterExistingPlans"] < data["monthlySavings"]
    # the recommendation covers only the floor the plans leave
    assert data["savingsPlan"]["alreadyCoveredHourly"] > 0


def test_an_ec2_instance_plan_does_not_cover_fargate(session):
    plan = ExistingPlan("p", "EC2Instance", lab.ONE_YEAR, "No Upfront", Fraction(5))
    state = ServiceState("api", 256, 512, 2, 1, 2, True, "X86_64", ON_DEMAND, None, ())
    rates = load_commitment_rates("us-east-1", "live", session)
    report = compute_savings(
        {"api": state}, {"api": state.with_changes(desired_count=1)}, USE1, commitments=_with(rates, plan)
    )
    assert report.existing_plans is None and report.monthly_savings_after_existing_plans == report.monthly_savings


def _with(rates, *plans):
    from dataclasses import replace

    return replace(rates, existing=tuple(plans))


def test_every_format_shows_the_rate_source_and_the_saving_after_existing_plans(outputs_file, run_cli, client):
    buy(client, "0.01")
    data, _ = savings_json(run_cli, outputs_file)
    after_plans = data["existingSavingsPlans"]["monthlySavingsAfterExistingPlans"]
    for fmt in ("table", "markdown", "csv", "html"):
        result = run_cli(
            "savings", "--outputs", outputs_file, "--policy", "fixed", "--pricing", "live", "--format", fmt
        )
        assert result.exit_code == 0, result.stderr
        assert "AWS Savings Plans offering rates" in result.stdout, fmt
        assert f"{after_plans:,.2f}" in result.stdout.replace("\u00a0", " "), fmt
    csv_rows = run_cli("savings", "--outputs", outputs_file, "--policy", "fixed", "--format", "csv").stdout
    assert "savingsPlanRates,table,compute,embedded table" in csv_rows and "existingSavingsPlans" not in csv_rows
    # a plan that covers the whole floor leaves nothing more to recommend
    buy(client, "5")
    data, _ = savings_json(run_cli, outputs_file)
    assert data["savingsPlan"]["onDemandFloorHourly"] == 0
    assert data["savingsPlan"]["risk"].startswith("the account's active Compute Savings Plans already cover")


@pytest.mark.parametrize(
    ("fault", "reason"),
    [("AccessDeniedException", "AccessDeniedException"), ("empty", "empty answer")],
)
def test_the_table_is_used_with_a_warning_naming_why(outputs_file, run_cli, monkeypatch, fault, reason):
    if fault == "empty":
        monkeypatch.setattr(lab.STAND_IN, "rates", [])
    else:
        monkeypatch.setenv(lab.FAULT_ENV, fault)
    data, stderr = savings_json(run_cli, outputs_file)
    assert "Savings Plans rates for us-east-1 could not be read" in stderr and reason in stderr
    assert "using the embedded discounts dated 2026-11-01" in stderr
    assert data["pricing"]["commitmentRates"] == {
        "source": TABLE,
        "asOf": "2026-11-01",
        "description": "embedded table of typical Compute Savings Plan discounts for Fargate",
    }
    assert [t["discountPercent"] for t in data["savingsPlan"]["terms"]] == [20.0, 45.0]


def test_the_calls_are_recorded_and_declared(outputs_file, run_cli, contexts):
    savings_json(run_cli, outputs_file)
    used = set().union(*(set(ctx.recorder.counts) for ctx in contexts))
    wanted = {"savingsplans:DescribeSavingsPlansOfferingRates", "savingsplans:DescribeSavingsPlans"}
    assert wanted <= used
    assert wanted <= set(permissions.load_actions().read)
    # the table source never calls the API
    contexts.clear()
    assert run_cli("savings", "--outputs", outputs_file, "--policy", "fixed").exit_code == 0
    assert not any(op.startswith("savingsplans:") for ctx in contexts for op in ctx.recorder.counts)


def test_the_emulator_server_answers_and_counts_savings_plans_calls():
    from ecs_optimizer_lab import emulator as em

    with em.Emulator() as server:
        savingsplans = em.emulator_client(server.endpoint, "us-east-1", "savingsplans")
        page = savingsplans.describe_savings_plans_offering_rates(
            usageTypes=["USE1-Fargate-GB-Hours"], savingsPlanPaymentOptions=["No Upfront"], maxResults=1
        )
        assert len(page["searchResults"]) == 1 and page["nextToken"]
        assert savingsplans.describe_savings_plans(states=["active"])["savingsPlans"] == []
        counts = server.calls()
    assert counts["savingsplans:DescribeSavingsPlansOfferingRates"] == 1
    assert counts["savingsplans:DescribeSavingsPlans"] == 1
