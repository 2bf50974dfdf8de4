"""``verify``'s report: a text table, markdown (a pull-request comment), JSON (versioned, see
``schemas/verify-report.schema.json``), CSV (one row per service and signal) or an HTML page.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
from typing import Any, Dict, List

from ..output.render import table
from ..output.report import render_rollback
from . import verdicts as vd
from .run import VerifyOutcome
from .windows import Window

#: The JSON report's version: bumped when a field changes meaning or goes away.
SCHEMA_VERSION = 1
FORMATS = ("table", "markdown", "json", "csv", "html")
COMMENT_MARKER = "<!-- ecs-optimizer:verify -->"
CSV_HEADER = ["service", "verdict", "signal", "judgement", "before", "after", "unit", "detail"]


def _iso(ts: dt.datetime) -> str:
    return ts.astimezone(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _window(w: Window) -> Dict[str, Any]:
    return {"start": _iso(w.start), "end": _iso(w.end), "seconds": int(w.length.total_seconds())}


def verify_dict(outcome: VerifyOutcome) -> Dict[str, Any]:
    w = outcome.windows
    summary = {str(v): len(outcome.of(v)) for v in vd.Verdict}
    return {
        "schemaVersion": SCHEMA_VERSION,
        "journal": outcome.journal,
        "cluster": outcome.cluster,
        "runId": outcome.run_id,
        "run": {"start": _iso(w.run_start), "end": _iso(w.run_end)},
        "windows": {
            "requestedSeconds": int(w.requested.total_seconds()),
            "periodSeconds": w.period,
            "complete": w.complete,
            "before": _window(w.before),
            "after": _window(w.after),
        },
        "thresholds": outcome.thresholds.to_dict(),
        "summary": {"healthy": summary["healthy"], "regressed": summary["regressed"], "tooEarly": summary["too early"]},
        "services": [s.to_dict() for s in outcome.services],
        "notes": list(outcome.notes),
        "rollback": outcome.rollback.to_dict() if outcome.rollback else None,
    }


def _headline(outcome: VerifyOutcome) -> str:
    w = outcome.windows
    after = f"{int(w.after.length.total_seconds() // 60)} of {int(w.requested.total_seconds() // 60)} min"
    return (
        f"ecs-optimizer verify: cluster {outcome.cluster}, journal {outcome.journal}; "
        f"run {_iso(w.run_start)} .. {_iso(w.run_end)}; after window {after}, compared with as long before"
    )


def _rows(outcome: VerifyOutcome) -> List[List[str]]:
    rows = []
    for svc in outcome.services:
        for i, s in enumerate(svc.signals):
            rows.append(
                [
                    svc.service if i == 0 else "",
                    str(svc.verdict) if i == 0 else "",
                    str(s.signal),
                    s.change,
                    str(s.judgement),
                ]
            )
    return rows


def _summary_line(outcome: VerifyOutcome) -> str:
    parts = [f"{len(outcome.of(v))} {v}" for v in vd.Verdict]
    return "Verdicts: " + ", ".join(parts)


def render_text(outcome: VerifyOutcome, fmt: str) -> str:
    markdown = fmt == "markdown"
    bullet = "- " if markdown else "  "
    lines = [COMMENT_MARKER] if markdown else []
    lines += [f"{'## ' if markdown else ''}{_headline(outcome)}", "", _summary_line(outcome)]
    if outcome.services:
        lines += ["", table(fmt, ["service", "verdict", "signal", "before -> after", "judgement"], _rows(outcome))]
        lines += ["", "Verdicts:"]
        lines += [f"{bullet}{s.service}: {s.verdict}: {s.reason}" for s in outcome.services]
    if outcome.notes:
        lines += ["", "Notes:", *[f"{bullet}{n}" for n in outcome.notes]]
    if outcome.rollback is not None:
        lines += ["", render_rollback(outcome.rollback, fmt)]
    return "\n".join(lines)


def render_csv(outcome: VerifyOutcome) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for svc in outcome.services:
        for s in svc.signals:
            writer.writerow(
                [
                    svc.service,
                    svc.verdict,
                    s.signal,
                    s.judgement,
                    "" if s.before is None else repr(s.before),
                    "" if s.after is None else repr(s.after),
                    s.unit,
                    s.detail,
                ]
            )
    return out.getvalue().rstrip("\n")


_CSS = (
    "body{font-family:system-ui,sans-serif;margin:2rem;color:#1b2430}"
    "table{border-collapse:collapse}td,th{padding:.3rem .7rem;border-bottom:1px solid #d8dde6;text-align:left}"
    ".regressed{color:#c0493b;font-weight:600}.healthy{color:#1f7a5c}.too-early{color:#8a6d1a}"
)


def render_html(outcome: VerifyOutcome) -> str:
    e = html.escape
    rows = []
    for svc in outcome.services:
        css = str(svc.verdict).replace(" ", "-")
        for i, s in enumerate(svc.signals):
            head = (
                f'<td rowspan="{len(svc.signals)}">{e(svc.service)}</td>'
                f'<td rowspan="{len(svc.signals)}" class="{css}">{e(str(svc.verdict))}</td>'
                if i == 0
                else ""
            )
            rows.append(
                f"<tr>{head}<td>{e(str(s.signal))}</td><td>{e(s.change)}</td>"
                f'<td class="{str(s.judgement).replace(" ", "-")}">{e(str(s.judgement))}</td><td>{e(s.detail)}</td></tr>'
            )
    notes = "".join(f"<li>{e(n)}</li>" for n in outcome.notes)
    rollback = f"<pre>{e(render_rollback(outcome.rollback, 'table'))}</pre>" if outcome.rollback else ""
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8"><title>ecs-optimizer verify</title>',
            f"<style>{_CSS}</style></head><body>",
            f"<h1>{e(_headline(outcome))}</h1>",
            f"<p>{e(_summary_line(outcome))}</p>",
            "<table><thead><tr><th>service</th><th>verdict</th><th>signal</th><th>before -&gt; after</th>"
            "<th>judgement</th><th>detail</th></tr></thead><tbody>",
            *rows,
            "</tbody></table>",
            f"<ul>{notes}</ul>" if notes else "",
            rollback,
            "</body></html>",
        ]
    )


def render_verify(outcome: VerifyOutcome, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(verify_dict(outcome), indent=2, default=str)
    if fmt == "csv":
        return render_csv(outcome)
    if fmt == "html":
        return render_html(outcome)
    return render_text(outcome, fmt)
