"""``--format markdown``: a pull-request comment (GitHub-flavoured markdown).

A savings report starts with :data:`~..models.COMMENT_MARKER`, a hidden HTML comment a CI job
finds to update its earlier comment in place, then the headline (what is saved, where), then
the per-service and per-lever tables; the billed components are folded into ``<details>``.
"""

from __future__ import annotations

from typing import Any, List, Mapping

from .. import sections
from ..models import COMMENT_MARKER, EXPORT, OPTIMIZE, ORGANIZATION, ROLLBACK, SAVINGS, Report, where_line
from ..registry import renders
from ..render import markdown_table
from .table import ORGANIZATION_HEADER, export_script, organization_rows, organization_title


def details(summary: str, body: str) -> List[str]:
    """A folded block; the blank lines let GitHub render the markdown inside it."""
    return ["<details>", f"<summary>{summary}</summary>", "", body, "", "</details>", ""]


def savings_lines(data: Mapping[str, Any], level: str = "###") -> List[str]:
    lines = [f"{level} {sections.headline(data)}", "", f"_{where_line(data)}_", ""]
    lines += [f"- {line}" for line in sections.percent_lines(data)] + [""]
    lines += [markdown_table(sections.SERVICE_HEADER, sections.service_rows(data)), ""]
    for title, header, rows_of in sections.SUMMARY_SECTIONS:
        rows = rows_of(data)
        if rows:
            lines += [f"{level}# {title}", "", markdown_table(header, rows), ""]
    for title, header, rows_of in sections.COMPONENT_SECTIONS:
        rows = rows_of(data)
        if rows:
            lines += details(f"{title} ({len(rows)} lines)", markdown_table(header, rows))
    facts = sections.fact_lines(data)[1:]  # the where line is under the headline
    facts = [f for f in facts if f not in sections.percent_lines(data)]
    return lines + [f"- {fact}" for fact in facts]


@renders(SAVINGS, "markdown")
def savings(report: Report) -> str:
    return "\n".join([COMMENT_MARKER, *savings_lines(report.document)]).rstrip("\n")


@renders(OPTIMIZE, "markdown")
def optimize(report: Report) -> str:
    data = report.document
    lines = [
        f"## {sections.optimize_title(data)}",
        "",
        f"_{where_line(data)}_",
        "",
        f"Journal: {data['journal'] or 'none (nothing was changed)'}",
        *([f"OOM evidence: {data['oomEvidence']['note']}"] if data.get("oomEvidence") else []),
        "",
        markdown_table(["service", "status", "lever", "change", "old -> new"], sections.change_rows(data["services"])),
        "",
    ]
    order = "\n".join(f"{i}. {step}" for i, step in enumerate(sections.migration_order(), 1))
    lines += details("Migration order, per service", order)
    reasons = sections.reasons(data["services"], "- ")
    if reasons:
        lines += ["Reasons:", "", *reasons, ""]
    if data.get("configWriteBack") is not None:
        lines += [*sections.writeback_lines(data["configWriteBack"], "- ", "  "), ""]
    if data.get("savings") is not None:
        lines += savings_lines(data["savings"])
    return "\n".join(lines).rstrip("\n")


@renders(ROLLBACK, "markdown")
def rollback(report: Report) -> str:
    data = report.document
    lines = [
        f"## {sections.rollback_title(data)}",
        "",
        f"_{where_line(data)}_",
        "",
        markdown_table(
            ["service", "status", "lever", "change", "now -> restored"], sections.change_rows(data["services"])
        ),
    ]
    reasons = sections.reasons(data["services"], "- ")
    if reasons:
        lines += ["", *reasons]
    files = data.get("configFiles") or []
    if files:
        lines += ["", "Config files:", *[sections.file_restore_line(f, "- ") for f in files]]
    return "\n".join(lines)


@renders(EXPORT, "markdown")
def export(report: Report) -> str:
    return "\n".join(["```sh", *export_script(report), "```"])


@renders(ORGANIZATION, "markdown")
def organization(report: Report) -> str:
    data = dict(report.document)
    rows = organization_rows(data)
    return "\n".join([COMMENT_MARKER, f"### {organization_title(data)}", "", markdown_table(ORGANIZATION_HEADER, rows)])
