"""The savings report in the formats cost tools use: table, markdown, JSON, CSV and HTML.

Every format is drawn from the one JSON document (:meth:`savings.SavingsReport.to_dict`),
so they agree to the cent by construction: no renderer computes an amount of its own.

* ``table``: terminal tables (``rich``) that wrap to the terminal width (``COLUMNS``).
* ``markdown``: a pull-request comment. It starts with :data:`COMMENT_MARKER`, a hidden HTML
  comment a CI job finds to update its earlier comment in place instead of adding another.
* ``json``: the document itself, validated by ``schemas/savings-report.schema.json``.
* ``csv``: one row per billed component (quantity, unit, unit price, monthly cost) for a
  spreadsheet, then the per-service rows and the totals.
* ``html``: the self-contained page of :mod:`html_report`.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Dict, List, Mapping

from .render import cents, markdown_table, quantity, text_table, usd

#: Hidden first line of the markdown report; CI finds its earlier comment by it.
COMMENT_MARKER = "<!-- ecs-optimizer:savings -->"

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
        from .html_report import render_savings_html

        return render_savings_html(data, [])
    return render_text(data, markdown=fmt == "markdown")


# ----------------------------------------------------------------------------- shared rows


def service_rows(data: Mapping[str, Any]) -> List[List[str]]:
    """Per-service rows, the network row, and the total with its labelled percentage."""
    rows = [[s["service"], usd(s["before"]), usd(s["after"]), usd(s["monthlySavings"])] for s in data["services"]]
    net = data.get("network")
    if net:
        rows.append(["network (NAT, endpoints)", usd(net["before"]), usd(net["after"]), usd(net["monthlySavings"])])
    rows.append(
        [
            "total",
            usd(data["before"]["monthly"]),
            usd(data["after"]["monthly"]),
            f"{usd(data['monthlySavings'])} ({data['percent']:.1f}% {data['percentBase']})",
        ]
    )
    return rows


def percent_lines(data: Mapping[str, Any]) -> List[str]:
    return [f"{usd(p['monthlySavings'])} a month, {p['percent']:.1f}% {p['base']}" for p in data["percentages"]]


def component_rows(data: Mapping[str, Any], state: str) -> List[List[str]]:
    return [
        [c["scope"], c["item"], quantity(c["quantity"]), c["unit"], f"${c['unitPrice']:g}", usd(c["monthly"])]
        for c in data["components"]
        if c["state"] == state
    ]


def plan_rows(data: Mapping[str, Any]) -> List[List[str]]:
    net = data.get("network") or {}
    return [[str(s["order"]), s["action"], s["configKey"] or "-", s["verify"]] for s in net.get("migrationPlan", [])]


def savings_plan_rows(data: Mapping[str, Any]) -> List[List[str]]:
    plan = data.get("savingsPlan")
    if not plan:
        return []
    return [
        [
            t["term"],
            f"{t['discountPercent']:.1f}%",
            f"${t['hourlyCommitment']:,.4f}/hour",
            usd(t["monthlySavings"]),
            f"{t['breakEvenUtilizationPercent']:.1f}%",
        ]
        for t in plan["terms"]
    ]


def context_line(data: Mapping[str, Any]) -> str:
    parts = [
        f"environment {data.get('environment') or 'n/a'}",
        f"cluster {data.get('cluster') or 'n/a'}",
        f"region {data.get('region') or 'n/a'}",
    ]
    if data.get("generatedAt"):
        parts.append(f"generated {data['generatedAt']}")
    return "; ".join(parts)


def source_line(data: Mapping[str, Any]) -> str:
    pricing = data["pricing"]
    return (
        f"Prices: {pricing['source']}, {pricing['region']}, as of {pricing['asOf']}; "
        f"{data['hoursPerMonth']} hours a month; {data['currency']}."
    )


SECTIONS = (
    ("Estimated monthly savings", ["service", "before", "after", "saving"], service_rows),
    ("By lever", ["lever", "saving"], lambda d: [[b["category"], usd(b["monthly"])] for b in d["breakdown"]]),
    (
        "Network migration plan (recommended, applied by the network layer)",
        ["step", "action", "config key", "verify"],
        plan_rows,
    ),
    (
        "Compute Savings Plan (reported, never applied)",
        ["term", "discount", "commitment", "saving a month", "break-even use"],
        savings_plan_rows,
    ),
    (
        "Cost components before",
        ["scope", "item", "quantity", "unit", "unit price", "monthly"],
        lambda d: component_rows(d, "before"),
    ),
    (
        "Cost components after",
        ["scope", "item", "quantity", "unit", "unit price", "monthly"],
        lambda d: component_rows(d, "after"),
    ),
)


# ----------------------------------------------------------------------------- table / markdown


def render_text(data: Mapping[str, Any], markdown: bool) -> str:
    lines: List[str] = [COMMENT_MARKER] if markdown else []
    for i, (title, header, rows_of) in enumerate(SECTIONS):
        rows = rows_of(data)
        if not rows:
            continue
        if markdown:
            lines += [f"{'###' if i == 0 else '####'} {title}", "", markdown_table(header, rows), ""]
        else:
            lines += [text_table(header, rows, title), ""]
    plan = data.get("savingsPlan")
    risk = [f"savings plan (reported, never applied; rates as of {plan['ratesAsOf']}): {plan['risk']}"] if plan else []
    facts = [context_line(data), *percent_lines(data), source_line(data), *data["notes"], *risk]
    if markdown:
        lines += [f"- {fact}" for fact in facts]
    else:
        lines += facts
    return "\n".join(lines).rstrip("\n")


# ----------------------------------------------------------------------------- csv

CSV_HEADER = ["record", "state", "scope", "item", "quantity", "unit", "unitPrice", "monthly", "note"]


def render_csv(data: Mapping[str, Any]) -> str:
    """One table for a spreadsheet; ``record`` says what each row is:

    * ``component``: a billed line (``state`` before or after, quantity x unit price);
    * ``service``, ``network``, ``total``: the monthly ``before``, ``after`` and ``saving``;
    * ``migrationStep``: a step of the network migration (``state`` is its order, ``scope``
      the network config key, ``note`` what to verify);
    * ``savingsPlan``: a Compute Savings Plan term (``quantity`` the hourly commitment,
      ``monthly`` its saving; never applied).

    Money is in the report's currency, to the cent, exactly as in the JSON.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for c in data["components"]:
        writer.writerow(
            [
                "component",
                c["state"],
                c["scope"],
                c["item"],
                c["quantity"],
                c["unit"],
                c["unitPrice"],
                cents(c["monthly"]),
                "",
            ]
        )
    rows: List[Dict[str, Any]] = [dict(s, record="service", scope=s["service"]) for s in data["services"]]
    if data.get("network"):
        rows.append(dict(data["network"], record="network", scope="network"))
    rows.append(
        {
            "record": "total",
            "scope": "total",
            "before": data["before"]["monthly"],
            "after": data["after"]["monthly"],
            "monthlySavings": data["monthlySavings"],
        }
    )
    for row in rows:
        for state in ("before", "after"):
            writer.writerow([row["record"], state, row["scope"], "", "", "", "", cents(row[state]), ""])
        note = f"{data['percent']:.1f}% {data['percentBase']}" if row["record"] == "total" else ""
        writer.writerow([row["record"], "saving", row["scope"], "", "", "", "", cents(row["monthlySavings"]), note])
    for step in (data.get("network") or {}).get("migrationPlan", []):
        writer.writerow(
            ["migrationStep", step["order"], step["configKey"] or "", step["action"], "", "", "", "", step["verify"]]
        )
    plan = data.get("savingsPlan")
    for term in plan["terms"] if plan else []:
        note = f"discount {term['discountPercent']:.1f}%; break-even use {term['breakEvenUtilizationPercent']:.1f}%; not applied"
        writer.writerow(
            [
                "savingsPlan",
                term["term"],
                "compute",
                "hourly commitment",
                term["hourlyCommitment"],
                "USD/hour",
                "",
                cents(term["monthlySavings"]),
                note,
            ]
        )
    return out.getvalue().rstrip("\n")
