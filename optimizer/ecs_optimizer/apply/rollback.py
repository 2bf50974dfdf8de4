"""``ecs-optimizer rollback``: restore what a journal records, files first, then each service's
resources (with :class:`restore.Restorer`), after checking that the journal was written
against this cluster, account, region, endpoint and environment."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from ..core.changes import CONFIG_FILE
from ..core.errors import BadInput, TargetsNotFound
from ..live.aws import AwsContext
from ..writeback.files import FileRestore, restore_files
from .journal import Journal, JournalContents
from .lock import ClusterLock
from .restore import RestoreOutcome, RestoreStatus, restore_changes

#: The IAM actions this module's AWS calls need (collected into iam_actions.json by
#: :mod:`ecs_optimizer.apply.permissions`).
IAM_ACTIONS = ("ecs:DescribeClusters",)

log = logging.getLogger(__name__)


@dataclass
class ServiceLine:
    """One service in a rollback report."""

    service: str
    status: RestoreStatus
    changes: List[Dict[str, Any]]
    reason: str

    def to_dict(self) -> Dict[str, Any]:
        return {"service": self.service, "status": self.status, "changes": self.changes, "reason": self.reason}


@dataclass
class RollbackOutcome:
    cluster: str
    journal: str
    dry_run: bool
    services: List[ServiceLine] = field(default_factory=list)
    #: Stack files the run's write-back edited (none when it wrote none).
    files: List[FileRestore] = field(default_factory=list)

    @property
    def failed(self) -> List[ServiceLine]:
        return [s for s in self.services if s.status == RestoreStatus.FAILED]

    @property
    def failed_files(self) -> List[FileRestore]:
        return [f for f in self.files if f.status == RestoreStatus.FAILED]

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {
            "cluster": self.cluster,
            "journal": self.journal,
            "dryRun": self.dry_run,
            "services": [s.to_dict() for s in self.services],
        }
        if self.files:
            out["configFiles"] = [f.to_dict() for f in self.files]
        return out


def _summarise(services: List[str], outcomes: List[RestoreOutcome], done_status: RestoreStatus) -> List[ServiceLine]:
    lines = []
    for name in services:
        mine = [o for o in outcomes if o.step.service == name]
        changes = [
            {"resource": c.resource, "field": c.field, "before": c.before, "after": c.after}
            for o in mine
            for c in o.changes
        ]
        errors = [o.error for o in mine if o.error]
        notes = [n for o in mine for n in o.notes]
        if errors:
            lines.append(ServiceLine(name, RestoreStatus.FAILED, changes, "; ".join(errors + notes)))
        elif changes:
            lines.append(ServiceLine(name, done_status, changes, "; ".join(notes)))
        else:
            lines.append(
                ServiceLine(
                    name, RestoreStatus.UNCHANGED, [], "; ".join(["already at the journal's before values"] + notes)
                )
            )
    return lines


@dataclass(frozen=True)
class Place:
    """Where a rollback would write: compared with where the journal's run wrote."""

    cluster: str
    region: Optional[str]
    account: Optional[str]
    endpoint_url: Optional[str]
    environment_suffix: Optional[str] = None


def check_place(contents: JournalContents, here: Place) -> None:
    """Refuse (bad input) a journal written against another cluster, account, region,
    endpoint or environment than the one this rollback would write to."""
    header = contents.header
    pairs = [
        ("cluster", header.get("cluster"), here.cluster),
        ("region", header.get("region"), here.region),
        ("account", header.get("account"), here.account),
        ("endpoint", header.get("endpointUrl"), here.endpoint_url),
    ]
    if here.environment_suffix is not None:
        pairs.append(("environment", header.get("environmentSuffix"), here.environment_suffix))
    for what, journal_value, here_value in pairs:
        if what in ("account", "region") and journal_value is None:
            continue  # journals of older versions do not record them
        if (journal_value or None) != (here_value or None):
            raise BadInput(
                f"{contents.path}: the journal's {what} is {journal_value or 'none (real AWS)' if what == 'endpoint' else journal_value}, "
                f"this rollback would write to {here_value or ('real AWS' if what == 'endpoint' else 'none')}; "
                "nothing restored (pass --ignore-journal-target if that is really meant)"
            )


def cluster_place(ctx: AwsContext, cluster: str) -> Tuple[bool, Optional[str]]:
    """(whether ``cluster`` exists and is ACTIVE here, its account)."""
    found = ctx.ecs.describe_clusters(clusters=[cluster]).get("clusters", [])
    active = [c for c in found if c.get("status") == "ACTIVE"]
    if not active:
        return False, None
    arn = str(active[0].get("clusterArn") or "")
    return True, arn.split(":")[4] if arn.count(":") >= 5 else None


def rollback(
    ctx: AwsContext,
    contents: JournalContents,
    wait_timeout: float,
    poll_interval: float,
    concurrency: int,
    force_unlock: bool = False,
    environment_suffix: Optional[str] = None,
    ignore_target: bool = False,
) -> RollbackOutcome:
    """Restore the journal's before values. The whole journal was validated when it was read;
    then the cluster must exist here and the place must be the journal's (else nothing is
    written). A first, read-only pass finds what differs; when nothing does (a second
    rollback) no lock is taken and nothing is written. Restoring writes are appended to the
    journal, intent first."""
    cluster = contents.header["cluster"]
    exists, account = cluster_place(ctx, cluster)
    if not exists:
        raise TargetsNotFound(f"cluster {cluster} (from {contents.path}) not found in {ctx.region}; nothing restored")
    if not ignore_target:
        check_place(contents, Place(cluster, ctx.region, account, ctx.settings.endpoint_url, environment_suffix))
    aws_changes = [c for c in contents.restorable if c.resource != CONFIG_FILE]
    services = sorted({c.service for c in aws_changes})
    preview = restore_changes(ctx, aws_changes, wait_timeout, poll_interval, concurrency, dry_run=True)
    files = restore_files(contents.changes, dry_run=True)
    pending = any(o.changes or o.error for o in preview) or any(f.status == RestoreStatus.PLANNED for f in files)
    if ctx.dry_run or not pending:
        return RollbackOutcome(
            cluster, contents.path, ctx.dry_run, _summarise(services, preview, RestoreStatus.PLANNED), files
        )
    with ClusterLock(ctx, cluster, run_id=uuid.uuid4().hex[:16]) as lock:
        lock.acquire(force=force_unlock)
        files = restore_files(contents.changes)
        journal = Journal(Path(contents.path), None)
        try:
            outcomes = restore_changes(ctx, aws_changes, wait_timeout, poll_interval, concurrency, journal)
        finally:
            journal.close()
    return RollbackOutcome(cluster, contents.path, False, _summarise(services, outcomes, RestoreStatus.RESTORED), files)
