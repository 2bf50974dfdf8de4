"""Organization benchmark: ``ecs-optimizer savings --accounts`` over many emulated accounts.

One emulator holds every account: moto gives the credentials of each assumed role their own
account, so each account gets its own fleet (``FleetSpec.in_account``: the plan's services
scaled to ``services`` and renamed into that account) and its own 14 days of hourly history,
written through that account's credentials. The real ``ecs-optimizer`` entry point then runs
``savings --accounts FILE --regions R --format json`` as a separate process, and is measured
from outside as :mod:`scale` measures ``optimize``: wall time, the optimizer's CPU time, its
peak resident memory (``wait4``), and the AWS calls the emulator served by operation, against
the minimum the work needs:

* per account, one ``sts:AssumeRole`` and the ``ecs:ListServices`` pages that discover the
  environment's services (100 a page);
* per account, the planning reads of :func:`scale.minimum_reads` (every describe batched to its
  API's limit, the metric queries packed into as few ``GetMetricData`` calls as AWS allows).
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List

import boto3
from botocore.config import Config
from scale import LOOKBACK_DAYS, SEED, Measure, Progress, minimum_reads, run_cli, template_plan

from ecs_optimizer_lab.emulator import DUMMY_CREDENTIALS, Emulator
from ecs_optimizer_lab.fleet import fleet_from_plan
from ecs_optimizer_lab.history import container_insights_enabled, fleet_reservations, write_history
from ecs_optimizer_lab.seeding import seed_fleet_through
from ecs_optimizer_lab.synthetic import fleet_traces

#: A real organization run may make at most this multiple of the minimum calls.
CALLS_GOAL = 1.1

#: How RESULTS.md introduces the table.
DESCRIPTION = (
    "`ecs-optimizer savings --accounts FILE --regions us-east-1 --format json` over accounts emulated in one local "
    "emulator (moto gives each assumed role's credentials their own account). Each account holds its own fleet, the "
    "plan's services cloned round-robin and renamed into it, with 14 days of hourly history. The CLI runs as its "
    "own process; wall time includes the emulator's work (one process serving every account), *optimizer CPU* is "
    "the optimizer process's own. Calls are counted by the emulator. The minimum is, per account, one AssumeRole, "
    "the ListServices pages of discovery (100 a page) and the planning reads batched to each API's limit; the "
    f"goal is at most {CALLS_GOAL:.2f}x it."
)

ACCOUNTS = 50
SERVICES = 20
ROLE = "ecs-optimizer"
#: ECS ListServices returns at most 100 services a page.
LIST_SERVICES_PAGE = 100


@dataclass
class OrgResult:
    accounts: int
    services: int  # per account
    concurrency: int
    seed_seconds: float
    datapoints: int
    run: Measure
    minimum: Counter
    finished: int

    @property
    def ratio(self) -> float:
        return self.run.total / sum(self.minimum.values())


def account_ids(count: int) -> List[str]:
    return [f"{100000000000 + i:012d}" for i in range(1, count + 1)]


def _role_session(emu: Emulator, account: str) -> boto3.Session:
    sts = boto3.client(
        "sts",
        region_name=emu.region,
        endpoint_url=emu.endpoint,
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{ROLE}", RoleSessionName="bench-seed")["Credentials"]
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=emu.region,
    )


def run(
    root: Path, accounts: int = ACCOUNTS, services: int = SERVICES, concurrency: int = 8, progress: Progress = print
) -> OrgResult:
    template = fleet_from_plan(template_plan(root)).scaled(services)
    ids = account_ids(accounts)
    with tempfile.TemporaryDirectory(prefix="bench-org-") as tmp, Emulator(region=template.region) as emu:
        work = Path(tmp)
        started = time.monotonic()
        datapoints = 0
        minimum: Counter = Counter()
        config = Config(max_pool_connections=16, retries={"mode": "standard"})
        for n, account in enumerate(ids, 1):
            fleet = template.in_account(account)
            session = _role_session(emu, account)

            def client(name: str, s: Any = session) -> Any:
                return s.client(name, endpoint_url=emu.endpoint, config=config)

            seed_fleet_through(fleet, client, seed=SEED, concurrency=4)
            names = fleet.service_names
            traces = fleet_traces(sorted(names), SEED)
            history = write_history(
                client("cloudwatch"),
                fleet.cluster_name,
                {names[k]: t for k, t in traces.items()},
                days=LOOKBACK_DAYS,
                seed=SEED,
                reservations=fleet_reservations(fleet) if container_insights_enabled(fleet) else None,
            )
            datapoints += history.datapoints
            minimum += minimum_reads(fleet)
            minimum["sts:AssumeRole"] += 1
            minimum["ecs:ListServices"] += max(
                1, math.ceil(len(fleet.compute_outputs["services"]) / LIST_SERVICES_PAGE)
            )
            if n % 10 == 0:
                progress(f"org: seeded {n} of {accounts} accounts ({time.monotonic() - started:.0f}s)")
        seeded = time.monotonic() - started
        accounts_file = work / "accounts.json"
        accounts_file.write_text(
            json.dumps(
                {
                    "accounts": [
                        {"id": a, "name": f"acct-{i:02d}", "role": ROLE, "environmentSuffix": template.suffix}
                        for i, a in enumerate(ids, 1)
                    ]
                }
            ),
            encoding="utf-8",
        )
        measured = run_cli(
            [
                "savings",
                "--accounts",
                str(accounts_file),
                "--regions",
                template.region,
                "--org-concurrency",
                str(concurrency),
                "--endpoint-url",
                emu.endpoint,
                "--format",
                "json",
            ],
            emu.env(),
            emu,
            "org",
            work,
        )
    finished = sum(1 for row in measured.report.get("accounts", []) if row.get("report"))
    progress(f"org: {accounts} x {services} services in {measured.wall:.1f}s, {measured.total} calls")
    return OrgResult(accounts, services, concurrency, seeded, datapoints, measured, minimum, finished)


def markdown(result: OrgResult) -> str:
    r, need = result.run, sum(result.minimum.values())
    lines = [
        "| accounts | services / account | concurrency | accounts finished | wall | optimizer CPU | peak RSS "
        "| AWS calls | minimum | calls / minimum | goal |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {result.accounts} | {result.services} | {result.concurrency} | {result.finished} | {r.wall:.1f} s "
        f"| {r.cpu:.1f} s | {r.max_rss_mib:.0f} MiB | {r.total} | {need} | {result.ratio:.2f} | {CALLS_GOAL:.2f} |",
        "",
        f"Calls by operation ({result.datapoints} datapoints of history seeded in {result.seed_seconds:.0f} s):",
        "",
        "| operation | calls | minimum |",
        "|---|---:|---:|",
    ]
    for op in sorted(set(r.calls) | set(result.minimum)):
        lines.append(f"| {op} | {r.calls.get(op, 0)} | {result.minimum.get(op, 0)} |")
    return "\n".join(lines)


def as_json(result: OrgResult) -> Dict[str, Any]:
    return {
        "accounts": result.accounts,
        "servicesPerAccount": result.services,
        "wallSeconds": round(result.run.wall, 1),
        "calls": result.run.total,
        "minimum": sum(result.minimum.values()),
        "peakRssMiB": round(result.run.max_rss_mib),
    }
