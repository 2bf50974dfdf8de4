"""One report model per command: what each command reports, as the document ``--format json``
prints. Every other format draws from the same document (:mod:`.formats`), so the formats
agree with each other to the cent by construction: no renderer computes an amount.

Every document names where it was made: ``environment``, ``cluster``, ``account`` and
``region`` (``null`` where the command could not know one), read by :func:`where_line`.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional

from ..pricing.savings import REALISED
from ..writeback.export import PER_TIER_NOTE, export_command

if TYPE_CHECKING:  # pragma: no cover - the builders only read these objects
    from ..apply.engine import OptimizeOutcome
    from ..apply.rollback import RollbackOutcome
    from ..network.steps import StepResult
    from ..pricing.savings import SavingsReport
    from ..writeback.files import WriteBackReport
    from ..writeback.plan import KeyPlan

#: The report kinds (one per command that prints a report).
SAVINGS = "savings"
OPTIMIZE = "optimize"
ROLLBACK = "rollback"
EXPORT = "export-config"
ORGANIZATION = "organization"
MIGRATION_STEP = "migration-step"

#: Version of the ``optimize`` JSON document; its JSON Schema is
#: ``schemas/optimize-report.schema.json``. Bump it on any change that is not additive.
OPTIMIZE_SCHEMA_VERSION = "1.0"

#: Hidden first line of a markdown report; CI finds its earlier comment by it.
COMMENT_MARKER = "<!-- ecs-optimizer:savings -->"


@dataclass(frozen=True)
class Where:
    """Where a report was made; every report prints it."""

    environment: Optional[str] = None
    cluster: Optional[str] = None
    account: Optional[str] = None
    region: Optional[str] = None

    def to_dict(self) -> Dict[str, Optional[str]]:
        return {
            "environment": self.environment,
            "cluster": self.cluster,
            "account": self.account,
            "region": self.region,
        }


@dataclass(frozen=True)
class Report:
    """A command's report: its kind (which renderers draw it) and its JSON document."""

    kind: str
    document: Mapping[str, Any]


def utc_now() -> str:
    """The current time as ISO 8601 UTC to the second (``2026-12-08T01:02:03Z``)."""
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def where_line(document: Mapping[str, Any]) -> str:
    """``environment dev; cluster ecs-cluster-dev; account 123456789012; region us-east-1``."""
    parts = [f"{key} {document.get(key) or 'n/a'}" for key in ("environment", "cluster", "account", "region")]
    if document.get("generatedAt"):
        parts.append(f"generated {document['generatedAt']}")
    return "; ".join(parts)


def savings_title(document: Mapping[str, Any]) -> str:
    """``Estimated monthly savings`` for a plan, ``Realised monthly savings`` for a finished run."""
    return "Realised monthly savings" if document.get("basis") == REALISED else "Estimated monthly savings"


# --------------------------------------------------------------------------- builders


def savings_report(report: "SavingsReport") -> Report:
    """The savings report (schemas/savings-report.schema.json)."""
    return Report(SAVINGS, report.to_dict())


def optimize_report(
    outcome: "OptimizeOutcome",
    savings: Optional["SavingsReport"],
    where: Where,
    writeback: Optional["WriteBackReport"] = None,
) -> Report:
    """``optimize``'s report (schemas/optimize-report.schema.json). ``changesPending`` is what
    ``--detailed-exitcode`` reads: a dry run that would change a service or a stack file."""
    services = [_with_finding(r.to_dict(), outcome) for r in outcome.results]
    written = writeback.to_dict() if writeback is not None else None
    pending = outcome.dry_run and (
        any(s["status"] == "planned" for s in services) or any(f["changes"] for f in (written or {}).get("files", []))
    )
    document: Dict[str, Any] = {
        "schemaVersion": OPTIMIZE_SCHEMA_VERSION,
        **where.to_dict(),
        "generatedAt": utc_now(),
        "dryRun": outcome.dry_run,
        "changesPending": bool(pending),
        "policy": outcome.policy,
        "journal": str(outcome.journal) if outcome.journal else None,
        "services": services,
        "savings": savings.to_dict() if savings is not None else None,
    }
    if outcome.oom is not None:
        document["oomEvidence"] = outcome.oom.to_dict()
    if written is not None:
        document["configWriteBack"] = written
    return Report(OPTIMIZE, document)


def _with_finding(row: Dict[str, Any], outcome: "OptimizeOutcome") -> Dict[str, Any]:
    """A service's result with its finding and the performance risk of its recommendation."""
    finding = outcome.findings.get(row["service"])
    return {**row, "finding": finding.to_dict() if finding is not None else None}


def rollback_report(outcome: "RollbackOutcome", where: Where) -> Report:
    """``rollback``'s report: what was (or, in a dry run, would be) restored, and where.
    ``changesPending``: a dry run that would restore something."""
    data = outcome.to_dict()
    pending = outcome.dry_run and (
        any(s["status"] == "planned" for s in data["services"])
        or any(f["status"] == "planned" for f in data.get("configFiles", []))
    )
    document = {**where.to_dict(), "generatedAt": utc_now(), **data, "changesPending": bool(pending)}
    document["cluster"] = data.get("cluster") or where.cluster
    return Report(ROLLBACK, document)


def export_report(plan: "KeyPlan", stack: str, stacks_dir: str, where: Where) -> Report:
    """``export-config``'s report: one ``pulumi config set`` command per key, after the notes."""
    notes = list(plan.notes)
    if any(s.per_tier for s in plan.settings):
        notes.append(PER_TIER_NOTE)
    document = {
        **where.to_dict(),
        "generatedAt": utc_now(),
        "stack": stack,
        "settings": [
            {"layer": s.layer, "key": s.key, "value": s.value, "command": export_command(s, stack, stacks_dir)}
            for s in plan.settings
        ],
        "notes": notes,
    }
    return Report(EXPORT, document)


def organization_report(document: Mapping[str, Any]) -> Report:
    """The organization-wide savings report (schemas/org-savings-report.schema.json): a row
    per account and region, each naming its environment."""
    return Report(ORGANIZATION, document)


def migration_step_report(result: "StepResult", where: Where) -> Report:
    """One network migration step's report (schemas/migration-step.schema.json)."""
    return Report(MIGRATION_STEP, {**where.to_dict(), **result.to_dict()})
