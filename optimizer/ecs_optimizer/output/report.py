"""Reports of ``optimize`` and ``rollback`` as a text table, markdown or JSON (stdout only).

The savings part is rendered by :mod:`savings`; this module lays out the per-service
``old -> new`` changes (each labelled with its lever, from :mod:`levers.registry`), the
migration order and the reasons.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Sequence

from ..apply.engine import OptimizeOutcome
from ..apply.rollback import RollbackOutcome
from ..levers import registry
from ..pricing.savings import SavingsReport, render_savings
from ..writeback.export import export_command, export_lines
from ..writeback.files import WriteBackReport
from ..writeback.plan import KeyPlan
from .render import table, truncate

FORMATS = ("table", "json", "markdown")
SIDES = ("before", "after")


def format_value(value: Any) -> str:
    """A compact, human-readable rendering of a journal, plan or config value (a lever may
    show its own values its way: :meth:`levers.base.Lever.shown`)."""
    if value is None:
        return "none"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return truncate(text, 60)


def _change_rows(services: Sequence[Dict[str, Any]]) -> List[List[str]]:
    rows = []
    for svc in services:
        changes = svc["changes"] or [{"resource": "-", "field": "", "before": None, "after": None}]
        for i, c in enumerate(changes):
            what = f"{c['resource']}.{c['field']}" if c["field"] else c["resource"]
            lever = registry.label_of(c["resource"], c["field"]) if c["field"] else ""
            shown = [registry.shown(c["resource"], c["field"], c[side]) or format_value(c[side]) for side in SIDES]
            arrow = "" if what == "-" else " -> ".join(shown)
            rows.append([svc["service"] if i == 0 else "", svc["status"] if i == 0 else "", lever, what, arrow])
    return rows


def _reasons(services: Sequence[Dict[str, Any]], fmt: str) -> List[str]:
    bullet = "- " if fmt == "markdown" else "  "
    return [f"{bullet}{s['service']} ({s['status']}): {s['reason']}" for s in services if s["reason"]]


def optimize_dict(
    outcome: OptimizeOutcome, savings: Optional[SavingsReport], writeback: Optional[WriteBackReport] = None
) -> Dict[str, Any]:
    data = {
        "cluster": outcome.cluster,
        "dryRun": outcome.dry_run,
        "policy": outcome.policy,
        "journal": str(outcome.journal) if outcome.journal else None,
        "services": [r.to_dict() for r in outcome.results],
        "savings": savings.to_dict() if savings else None,
    }
    if writeback is not None:
        data["configWriteBack"] = writeback.to_dict()
    return data


def writeback_lines(report: WriteBackReport, fmt: str) -> List[str]:
    """The ``--write-config`` section: each file's keys, the layers left unwritten, the notes."""
    bullet = "- " if fmt == "markdown" else "  "
    lines = ["Config write-back:"]
    for f in report.files:
        detail = f": {f.error}" if f.error else f" ({len(f.changes)} keys)" if f.changes else ""
        lines.append(f"{bullet}{f.layer} {f.path}: {f.status}{detail}")
        lines += [
            f"{'  ' if fmt == 'markdown' else '    '}{c.key}: {format_value(c.before)} -> {format_value(c.after)}"
            for c in f.changes
        ]
    for layer, keys in report.unwritten.items():
        lines.append(f"{bullet}{layer}: not written, no --write-config file for this layer: {', '.join(keys)}")
    if not report.files and not report.unwritten:
        lines.append(f"{bullet}nothing to write: no service was changed")
    lines += [f"{bullet}note: {note}" for note in report.notes]
    return lines


def render_optimize(
    outcome: OptimizeOutcome, savings: Optional[SavingsReport], fmt: str, writeback: Optional[WriteBackReport] = None
) -> str:
    data = optimize_dict(outcome, savings, writeback)
    if fmt == "json":
        return json.dumps(data, indent=2, default=str)
    head = "## " if fmt == "markdown" else ""
    mode = "dry run: nothing was changed" if outcome.dry_run else "applied"
    lines = [
        f"{head}ecs-optimizer optimize: cluster {outcome.cluster}, policy {outcome.policy}, {mode}",
        "",
        f"Journal: {data['journal'] or 'none (nothing was changed)'}",
        "",
        "Migration order, per service:",
        *[f"{'' if fmt == 'markdown' else '  '}{i}. {step}" for i, step in enumerate(registry.migration_order(), 1)],
        "",
        table(fmt, ["service", "status", "lever", "change", "old -> new"], _change_rows(data["services"])),
    ]
    reasons = _reasons(data["services"], fmt)
    if reasons:
        lines += ["", "Reasons:", *reasons]
    if writeback is not None:
        lines += ["", *writeback_lines(writeback, fmt)]
    if savings is not None:
        lines += ["", render_savings(savings, fmt)]
    return "\n".join(lines)


def render_rollback(outcome: RollbackOutcome, fmt: str) -> str:
    data = outcome.to_dict()
    if fmt == "json":
        return json.dumps(data, indent=2, default=str)
    head = "## " if fmt == "markdown" else ""
    mode = "dry run: nothing was changed" if outcome.dry_run else "restored"
    lines = [
        f"{head}ecs-optimizer rollback: cluster {outcome.cluster}, journal {outcome.journal}, {mode}",
        "",
        table(fmt, ["service", "status", "lever", "change", "now -> restored"], _change_rows(data["services"])),
    ]
    reasons = _reasons(data["services"], fmt)
    if reasons:
        lines += ["", *reasons]
    if outcome.files:
        bullet = "- " if fmt == "markdown" else "  "
        lines += ["", "Config files:"]
        lines += [
            f"{bullet}{f.layer} {f.path}: {f.status}{f' ({f.reason})' if f.reason else ''}" for f in outcome.files
        ]
    return "\n".join(lines)


def render_export(plan: KeyPlan, stack: str, stacks_dir: str, fmt: str) -> str:
    """``export-config``'s output: shell commands (table), a fenced block (markdown), or JSON."""
    if fmt == "json":
        settings = [
            {"layer": s.layer, "key": s.key, "value": s.value, "command": export_command(s, stack, stacks_dir)}
            for s in plan.settings
        ]
        return json.dumps({"stack": stack, "settings": settings, "notes": list(plan.notes)}, indent=2)
    lines = export_lines(plan, stack, stacks_dir)
    if not lines:
        lines = ["# nothing to export: no service would change"]
    if fmt == "markdown":
        return "\n".join(["```sh", *lines, "```"])
    return "\n".join(lines)
