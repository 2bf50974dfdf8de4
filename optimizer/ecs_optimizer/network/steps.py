"""One network migration step at a time: ``savings --migration-step NAME``.

The optimizer never changes the network in AWS. The network lever's migration (see
:func:`network_lever.migration_plan`) is made by the network layer's owners, and this module
lets them take it one step at a time, each checked before the next:

* ``endpoints``: writes ``network:interfaceEndpoints`` (today's list plus the missing required
  endpoints) into the network stack file given with ``--write-config``; then ``pulumi up``.
* ``verify``: writes nothing. It reads ``AWS/PrivateLinkEndpoints`` ``BytesProcessed`` (Sum
  over the lookback) of the deployed ``ecr.dkr``, ``logs`` and ``secretsmanager`` endpoints
  (their ids from the network outputs' ``vpcEndpoints``), and passes when each one processed
  bytes: tasks pulled images, wrote logs and read secrets through the endpoints.
* ``natStrategy``: writes ``network:natStrategy``, only once every required endpoint is
  deployed (the outputs list it) and the verification passes at that moment.

A written step is journalled like ``optimize --write-config`` (the file's text before and
after), so ``rollback --journal FILE`` puts the file back byte for byte.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ..apply.journal import Journal, default_path
from ..core import facts
from ..core.errors import BadInput
from ..live.aws import AwsContext
from ..live.metrics import PERIOD_SECONDS, window
from ..writeback.files import FileReport, write_file
from ..writeback.setting import Setting
from ..writeback.stack_file import StackFile
from ..writeback.yaml_edit import config_value
from .lever import REQUIRED_INTERFACE_ENDPOINTS, STEP_ENDPOINTS, STEP_NAT, STEP_VERIFY, MigrationStep

#: The IAM actions this module's AWS calls need (collected into iam_actions.json by
#: :mod:`ecs_optimizer.apply.permissions`).
IAM_ACTIONS = ("cloudwatch:GetMetricData",)

log = logging.getLogger(__name__)

#: The endpoints whose traffic proves the fleet uses them, and what that traffic is.
VERIFIED_ENDPOINTS = {
    "ecr.dkr": "image pulls",
    "logs": "log events",
    "secretsmanager": "secret reads",
}
#: The network layer's config keys a step writes.
STEP_KEYS = {
    STEP_ENDPOINTS: facts.config_key("network", "interfaceEndpoints"),
    STEP_NAT: facts.config_key("network", "natStrategy"),
}


@dataclass(frozen=True)
class EndpointEvidence:
    service: str
    endpoint_id: Optional[str]  # None: not deployed (not in the outputs' vpcEndpoints)
    bytes_processed: int

    @property
    def passed(self) -> bool:
        return self.endpoint_id is not None and self.bytes_processed > 0

    def to_dict(self) -> Dict[str, Any]:
        return {
            "service": self.service,
            "carries": VERIFIED_ENDPOINTS[self.service],
            "endpointId": self.endpoint_id,
            "bytesProcessed": self.bytes_processed,
            "passed": self.passed,
        }


@dataclass(frozen=True)
class Verification:
    lookback_days: int
    evidence: List[EndpointEvidence]

    @property
    def passed(self) -> bool:
        return all(e.passed for e in self.evidence)

    def failures(self) -> str:
        out = []
        for e in self.evidence:
            if e.endpoint_id is None:
                out.append(f"{e.service} endpoint not deployed")
            elif not e.passed:
                out.append(f"{e.service} ({e.endpoint_id}) processed no bytes")
        return "; ".join(out)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "check": "AWS/PrivateLinkEndpoints BytesProcessed above zero over the lookback for each endpoint",
            "lookbackDays": self.lookback_days,
            "passed": self.passed,
            "endpoints": [e.to_dict() for e in self.evidence],
        }


def endpoint_metric(region: str, vpc_id: str, service: str, endpoint_id: str) -> Dict[str, Any]:
    """The metric CloudWatch publishes per interface endpoint (namespace, name, dimensions)."""
    return {
        "Namespace": "AWS/PrivateLinkEndpoints",
        "MetricName": "BytesProcessed",
        "Dimensions": [
            {"Name": "Endpoint Type", "Value": "Interface"},
            {"Name": "Service Name", "Value": f"com.amazonaws.{region}.{service}"},
            {"Name": "VPC Endpoint Id", "Value": endpoint_id},
            {"Name": "VPC Id", "Value": vpc_id},
        ],
    }


def verify_endpoints(
    ctx: AwsContext, outputs: Mapping[str, Any], where: str, lookback_days: int, now: Optional[dt.datetime] = None
) -> Verification:
    """Bytes each of :data:`VERIFIED_ENDPOINTS` processed over the lookback (read-only)."""
    endpoints = outputs.get("vpcEndpoints") or {}
    vpc = outputs.get("vpcId")
    if not isinstance(vpc, str) or not vpc:
        raise BadInput(f"{where}: vpcId: expected the VPC id, to read its endpoints' metrics")
    start, end = window(lookback_days, now)
    ids = {s: endpoints.get(s) for s in VERIFIED_ENDPOINTS}
    queries = [
        {
            "Id": f"e{i}",
            "MetricStat": {
                "Metric": endpoint_metric(ctx.region, vpc, s, str(ids[s])),
                "Period": PERIOD_SECONDS,
                "Stat": "Sum",
            },
            "ReturnData": True,
        }
        for i, s in enumerate(VERIFIED_ENDPOINTS)
        if ids[s]
    ]
    sums: Dict[str, Fraction] = {}
    kwargs: Dict[str, Any] = dict(MetricDataQueries=queries, StartTime=start, EndTime=end)
    while queries:
        page = ctx.cloudwatch.get_metric_data(**kwargs)
        for result in page.get("MetricDataResults", []):
            sums[result["Id"]] = sums.get(result["Id"], Fraction(0)) + sum(
                (Fraction(str(v)) for v in result.get("Values", [])), Fraction(0)
            )
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    evidence = [
        EndpointEvidence(s, ids[s] or None, int(sums.get(f"e{i}", Fraction(0))))
        for i, s in enumerate(VERIFIED_ENDPOINTS)
    ]
    for e in evidence:
        log.info(
            "endpoint %s (%s): %d bytes processed over %d days",
            e.service,
            e.endpoint_id or "not deployed",
            e.bytes_processed,
            lookback_days,
        )
    return Verification(lookback_days, evidence)


@dataclass
class StepResult:
    """What ``savings --migration-step`` did."""

    step: str
    verification: Optional[Verification] = None
    file: Optional[FileReport] = None
    journal: Optional[str] = None
    notes: List[str] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "migrationStep": self.step,
            "verification": self.verification.to_dict() if self.verification else None,
            "file": self.file.to_dict() if self.file else None,
            "journal": self.journal,
            "notes": list(self.notes),
        }


def find_step(plan: Sequence[MigrationStep], name: str, network_note: str) -> MigrationStep:
    """The plan's step called ``name``, or bad input saying why it is not in the plan."""
    for step in plan:
        if step.name == name:
            return step
    if not plan:
        raise BadInput(f"--migration-step {name}: the network lever recommends no migration ({network_note})")
    if name == STEP_ENDPOINTS:
        raise BadInput(
            f"--migration-step {name}: every required endpoint ({', '.join(REQUIRED_INTERFACE_ENDPOINTS)}) is already deployed"
        )
    raise BadInput(f"--migration-step {name}: the NAT gateway count is already the recommended one; nothing to switch")


def step_setting(step: MigrationStep, stack_file: StackFile) -> Setting:
    """The key a step writes. Endpoints: the file's own list (else the deployed one) with the
    missing required ones added, so no endpoint anyone configured is dropped."""
    key = STEP_KEYS[step.name]
    if step.name == STEP_ENDPOINTS:
        listed = config_value(stack_file, (key,))
        current = [str(v) for v in listed] if isinstance(listed, list) else list(step.before or [])
        wanted = current + [e for e in step.after if e not in current]
        return Setting("network", (key,), wanted)
    return Setting("network", (key,), str(step.after))


def run_step(
    ctx: AwsContext,
    plan: Sequence[MigrationStep],
    name: str,
    network_note: str,
    outputs: Mapping[str, Any],
    where: str,
    lookback_days: int,
    stack_file: Optional[StackFile],
    journal_path: Optional[str],
    header: Mapping[str, Any],
) -> StepResult:
    """Run one step: verify (read-only), or write its key into ``stack_file`` (journalled)."""
    if name == STEP_VERIFY:
        if stack_file is not None:
            raise BadInput("--migration-step verify writes nothing: drop --write-config")
        return StepResult(name, verify_endpoints(ctx, outputs, where, lookback_days))
    if stack_file is None:
        raise BadInput(
            f"--migration-step {name} writes {STEP_KEYS[name]}: pass --write-config with the network stack file"
        )
    step = find_step(plan, name, network_note)
    result = StepResult(name)
    if name == STEP_NAT:
        if any(s.name == STEP_ENDPOINTS for s in plan):
            raise BadInput(
                f"--migration-step {name}: the endpoints step is not done yet ({where} does not list "
                f"every one of {', '.join(REQUIRED_INTERFACE_ENDPOINTS)}); nothing written"
            )
        result.verification = verify_endpoints(ctx, outputs, where, lookback_days)
        if not result.verification.passed:
            raise BadInput(
                f"--migration-step {name}: the verification has not passed ({result.verification.failures()}); "
                "nothing written"
            )
    setting = step_setting(step, stack_file)
    journal: Optional[Journal] = None

    def record(change: Any) -> None:
        nonlocal journal
        journal = Journal(Path(journal_path) if journal_path else default_path(), dict(header))
        journal.change(change)

    try:
        result.file, result.notes = write_file(stack_file, [setting], record)
    finally:
        if journal is not None:
            journal.close()
            result.journal = str(journal.path)
    if result.file.status == "written":
        log.info("%s written; undo with: ecs-optimizer rollback --journal %s", STEP_KEYS[name], result.journal)
    return result
