"""``--format html``: the savings report as one self-contained page, with charts a person can
take in at a glance.

Input is the savings report's document (what ``savings --format json`` prints) and, from the
demo, the live state of each service after the run (rows of
:func:`ecs_optimizer_lab.readback.read_live_state`, or any rows with the same keys).

The page needs nothing but a browser: CSS is inline (with a print layout), charts are inline
SVG drawn here, and there are no scripts, fonts, images or links to load, so it can be
attached to a ticket or opened from an air-gapped CI artifact. Every figure in a chart is also
in a table next to it (with a ``<caption>`` and ``<th scope>``), which is what screen readers
and copy-paste get.
"""

from __future__ import annotations

import datetime as dt
import html
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ...levers import registry
from ...pricing.savings import NETWORK_CATEGORY
from .. import sections
from ..models import REALISED, SAVINGS, Report, savings_title, where_line
from ..registry import renders
from ..render import numeric_columns, usd

#: The savings levers in the order the savings model applies them (and the waterfall shows).
LEVER_LABELS: Dict[str, str] = {
    **{step.category: step.label for step in registry.savings_steps()},
    NETWORK_CATEGORY: "Network",
}

_BEFORE = "#8c96a8"
_AFTER = "#1f7a5c"
_SAVING = "#2e9c74"
_COST = "#c0493b"

_CSS = """
:root { color-scheme: light; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color: #1d2430; background: #f6f7f9; margin: 0; }
main { max-width: 1040px; margin: 0 auto; padding: 28px 24px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 8px; }
p.lead { margin: 0 0 20px; color: #4a5568; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { background: #fff; border: 1px solid #dde1e7; border-radius: 8px; padding: 12px 16px; min-width: 170px; }
.card .label { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: #5a6475; }
.card .value { font-size: 24px; font-weight: 600; }
.card.saving .value { color: #1f7a5c; }
section { background: #fff; border: 1px solid #dde1e7; border-radius: 8px; padding: 8px 18px 16px; margin-top: 16px; }
svg { display: block; max-width: 100%; height: auto; }
svg text { font: 12px system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; fill: #1d2430; }
svg text.muted { fill: #5a6475; }
table { border-collapse: collapse; width: 100%; margin-top: 10px; font-size: 14px; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #e5e8ec; vertical-align: top; }
th { font-weight: 600; color: #3b4453; background: #f1f3f6; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: 600; border-top: 2px solid #c9ced6; }
.legend { display: flex; gap: 16px; font-size: 13px; color: #4a5568; margin: 4px 0 0; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
.neg { color: #c0493b; }
caption { text-align: left; font-weight: 600; padding: 4px 0; color: #3b4453; }
footer { margin-top: 28px; font-size: 13px; color: #5a6475; }
code { font-size: 13px; }
@media print {
  body { background: #fff; font-size: 11pt; }
  main { max-width: none; padding: 0; }
  section, .card { border: 1px solid #999; break-inside: avoid; page-break-inside: avoid; }
  h2 { break-after: avoid; page-break-after: avoid; }
  table { font-size: 10pt; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  .card.saving .value, .neg { color: #000; }
}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _nice_max(value: float) -> float:
    """The axis maximum: ``value`` rounded up to 1, 2 or 5 times a power of ten."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** len(str(int(value)))
    # Each step divides into four round ticks (25, 50, 75, 100, 150, 200 ...).
    for step in (0.1, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0):
        if value <= magnitude * step:
            return magnitude * step
    return float(magnitude)


def _ticks(maximum: float, count: int = 4) -> List[float]:
    return [maximum * i / count for i in range(count + 1)]


# ----------------------------------------------------------------------------- charts


def service_chart(services: Sequence[Mapping[str, Any]]) -> str:
    """Horizontal before/after bars per service, on one shared dollar axis."""
    label_w, chart_w, value_w = 190, 600, 110
    row_h, bar_h, top = 46, 15, 26
    width = label_w + chart_w + value_w
    height = top + row_h * max(1, len(services)) + 24
    peak = _nice_max(max([max(float(s["before"]), float(s["after"])) for s in services] or [0.0]))
    scale = chart_w / peak
    parts = [_svg_open(width, height, "Monthly cost per service, before and after")]
    for tick in _ticks(peak):
        x = label_w + tick * scale
        parts.append(f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height - 20}" stroke="#e5e8ec"/>')
        parts.append(f'<text class="muted" x="{x:.1f}" y="{height - 6}" text-anchor="middle">{_e(usd(tick))}</text>')
    for i, s in enumerate(services):
        y = top + i * row_h
        before, after = float(s["before"]), float(s["after"])
        parts.append(f'<text x="{label_w - 10}" y="{y + bar_h + 4}" text-anchor="end">{_e(s["service"])}</text>')
        for j, (value, color, name) in enumerate(((before, _BEFORE, "before"), (after, _AFTER, "after"))):
            yy = y + j * (bar_h + 2)
            w = max(1.0, value * scale)
            parts.append(
                f'<rect x="{label_w}" y="{yy}" width="{w:.1f}" height="{bar_h}" rx="2" fill="{color}">'
                f"<title>{_e(s['service'])} {name}: {_e(usd(value))} a month</title></rect>"
            )
            parts.append(f'<text x="{label_w + w + 6:.1f}" y="{yy + bar_h - 3}">{_e(usd(value))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def lever_chart(before_total: float, breakdown: Sequence[Mapping[str, Any]], after_total: float) -> str:
    """A waterfall: the before total, each lever's saving taken off in order, the after total."""
    steps: List[Tuple[str, float, float, str]] = [("Before", 0.0, before_total, _BEFORE)]
    level = before_total
    for item in breakdown:
        saving = float(item["monthly"])
        new_level = level - saving
        color = _SAVING if saving >= 0 else _COST
        steps.append((LEVER_LABELS.get(str(item["category"]), str(item["category"])), new_level, level, color))
        level = new_level
    steps.append(("After", 0.0, after_total, _AFTER))
    col_w, bar_w, left, top, bottom = 120, 64, 70, 20, 46
    width = left + col_w * len(steps) + 10
    chart_h = 260
    height = top + chart_h + bottom
    peak = _nice_max(max([hi for _, _, hi, _ in steps] + [lo for _, lo, _, _ in steps] + [0.0]))
    scale = chart_h / peak
    parts = [_svg_open(width, height, "Monthly cost from before to after, lever by lever")]
    for tick in _ticks(peak):
        y = top + chart_h - tick * scale
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" stroke="#e5e8ec"/>')
        parts.append(f'<text class="muted" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_e(usd(tick))}</text>')
    for i, (label, low, high, color) in enumerate(steps):
        x = left + i * col_w + (col_w - bar_w) / 2
        lo, hi = min(low, high), max(low, high)
        y = top + chart_h - hi * scale
        h = max(1.0, (hi - lo) * scale)
        is_total = i in (0, len(steps) - 1)
        amount = hi if is_total else high - low
        if is_total or abs(amount) < 0.005:
            text = usd(abs(amount))
        else:
            text = f"-{usd(amount)}" if amount > 0 else f"+{usd(-amount)}"
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w}" height="{h:.1f}" rx="2" fill="{color}">'
            f"<title>{_e(label)}: {_e(text)} a month</title></rect>"
        )
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 5:.1f}" text-anchor="middle">{_e(text)}</text>')
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{top + chart_h + 18}" text-anchor="middle">{_e(label)}</text>')
        if 0 < i < len(steps) - 1:
            prev_level = steps[i][2]
            px = left + (i - 1) * col_w + (col_w + bar_w) / 2
            py = top + chart_h - prev_level * scale
            parts.append(
                f'<line x1="{px:.1f}" y1="{py:.1f}" x2="{x:.1f}" y2="{py:.1f}" stroke="#9aa3b2" stroke-dasharray="3 3"/>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _svg_open(width: int, height: int, label: str) -> str:
    return (
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{_e(label)}"><title>{_e(label)}</title>'
    )


# ----------------------------------------------------------------------------- tables


def _table(
    caption: str,
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    numeric: Iterable[int] = (),
    total_last: bool = False,
) -> str:
    """A table with its caption; column headers are ``<th scope="col">`` and each row's first
    cell, which names the row, is ``<th scope="row">``."""
    nums = set(numeric)
    head = "".join(f'<th scope="col"{" class=num" if i in nums else ""}>{_e(h)}</th>' for i, h in enumerate(header))
    body = []
    rows = list(rows)
    for r, row in enumerate(rows):
        cls = ' class="total"' if total_last and r == len(rows) - 1 else ""
        cells = "".join(
            f'<th scope="row">{c}</th>' if i == 0 else f"<td{' class=num' if i in nums else ''}>{c}</td>"
            for i, c in enumerate(row)
        )
        body.append(f"<tr{cls}>{cells}</tr>")
    return (
        f"<table><caption>{_e(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _money_cell(value: float) -> str:
    text = _e(usd(value))
    return f'<span class="neg">{text}</span>' if value < 0 else text


def _live_rows(services_live: Sequence[Mapping[str, Any]]) -> List[List[str]]:
    rows = []
    for s in services_live:
        alarms = s.get("alarms") or {}
        alarm_text = ", ".join(f"{_e(kind)} {_e(_number(v))}" for kind, v in sorted(alarms.items()) if v is not None)
        keep = s.get("keepImages")
        rows.append(
            [
                _e(s.get("service", "")),
                f"<code>{_e(s.get('taskDefinition', ''))}</code>",
                _e(f"{s.get('cpu')} / {s.get('memory')}"),
                _e(f"{s.get('desiredCount')} / {s.get('runningCount')}"),
                _e(s.get("strategy", "")),
                _e(f"{s.get('minCapacity')} .. {s.get('maxCapacity')}"),
                _e(f"keep {keep}" if keep is not None else "no rule")
                + _e(f" ({s.get('images')} stored)" if s.get("images") is not None else ""),
                alarm_text,
            ]
        )
    return rows


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ----------------------------------------------------------------------------- the page


def _report_sections(savings: Mapping[str, Any]) -> List[str]:
    """Percentages with their bases, the network migration plan, the Savings Plan and the
    cost components, from the same rows the text formats print (so they agree)."""
    if "percentages" not in savings:  # an older report without the labelled shares
        return []
    out = ["<section>", "<h2>Savings, by base</h2>", "<ul>"]
    out += [f"<li>{_e(line)}</li>" for line in sections.percent_lines(savings) + sections.change_lines(savings)]
    out += ["</ul>", "</section>"]
    for title, header, rows_of in sections.SUMMARY_SECTIONS[1:] + sections.COMPONENT_SECTIONS:
        rows = rows_of(savings)
        if rows:
            numeric = numeric_columns(rows)
            out += [
                "<section>",
                f"<h2>{_e(title)}</h2>",
                _table(title, header, [[_e(c) for c in r] for r in rows], numeric=numeric),
                "</section>",
            ]
    notes = ([savings["rounding"]] if savings.get("rounding") else []) + list(savings.get("notes") or [])
    if notes:
        out += ["<section>", "<h2>Notes</h2>", "<ul>", *[f"<li>{_e(n)}</li>" for n in notes], "</ul>", "</section>"]
    return out


def _live_section(services_live: Sequence[Mapping[str, Any]]) -> List[str]:
    if not services_live:
        return []
    return [
        "<section>",
        "<h2>Live state after the run</h2>",
        '<p class="lead">Read back from AWS: task definition in service, CPU units / MiB, desired / running tasks, '
        "capacity providers, autoscaling range, ECR retention and alarm thresholds.</p>",
        _table(
            "Live state of each service after the run",
            [
                "service",
                "task definition",
                "cpu / memory",
                "desired / running",
                "capacity providers",
                "autoscaling",
                "ECR",
                "alarm thresholds",
            ],
            _live_rows(services_live),
        ),
        "</section>",
    ]


def with_network_row(savings: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """The per-service rows, plus the network row when the report prices NAT gateways and
    endpoints (``savings --network-outputs``): exactly the rows the totals are the sum of."""
    services = [dict(s) for s in savings.get("services") or []]
    network = savings.get("network")
    if network:
        services.append(
            {
                "service": "network (NAT, endpoints)",
                "before": network["before"],
                "after": network["after"],
                "monthlySavings": network["monthlySavings"],
            }
        )
    return services


def render_savings_html(
    savings: Mapping[str, Any],
    services_live: Sequence[Mapping[str, Any]],
    title: Optional[str] = None,
    subtitle: Optional[str] = None,
    generated_at: Optional[dt.datetime] = None,
) -> str:
    """The report page. ``savings`` is the ``savings --format json`` object; ``services_live``
    the live state of each service after the run (the live section is left out without
    it). The title says whether the figures are an estimate (a plan) or realised (a finished
    run). Returns the whole document."""
    title = title or f"{savings_title(savings)}: ECS Fargate"
    if subtitle is None:
        subtitle = (
            "Monthly cost before and after the optimizer run, priced from its journal."
            if savings.get("basis") == REALISED
            else "Monthly cost of the services as they run now against what the optimizer plans: "
            "an estimate, nothing has been changed."
        )
        if services_live:
            subtitle += " The last section is what AWS holds now."
    before = float(savings["before"]["monthly"])
    after = float(savings["after"]["monthly"])
    saved = float(savings["monthlySavings"])
    percent = float(savings["percent"])
    currency = str(savings.get("currency", "USD"))
    services = with_network_row(savings)
    breakdown = list(savings.get("breakdown") or [])
    pricing = savings.get("pricing") or {}
    stamp = (generated_at or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    base = str(savings.get("percentBase") or "of the before total")

    cards = "".join(
        f'<div class="card{extra}"><div class="label">{_e(label)}</div><div class="value">{_e(value)}</div></div>'
        for label, value, extra in (
            ("Before, per month", usd(before), ""),
            ("After, per month", usd(after), ""),
            ("Saved per month", usd(saved), " saving"),
            (f"Reduction {base}", f"{percent:.1f}%", " saving"),
            ("Saved per year", usd(saved * 12), ""),
        )
    )
    service_rows = [
        [
            _e(s["service"]),
            _money_cell(float(s["before"])),
            _money_cell(float(s["after"])),
            _money_cell(float(s["monthlySavings"])),
        ]
        for s in services
    ]
    service_rows.append(
        ["total", _money_cell(before), _money_cell(after), _money_cell(saved) + _e(f" ({percent:.1f}% {base})")]
    )
    lever_rows = [
        [
            _e(LEVER_LABELS.get(str(b["category"]), str(b["category"]))),
            f"<code>{_e(b['category'])}</code>",
            _money_cell(float(b["monthly"])),
        ]
        for b in breakdown
    ]
    legend = (
        '<div class="legend">'
        f'<span><span class="swatch" style="background:{_BEFORE}"></span>before</span>'
        f'<span><span class="swatch" style="background:{_AFTER}"></span>after</span>'
        "</div>"
    )
    source = (
        f"Prices: {pricing.get('source', 'unknown source')}, region {pricing.get('region', '?')}, "
        f"as of {pricing.get('asOf', '?')}; {savings.get('hoursPerMonth', 730)} hours a month; {currency}."
    )
    source = " ".join([source, *sections.commitment_lines(savings)])
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_e(title)}</title>",
            f"<style>{_CSS}</style>",
            "</head>",
            "<body>",
            "<main>",
            f"<h1>{_e(title)}</h1>",
            f'<p class="lead">{_e(subtitle)}</p>',
            f'<p class="lead">{_e(where_line(savings))}</p>',
            f'<div class="cards">{cards}</div>',
            "<section>",
            "<h2>Per service</h2>",
            legend,
            service_chart(services),
            _table(
                "Monthly cost per service; the total is the sum of the rows",
                ["service", "before", "after", "saving"],
                service_rows,
                numeric=(1, 2, 3),
                total_last=True,
            ),
            "</section>",
            "<section>",
            "<h2>Per lever</h2>",
            '<p class="lead">Levers are applied in this order, each on top of the previous ones, so no saving is counted twice.</p>',
            lever_chart(before, breakdown, after),
            _table("Monthly saving per lever", ["lever", "category", "saving"], lever_rows, numeric=(2,)),
            "</section>",
            *_report_sections(savings),
            *_live_section(services_live),
            f"<footer><p>{_e(source)}</p><p>Generated {_e(stamp)} by ecs-optimizer.</p></footer>",
            "</main>",
            "</body>",
            "</html>",
        ]
    )


@renders(SAVINGS, "html")
def page(report: Report) -> str:
    return render_savings_html(report.document, [])
