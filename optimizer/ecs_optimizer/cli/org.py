"""Organization-wide runs: the same read-only job in many accounts and regions, one report.

Modelled on Cloud Custodian's c7n-org: a file lists the accounts and the role to assume in
each; ``--regions`` lists the regions. Every (account, region) pair is one job run with the
credentials of the assumed role, at most ``concurrency`` at a time. A job that fails (the
role cannot be assumed, the cluster is not there, a throttled API gives up) is reported on
its own row with its one-line error, and the other jobs finish.

The accounts file is JSON::

    {"accounts": [
      {"id": "111111111111", "name": "payments-prod",
       "role": "arn:aws:iam::111111111111:role/ecs-optimizer",   # or a role name
       "environmentSuffix": "prod",                             # discovery: ecs-cluster-prod
       "regions": ["us-east-1"],                                # optional; else --regions
       "externalId": "..."}                                     # optional
    ]}
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import boto3

from ..core.errors import BadInput
from ..live.targets import read_json_file

log = logging.getLogger(__name__)

ACCOUNT_ID = re.compile(r"^\d{12}$")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]+$")
ROLE_NAME = re.compile(r"^[\w+=,.@/-]{1,64}$")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")

_ACCOUNT_KEYS = {"id", "name", "role", "environmentSuffix", "regions", "externalId"}


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    role_arn: str
    environment_suffix: str
    regions: Tuple[str, ...] = ()
    external_id: Optional[str] = None


def _region_list(value: Any, where: str) -> Tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(r, str) and REGION.match(r) for r in value):
        raise BadInput(f"{where}: expected a non-empty list of region names such as us-east-1, got {value!r}")
    return tuple(value)


def parse_regions(text: str) -> Tuple[str, ...]:
    """``--regions us-east-1,eu-west-1`` -> the region names, checked."""
    return _region_list([r.strip() for r in text.split(",") if r.strip()], "--regions")


def parse_accounts(data: Any, where: str) -> List[Account]:
    """The accounts file's contents, every field checked; errors name the file and entry."""
    if not isinstance(data, dict) or not isinstance(data.get("accounts"), list) or not data["accounts"]:
        raise BadInput(f'{where}: expected {{"accounts": [...]}} with at least one account')
    accounts: List[Account] = []
    seen = set()
    for i, entry in enumerate(data["accounts"]):
        at = f"{where}: accounts[{i}]"
        if not isinstance(entry, dict):
            raise BadInput(f"{at}: expected an object")
        unknown = sorted(set(entry) - _ACCOUNT_KEYS)
        if unknown:
            raise BadInput(f"{at}: unknown key {unknown[0]} (allowed: {', '.join(sorted(_ACCOUNT_KEYS))})")
        account_id = entry.get("id")
        if not isinstance(account_id, str) or not ACCOUNT_ID.match(account_id):
            raise BadInput(f"{at}.id: expected a 12-digit account id as a string, got {account_id!r}")
        role = entry.get("role")
        if not isinstance(role, str):
            raise BadInput(f"{at}.role: expected a role ARN or role name")
        arn_match = ROLE_ARN.match(role)
        if arn_match:
            if arn_match.group(1) != account_id:
                raise BadInput(f"{at}.role: {role} is in account {arn_match.group(1)}, not {account_id}")
            role_arn = role
        elif ROLE_NAME.match(role):
            role_arn = f"arn:aws:iam::{account_id}:role/{role}"
        else:
            raise BadInput(f"{at}.role: {role!r} is neither a role ARN nor a role name")
        suffix = entry.get("environmentSuffix")
        if not isinstance(suffix, str) or not suffix:
            raise BadInput(f"{at}.environmentSuffix: expected the environment suffix the fleet is discovered by")
        regions = _region_list(entry["regions"], f"{at}.regions") if "regions" in entry else ()
        external_id = entry.get("externalId")
        if external_id is not None and not isinstance(external_id, str):
            raise BadInput(f"{at}.externalId: expected a string")
        if account_id in seen:
            raise BadInput(f"{at}.id: account {account_id} is listed twice")
        seen.add(account_id)
        name = entry.get("name", account_id)
        if not isinstance(name, str) or not name:
            raise BadInput(f"{at}.name: expected a non-empty string")
        accounts.append(Account(account_id, name, role_arn, suffix, regions, external_id))
    return accounts


def load_accounts(path: str) -> List[Account]:
    return parse_accounts(read_json_file(path), path)


def assume_role_session(
    base: boto3.Session, account: Account, region: str, endpoint_url: Optional[str]
) -> boto3.Session:
    """A session with the credentials of ``account``'s role, in ``region``."""
    sts = base.client("sts", region_name=region, endpoint_url=endpoint_url)
    kwargs: Dict[str, Any] = {"RoleArn": account.role_arn, "RoleSessionName": "ecs-optimizer-org"}
    if account.external_id:
        kwargs["ExternalId"] = account.external_id
    creds = sts.assume_role(**kwargs)["Credentials"]
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=region,
    )


@dataclass(frozen=True)
class JobResult:
    """One (account, region) job: its report document, or the error that stopped it."""

    account: Account
    region: str
    document: Optional[dict] = None
    error: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.error is None


Job = Callable[[boto3.Session, Account, str], dict]
ErrorText = Callable[[BaseException], str]


def run_organization(
    accounts: Sequence[Account],
    regions: Sequence[str],
    base: boto3.Session,
    job: Job,
    describe_error: ErrorText,
    concurrency: int = 4,
    endpoint_url: Optional[str] = None,
) -> List[JobResult]:
    """Run ``job`` for every account and region (the account's own regions, else ``regions``),
    ``concurrency`` at a time; results in account-file order, then region order."""
    pairs = [(a, r) for a in accounts for r in (a.regions or tuple(regions))]
    if not pairs:
        raise BadInput("no regions to run in: pass --regions or give each account its regions")

    def one(pair: Tuple[Account, str]) -> JobResult:
        account, region = pair
        try:
            session = assume_role_session(base, account, region, endpoint_url)
            document = job(session, account, region)
        except Exception as exc:  # noqa: BLE001 - one account's failure is its row, not the run's end
            message = describe_error(exc)
            log.error("account %s (%s) %s: %s", account.name, account.id, region, message)
            return JobResult(account, region, error=message)
        log.info("account %s (%s) %s: done", account.name, account.id, region)
        return JobResult(account, region, document=document)

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        return list(pool.map(one, pairs))


# ----------------------------------------------------------------------------- the report

ORG_SCHEMA_VERSION = "1.0"


def _cents(value: Fraction) -> float:
    return float(round(value, 2)) or 0.0


def aggregate(results: Sequence[JobResult], generated_at: str) -> dict:
    """One document: a row per (account, region) and totals over the jobs that finished.

    Totals add the rows' cents, so they equal the sum a reader makes of the rows.
    """
    rows = []
    before = after = Fraction(0)
    for r in results:
        row: Dict[str, Any] = {
            "accountId": r.account.id,
            "accountName": r.account.name,
            "region": r.region,
            "environment": r.account.environment_suffix,
            "status": "ok" if r.ok else "failed",
            "error": r.error,
            "before": None,
            "after": None,
            "monthlySavings": None,
            "percent": None,
            "percentBase": None,
            "report": r.document,
        }
        if r.document is not None:
            d = r.document
            row.update(
                before=d["before"]["monthly"],
                after=d["after"]["monthly"],
                monthlySavings=d["monthlySavings"],
                percent=d["percent"],
                percentBase=d["percentBase"],
            )
            before += Fraction(str(d["before"]["monthly"]))
            after += Fraction(str(d["after"]["monthly"]))
        rows.append(row)
    saving = before - after
    return {
        "schemaVersion": ORG_SCHEMA_VERSION,
        "kind": "organization",
        "generatedAt": generated_at,
        "currency": "USD",
        "accounts": rows,
        "totals": {
            "jobs": len(rows),
            "succeeded": sum(1 for r in results if r.ok),
            "failed": sum(1 for r in results if not r.ok),
            "before": _cents(before),
            "after": _cents(after),
            "monthlySavings": _cents(saving),
            "percent": float(round(saving / before * 100, 1)) if before else 0.0,
            "percentBase": "of the finished accounts' before total",
        },
    }
