"""The rows and lines the text formats (table, markdown, HTML) draw a report with, read from the
report's document (:mod:`.models`) and never computed again: each format lays these out its
own way, so they all show the same figures."""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Mapping, Sequence, Tuple

from ..levers import registry
from .models import savings_title, where_line
from .render import quantity, short_arn, truncate, usd

SIDES = ("before", "after")

Rows = List[List[str]]


# ----------------------------------------------------------------------------- savings


def headline(data: Mapping[str, Any]) -> str:
    """``Estimated monthly savings: $75.27 a month (41.4% of compute), $181.67 -> $106.40``."""
    return (
        f"{savings_title(data)}: {usd(data['monthlySavings'])} a month "
        f"({data['percent']:.1f}% {data['percentBase']}), "
        f"{usd(data['before']['monthly'])} -> {usd(data['after']['monthly'])}"
    )


def service_rows(data: Mapping[str, Any]) -> Rows:
    """Per-service rows, the network row, and the total with its labelled percentage. The
    total is the sum of the rows above it (the report's rounding rule, see ``savings``)."""
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


def lever_rows(data: Mapping[str, Any]) -> Rows:
    """The saving by lever, in the order the levers are priced; the rows add up to the total
    saving."""
    return [[b["category"], usd(b["monthly"])] for b in data["breakdown"]]


def percent_lines(data: Mapping[str, Any]) -> List[str]:
    return [f"{usd(p['monthlySavings'])} a month, {p['percent']:.1f}% {p['base']}" for p in data["percentages"]]


def component_rows(data: Mapping[str, Any], state: str) -> Rows:
    return [
        [c["scope"], c["item"], quantity(c["quantity"]), c["unit"], f"${c['unitPrice']:g}", usd(c["monthly"])]
        for c in data["components"]
        if c["state"] == state
    ]


def plan_rows(data: Mapping[str, Any]) -> Rows:
    net = data.get("network") or {}
    return [[str(s["order"]), s["action"], s["configKey"] or "-", s["verify"]] for s in net.get("migrationPlan", [])]


def savings_plan_rows(data: Mapping[str, Any]) -> Rows:
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


def finding_rows(data: Mapping[str, Any]) -> Rows:
    """Per service: finding, performance risk, confidence and the reasons (rows without a
    finding, e.g. priced from a journal, are left out)."""
    return [
        [s["service"], s["finding"], s["performanceRisk"], s["confidence"], "; ".join(s["reasons"]) or "-"]
        for s in data["services"]
        if s.get("finding")
    ]


def idle_rows(data: Mapping[str, Any]) -> Rows:
    return [[i["resource"], i["id"], usd(i["monthly"]), i["reason"]] for i in data.get("idle") or []]


def change_lines(data: Mapping[str, Any]) -> List[str]:
    """The cuts and the growth, each a line of its own: growth is a cost, never netted away."""
    if "growth" not in data:
        return []
    cuts, growth = data["cuts"], data["growth"]
    cut_services = ", ".join(cuts["services"]) if len(cuts["services"]) <= 5 else f"{len(cuts['services'])} services"
    return [
        f"cuts: -{usd(cuts['monthly'])}/month ({cut_services or 'none'})",
        f"growth: +{usd(growth['monthly'])}/month ({', '.join(growth['services']) or 'none'})",
    ]


def commitment_lines(data: Mapping[str, Any]) -> List[str]:
    """Where the Savings Plan rates came from, and the saving after the account's active plans."""
    rates = data["pricing"].get("commitmentRates")
    lines = [f"Savings Plan rates: {rates['source']} ({rates['description']}), as of {rates['asOf']}."] if rates else []
    existing = data.get("existingSavingsPlans")
    if existing:
        lines.append(
            f"Existing Compute Savings Plans: ${existing['hourlyCommitment']:,.4f}/hour committed, covering "
            f"${existing['coveredOnDemandHourly']:,.4f}/hour of on-demand Fargate; saving after the existing "
            f"discount {usd(existing['monthlySavingsAfterExistingPlans'])} a month "
            f"({usd(existing['absorbedMonthly'])} of the cut is usage the plans already pay for)."
        )
    return lines


def source_line(data: Mapping[str, Any]) -> str:
    pricing = data["pricing"]
    return (
        f"Prices: {pricing['source']}, {pricing['region']}, as of {pricing['asOf']}; "
        f"{data['hoursPerMonth']} hours a month; {data['currency']}."
    )


def rounding_line(data: Mapping[str, Any]) -> str:
    return data.get("rounding") or ""


def fact_lines(data: Mapping[str, Any]) -> List[str]:
    """What the report says below its tables: where, the shares, the prices, the notes."""
    plan = data.get("savingsPlan")
    risk = [f"savings plan (reported, never applied; rates as of {plan['ratesAsOf']}): {plan['risk']}"] if plan else []
    rule = [rounding_line(data)] if rounding_line(data) else []
    return [
        where_line(data),
        *percent_lines(data),
        *change_lines(data),
        source_line(data),
        *commitment_lines(data),
        *rule,
        *data["notes"],
        *risk,
    ]


Section = Tuple[str, List[str], Callable[[Mapping[str, Any]], Rows]]

COMPONENT_HEADER = ["scope", "item", "quantity", "unit", "unit price", "monthly"]

#: The savings report's tables after the per-service one, in order: (title, header, rows).
SUMMARY_SECTIONS: Tuple[Section, ...] = (
    ("By lever", ["lever", "saving"], lever_rows),
    (
        "Findings (performance risk of each recommendation)",
        ["service", "finding", "risk", "confidence", "reasons"],
        finding_rows,
    ),
    ("Idle resources (reported, never applied, not in the totals)", ["resource", "id", "monthly", "reason"], idle_rows),
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
)
#: The billed lines behind the per-service rows (folded away in markdown).
COMPONENT_SECTIONS: Tuple[Section, ...] = (
    ("Cost components before", COMPONENT_HEADER, lambda d: component_rows(d, "before")),
    ("Cost components after", COMPONENT_HEADER, lambda d: component_rows(d, "after")),
)
SERVICE_HEADER = ["service", "before", "after", "saving"]


# ----------------------------------------------------------------------------- changes


def format_value(value: Any) -> str:
    """A compact, human-readable rendering of a journal, plan or config value (a lever may
    show its own values its way: :meth:`levers.base.Lever.shown`). A task-definition ARN
    is shown as ``family:revision``."""
    if value is None:
        return "none"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return truncate(short_arn(value), 60)
    return truncate(json.dumps(value, default=str), 60)


def change_rows(services: Sequence[Mapping[str, Any]]) -> Rows:
    """One row per changed field: service, status, lever, what, ``old -> new``."""
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


def reasons(services: Sequence[Mapping[str, Any]], bullet: str) -> List[str]:
    return [f"{bullet}{s['service']} ({s['status']}): {s['reason']}" for s in services if s["reason"]]


def writeback_lines(report: Mapping[str, Any], bullet: str, indent: str) -> List[str]:
    """The ``--write-config`` section: each file's keys, the layers left unwritten, the notes."""
    lines = ["Config write-back:"]
    for f in report["files"]:
        changes: List[Dict[str, Any]] = f.get("changes") or []
        detail = f": {f['error']}" if f.get("error") else f" ({len(changes)} keys)" if changes else ""
        lines.append(f"{bullet}{f['layer']} {f['path']}: {f['status']}{detail}")
        lines += [f"{indent}{c['key']}: {format_value(c['before'])} -> {format_value(c['after'])}" for c in changes]
    for missing in report.get("notWritten") or []:
        lines.append(f"{bullet}{missing['layer']}: not written, {missing['reason']}: {', '.join(missing['keys'])}")
    if not report["files"] and not report.get("notWritten"):
        lines.append(f"{bullet}nothing to write: no service was changed")
    lines += [f"{bullet}note: {note}" for note in report.get("notes") or []]
    return lines


def file_restore_line(f: Mapping[str, Any], bullet: str) -> str:
    reason = f" ({f['reason']})" if f.get("reason") else ""
    return f"{bullet}{f['layer']} {f['path']}: {f['status']}{reason}"


def optimize_title(data: Mapping[str, Any]) -> str:
    mode = "dry run: nothing was changed" if data["dryRun"] else "applied"
    pending = ""
    if data["dryRun"]:
        pending = "; changes pending" if data["changesPending"] else "; no changes pending"
    return f"ecs-optimizer optimize: policy {data['policy']}, {mode}{pending}"


def rollback_title(data: Mapping[str, Any]) -> str:
    mode = "dry run: nothing was changed" if data["dryRun"] else "restored"
    return f"ecs-optimizer rollback: journal {data['journal']}, {mode}"


def migration_order() -> Tuple[str, ...]:
    return registry.migration_order()


# ----------------------------------------------------------------------------- migration step


def step_lines(data: Mapping[str, Any]) -> List[str]:
    """A network migration step's report: the verification evidence, the file written, the
    journal and the notes."""
    lines = [f"network migration step: {data['migrationStep']}", where_line(data)]
    verification = data.get("verification")
    if verification is not None:
        lines.append(
            f"verification ({'passed' if verification['passed'] else 'NOT passed'}): AWS/PrivateLinkEndpoints "
            f"BytesProcessed over {verification['lookbackDays']} days"
        )
        for e in verification["endpoints"]:
            state = "ok" if e["passed"] else "FAIL"
            lines.append(
                f"  {state:4} {e['service']:15} {e['endpointId'] or 'not deployed':24} "
                f"{e['bytesProcessed']:>16,} bytes ({e['carries']})"
            )
    f = data.get("file")
    if f is not None:
        lines.append(f"{f['path']}: {f['status']}" + (f" ({f['error']})" if f.get("error") else ""))
        for change in f["changes"]:
            before = "(absent)" if change["before"] is None else json.dumps(change["before"])
            lines.append(f"  {change['key']}: {before} -> {json.dumps(change['after'])}")
    if data.get("journal"):
        lines.append(f"journal: {data['journal']} (undo: ecs-optimizer rollback --journal {data['journal']})")
    lines += [f"note: {n}" for n in data["notes"]]
    return lines
