"""``--format table``: terminal tables (``rich``) and plain lines, for a person at a terminal.

Tables wrap to the terminal width (``COLUMNS``) at word boundaries; a cell is never split
inside a word (a table too narrow for its longest words is printed wider instead).
"""

from __future__ import annotations

from typing import List

from .. import sections
from ..models import EXPORT, MIGRATION_STEP, OPTIMIZE, ORGANIZATION, ROLLBACK, SAVINGS, Report, where_line
from ..registry import renders
from ..render import text_table, usd


def savings_lines(data: dict) -> List[str]:
    lines = [sections.headline(data), where_line(data), ""]
    lines += [text_table(sections.SERVICE_HEADER, sections.service_rows(data), "Per service"), ""]
    for title, header, rows_of in sections.SUMMARY_SECTIONS + sections.COMPONENT_SECTIONS:
        rows = rows_of(data)
        if rows:
            lines += [text_table(header, rows, title), ""]
    return lines + sections.fact_lines(data)[1:]


@renders(SAVINGS, "table")
def savings(report: Report) -> str:
    return "\n".join(savings_lines(dict(report.document))).rstrip("\n")


@renders(OPTIMIZE, "table")
def optimize(report: Report) -> str:
    data = report.document
    lines = [
        sections.optimize_title(data),
        where_line(data),
        "",
        f"Journal: {data['journal'] or 'none (nothing was changed)'}",
        *([f"OOM evidence: {data['oomEvidence']['note']}"] if data.get("oomEvidence") else []),
        "",
        "Migration order, per service:",
        *[f"  {i}. {step}" for i, step in enumerate(sections.migration_order(), 1)],
        "",
        text_table(
            ["service", "status", "lever", "change", "old -> new"], sections.change_rows(data["services"]), wrap=False
        ),
    ]
    reasons = sections.reasons(data["services"], "  ")
    if reasons:
        lines += ["", "Reasons:", *reasons]
    if data.get("configWriteBack") is not None:
        lines += ["", *sections.writeback_lines(data["configWriteBack"], "  ", "    ")]
    if data.get("savings") is not None:
        lines += ["", *savings_lines(dict(data["savings"]))]
    return "\n".join(lines).rstrip("\n")


@renders(ROLLBACK, "table")
def rollback(report: Report) -> str:
    data = report.document
    lines = [
        sections.rollback_title(data),
        where_line(data),
        "",
        text_table(
            ["service", "status", "lever", "change", "now -> restored"],
            sections.change_rows(data["services"]),
            wrap=False,
        ),
    ]
    reasons = sections.reasons(data["services"], "  ")
    if reasons:
        lines += ["", *reasons]
    files = data.get("configFiles") or []
    if files:
        lines += ["", "Config files:"]
        lines += [sections.file_restore_line(f, "  ") for f in files]
    return "\n".join(lines)


def export_script(report: Report) -> List[str]:
    """The commands as a shell script: where, then the notes as ``#`` comments, then one
    ``pulumi config set`` per key."""
    data = report.document
    lines = [f"# ecs-optimizer export-config: {where_line(data)}"]
    lines += [f"# {note}" for note in data["notes"]]
    lines += [s["command"] for s in data["settings"]]
    if not data["settings"]:
        lines.append("# nothing to export: no service would change")
    return lines


@renders(EXPORT, "table")
def export(report: Report) -> str:
    return "\n".join(export_script(report))


def organization_rows(data: dict) -> List[List[str]]:
    rows = []
    for row in data["accounts"]:
        ok = row["status"] == "ok"
        rows.append(
            [
                f"{row['accountName']} ({row['accountId']})",
                row["region"],
                row.get("environment") or "-",
                row["status"],
                usd(row["before"]) if ok else "-",
                usd(row["after"]) if ok else "-",
                usd(row["monthlySavings"]) if ok else "-",
                f"{row['percent']:.1f}% {row['percentBase']}" if ok else row["error"],
            ]
        )
    t = data["totals"]
    rows.append(
        [
            "total",
            "",
            "",
            f"{t['succeeded']}/{t['jobs']} ok",
            usd(t["before"]),
            usd(t["after"]),
            usd(t["monthlySavings"]),
            f"{t['percent']:.1f}% {t['percentBase']}",
        ]
    )
    return rows


ORGANIZATION_HEADER = ["account", "region", "environment", "status", "before", "after", "saving", "note"]


def organization_title(data: dict) -> str:
    return f"Organization-wide estimated monthly savings ({data['generatedAt']})"


@renders(ORGANIZATION, "table")
def organization(report: Report) -> str:
    data = dict(report.document)
    return text_table(ORGANIZATION_HEADER, organization_rows(data), organization_title(data), wrap=False)


@renders(MIGRATION_STEP, "table")
def migration_step(report: Report) -> str:
    return "\n".join(sections.step_lines(report.document))
