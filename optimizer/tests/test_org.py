"""Organization-wide savings over several emulated accounts (moto's STS AssumeRole gives each
role's credentials their own account): per-account rows, totals that add up, and one failing
account that does not stop the others."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from typing import Any, Dict

import boto3
import pytest

from ecs_optimizer.cli.org import parse_accounts
from ecs_optimizer.core.errors import BadInput
from ecs_optimizer_lab.emulator import seed_fleet_through
from helpers import write_json
from plan_snapshots import FLEET, SEED

ACCOUNTS = {"111111111111": "payments", "222222222222": "search", "333333333333": "empty"}
ROLE = "ecs-optimizer"


def role_session(account: str) -> boto3.Session:
    creds = boto3.client("sts", region_name=FLEET.region).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{ROLE}", RoleSessionName="seed"
    )["Credentials"]
    return boto3.Session(
        creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"], region_name=FLEET.region
    )


@pytest.fixture
def org_file(aws: None, tmp_path) -> str:
    """Fleets in the first two accounts; the third has none, so its run fails."""
    for account in list(ACCOUNTS)[:2]:
        session = role_session(account)
        seed_fleet_through(FLEET.in_account(account), lambda name, s=session: s.client(name), seed=SEED, concurrency=1)
    entries = [
        {"id": account, "name": name, "role": ROLE, "environmentSuffix": FLEET.suffix}
        for account, name in ACCOUNTS.items()
    ]
    return write_json(tmp_path / "accounts.json", {"accounts": entries})


def run_org(run_cli, org_file: str, fmt: str):
    return run_cli("savings", "--accounts", org_file, "--regions", FLEET.region, "--policy", "fixed", "--format", fmt)


def test_org_run_aggregates_accounts_and_isolates_the_failing_one(org_file, run_cli, outputs_file):
    result = run_org(run_cli, org_file, "json")
    assert result.exit_code == 4, result.stderr  # partial: one account failed, the others finished
    doc = json.loads(result.stdout)
    rows = {r["accountId"]: r for r in doc["accounts"]}
    assert list(rows) == list(ACCOUNTS)
    assert rows["333333333333"]["status"] == "failed"
    assert "ecs-cluster-dev not found" in rows["333333333333"]["error"]
    ok = [rows[a] for a in list(ACCOUNTS)[:2]]
    assert all(r["status"] == "ok" and r["report"]["cluster"] == FLEET.cluster_name for r in ok)
    # the same fleet in both accounts: each row equals a single-account run on the default account
    single = run_cli("savings", "--outputs", outputs_file, "--policy", "fixed", "--format", "json")
    alone = json.loads(single.stdout)
    for r in ok:
        assert (r["before"], r["after"], r["monthlySavings"]) == (
            alone["before"]["monthly"],
            alone["after"]["monthly"],
            alone["monthlySavings"],
        )
    totals = doc["totals"]
    assert (totals["jobs"], totals["succeeded"], totals["failed"]) == (3, 2, 1)
    assert totals["before"] == float(sum(Decimal(str(r["before"])) for r in ok))
    assert totals["monthlySavings"] == float(sum(Decimal(str(r["monthlySavings"])) for r in ok))
    assert "1 of 3 account/region runs failed: empty us-east-1" in result.stderr


def test_org_table_and_csv_show_a_row_per_account(org_file, run_cli):
    table = run_org(run_cli, org_file, "table")
    assert table.exit_code == 4
    for account, name in ACCOUNTS.items():
        assert f"{name} ({account})" in table.stdout
    assert "2/3 ok" in table.stdout
    rows = list(csv.DictReader(io.StringIO(run_org(run_cli, org_file, "csv").stdout)))
    assert [r["status"] for r in rows[:3]] == ["ok", "ok", "failed"]
    assert rows[-1]["accountName"] == "total"
    assert float(rows[-1]["monthlySavings"]) == round(sum(float(r["monthlySavings"]) for r in rows[:2]), 2)


def test_a_bad_accounts_file_is_one_line_and_exit_2(aws, run_cli, tmp_path):
    bad = write_json(tmp_path / "a.json", {"accounts": [{"id": "12345", "role": ROLE, "environmentSuffix": "dev"}]})
    result = run_cli("savings", "--accounts", bad, "--regions", FLEET.region)
    assert result.exit_code == 2
    assert "accounts[0].id: expected a 12-digit account id" in result.stderr
    result = run_cli("savings", "--regions", "us-east-1")
    assert result.exit_code == 2 and "--regions needs --accounts" in result.stderr


@pytest.mark.parametrize(
    "entry, message",
    [
        (
            {"id": "111111111111", "role": "arn:aws:iam::222222222222:role/x", "environmentSuffix": "dev"},
            "is in account 222222222222",
        ),
        ({"id": "111111111111", "role": ROLE}, "environmentSuffix"),
        ({"id": "111111111111", "role": ROLE, "environmentSuffix": "dev", "regions": ["mars-1"]}, "region names"),
        ({"id": "111111111111", "role": ROLE, "environmentSuffix": "dev", "team": "x"}, "unknown key team"),
    ],
)
def test_accounts_file_errors_name_the_entry_and_field(entry: Dict[str, Any], message: str):
    with pytest.raises(BadInput, match=message):
        parse_accounts({"accounts": [entry]}, "accounts.json")


def test_optimize_dry_run_plans_across_accounts_and_changes_nothing(org_file, run_cli):
    result = run_cli(
        "optimize",
        "--dry-run",
        "--accounts",
        org_file,
        "--regions",
        FLEET.region,
        "--policy",
        "fixed",
        "--format",
        "json",
    )
    assert result.exit_code == 4, result.stderr
    doc = json.loads(result.stdout)
    assert [r["status"] for r in doc["accounts"]] == ["ok", "ok", "failed"]
    assert doc["totals"]["monthlySavings"] > 0
    for account in list(ACCOUNTS)[:2]:  # nothing changed: the seeded counts and revisions stand
        ecs = role_session(account).client("ecs")
        names = [f"{name}-{FLEET.suffix}" for name in FLEET.catalog]
        services = ecs.describe_services(cluster=FLEET.cluster_name, services=names)["services"]
        assert {s["serviceName"]: s["desiredCount"] for s in services} == {
            FLEET.service(name)["serviceName"]: FLEET.service(name)["desiredCount"] for name in FLEET.catalog
        }
        assert all(s["taskDefinition"].endswith(":1") for s in services)
    refused = run_cli("optimize", "--accounts", org_file, "--regions", FLEET.region)
    assert refused.exit_code == 2 and "with --dry-run only" in refused.stderr
