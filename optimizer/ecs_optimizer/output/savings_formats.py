"""The savings report in one of its formats: table, markdown, JSON, CSV or HTML.

The text, markdown and CSV formats are drawn by :mod:`.savings_render`, the HTML page by
:mod:`.html_report`; all of them from the one JSON document
(:meth:`~ecs_optimizer.pricing.savings.SavingsReport.to_dict`).
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from ..pricing.savings import SavingsReport
from .html_report import render_savings_html
from .savings_render import render_csv, render_text

FORMATS = ("table", "markdown", "json", "csv", "html")


def render(data: Mapping[str, Any], fmt: str) -> str:
    """``data`` (the savings JSON document) in ``fmt``."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of: {', '.join(FORMATS)}")
    if fmt == "json":
        return json.dumps(data, indent=2)
    if fmt == "csv":
        return render_csv(data)
    if fmt == "html":
        return render_savings_html(data, [])
    return render_text(data, markdown=fmt == "markdown")


def render_savings(report: SavingsReport, fmt: str = "table") -> str:
    """The report in ``fmt`` (one of :data:`FORMATS`)."""
    return render(report.to_dict(), fmt)
