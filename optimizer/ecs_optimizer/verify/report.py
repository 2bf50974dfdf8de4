"""``verify``'s report: a text table, markdown (a pull-request comment), JSON (versioned, see
``schemas/verify-report.schema.json``), CSV (one row per service and signal) or an HTML page.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
from typing import Any, Dict, List, Mapping, Optional

from ..output.models import ROLLBACK, Report, Where
from ..output.registry import render, renders
from ..output.render import table
from . import verdicts as vd
from .run import VerifyOutcome
from .windows import Window

#: The JSON report's version: bumped when a field changes meaning or goes away.
SCHEMA_VERSION = 1
#: The report kind the output registry draws.
VERIFY = "verify"
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


def _shown(value: Optional[float], unit: str) -> str:
    """A signal's value as the report shows it (as :meth:`~.verdicts.SignalResult.shown`)."""
    if value is None:
        return "n/a"
    if unit == "%":
        return f"{value:.2f}%"
    if unit == "s":
        return f"{value * 1000:.0f} ms"
    return f"{value:g}"


def _headline(d: Mapping[str, Any]) -> str:
    w = d["windows"]
    after = f"{w['after']['seconds'] // 60} of {w['requestedSeconds'] // 60} min"
    return (
        f"ecs-optimizer verify: cluster {d['cluster']}, journal {d['journal']}; "
        f"run {d['run']['start']} .. {d['run']['end']}; after window {after}, compared with as long before"
    )


def _rows(d: Mapping[str, Any]) -> List[List[str]]:
    rows = []
    for svc in d["services"]:
        for i, s in enumerate(svc["signals"]):
            change = f"{_shown(s['before'], s['unit'])} -> {_shown(s['after'], s['unit'])}"
            rows.append(
                [
                    svc["service"] if i == 0 else "",
                    str(svc["verdict"]) if i == 0 else "",
                    str(s["signal"]),
                    change,
                    str(s["judgement"]),
                ]
            )
    return rows


def _summary_line(d: Mapping[str, Any]) -> str:
    counts = {"healthy": "healthy", "regressed": "regressed", "too early": "tooEarly"}
    return "Verdicts: " + ", ".join(f"{d['summary'][counts[str(v)]]} {v}" for v in vd.Verdict)


def _rollback_text(d: Mapping[str, Any], fmt: str) -> str:
    """The ``--rollback-regressed`` part, drawn as ``rollback`` draws its own report."""
    where = Where(cluster=d["cluster"]).to_dict()
    document = {**where, "generatedAt": None, **d["rollback"], "changesPending": False}
    return render(Report(ROLLBACK, document), fmt)


def _text(d: Mapping[str, Any], fmt: str) -> str:
    markdown = fmt == "markdown"
    bullet = "- " if markdown else "  "
    lines = [COMMENT_MARKER] if markdown else []
    lines += [f"{'## ' if markdown else ''}{_headline(d)}", "", _summary_line(d)]
    if d["services"]:
        lines += ["", table(fmt, ["service", "verdict", "signal", "before -> after", "judgement"], _rows(d))]
        lines += ["", "Verdicts:"]
        lines += [f"{bullet}{s['service']}: {s['verdict']}: {s['reason']}" for s in d["services"]]
    if d["notes"]:
        lines += ["", "Notes:", *[f"{bullet}{n}" for n in d["notes"]]]
    if d["rollback"] is not None:
        lines += ["", _rollback_text(d, fmt)]
    return "\n".join(lines)


@renders(VERIFY, "table")
def _table(report: Report) -> str:
    return _text(report.document, "table")


@renders(VERIFY, "markdown")
def _markdown(report: Report) -> str:
    return _text(report.document, "markdown")


@renders(VERIFY, "json")
def _json(report: Report) -> str:
    return json.dumps(report.document, indent=2, default=str)


@renders(VERIFY, "csv")
def _csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for svc in report.document["services"]:
        for s in svc["signals"]:
            writer.writerow(
                [
                    svc["service"],
                    svc["verdict"],
                    s["signal"],
                    s["judgement"],
                    "" if s["before"] is None else repr(s["before"]),
                    "" if s["after"] is None else repr(s["after"]),
                    s["unit"],
                    s["detail"],
                ]
            )
    return out.getvalue().rstrip("\n")


_CSS = (
    "body{font-family:system-ui,sans-serif;margin:2rem;color:#1b2430}"
    "table{border-collapse:collapse}td,th{padding:.3rem .7rem;border-bottom:1px solid #d8dde6;text-align:left}"
    ".regressed{color:#c0493b;font-weight:600}.healthy{color:#1f7a5c}.too-early{color:#8a6d1a}"
    "@media print{body{margin:0}}"
)


@renders(VERIFY, "html")
def _html(report: Report) -> str:
    d = report.document
    e = html.escape
    rows = []
    for svc in d["services"]:
        css = str(svc["verdict"]).replace(" ", "-")
        for i, s in enumerate(svc["signals"]):
            span = len(svc["signals"])
            head = (
                f'<th scope="row" rowspan="{span}">{e(svc["service"])}</th>'
                f'<td rowspan="{span}" class="{css}">{e(str(svc["verdict"]))}</td>'
                if i == 0
                else ""
            )
            change = f"{_shown(s['before'], s['unit'])} -> {_shown(s['after'], s['unit'])}"
            rows.append(
                f"<tr>{head}<td>{e(str(s['signal']))}</td><td>{e(change)}</td>"
                f'<td class="{str(s["judgement"]).replace(" ", "-")}">{e(str(s["judgement"]))}</td>'
                f"<td>{e(s['detail'])}</td></tr>"
            )
    notes = "".join(f"<li>{e(n)}</li>" for n in d["notes"])
    rollback = f"<pre>{e(_rollback_text(d, 'table'))}</pre>" if d["rollback"] else ""
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8"><title>ecs-optimizer verify</title>',
            f"<style>{_CSS}</style></head><body>",
            f"<h1>{e(_headline(d))}</h1>",
            f"<p>{e(_summary_line(d))}</p>",
            "<table><caption>Verdict per service and signal</caption><thead><tr>"
            '<th scope="col">service</th><th scope="col">verdict</th><th scope="col">signal</th>'
            '<th scope="col">before -&gt; after</th><th scope="col">judgement</th><th scope="col">detail</th>'
            "</tr></thead><tbody>",
            *rows,
            "</tbody></table>",
            f"<ul>{notes}</ul>" if notes else "",
            rollback,
            "</body></html>",
        ]
    )


def verify_report(outcome: VerifyOutcome) -> Report:
    """``verify``'s report model: its JSON document (``schemas/verify-report.schema.json``)."""
    return Report(VERIFY, verify_dict(outcome))


def render_verify(outcome: VerifyOutcome, fmt: str) -> str:
    """The report drawn in ``fmt`` (the output registry)."""
    return render(verify_report(outcome), fmt)
