"""``--format csv``: one table for a spreadsheet (the savings reports only).

Money is in the report's currency, to the cent, exactly as in the JSON; the ``total`` rows
are the sums of the rows above them.
"""

from __future__ import annotations

import csv
import io
from typing import Any, Dict, List

from ..models import ORGANIZATION, SAVINGS, Report
from ..registry import renders
from ..render import cents

SAVINGS_HEADER = ["record", "state", "scope", "item", "quantity", "unit", "unitPrice", "monthly", "note"]


@renders(SAVINGS, "csv")
def savings(report: Report) -> str:
    """``record`` says what each row is:

    * ``component``: a billed line (``state`` before or after, quantity x unit price);
    * ``service``, ``network``, ``total``: the monthly ``before``, ``after`` and ``saving``;
    * ``lever``: the saving of one lever (``scope`` its category);
    * ``migrationStep``: a step of the network migration (``state`` is its order, ``scope``
      the network config key, ``note`` what to verify);
    * ``savingsPlan``: a Compute Savings Plan term (``quantity`` the hourly commitment,
      ``monthly`` its saving; never applied);
    * ``savingsPlanRates``: where the Savings Plan rates came from (``state`` live or table,
      ``note`` their date);
    * ``existingSavingsPlans``: with active Compute plans, ``monthly`` is the saving after the
      discount they already give (``quantity`` their hourly commitment);
    * ``finding``: a service's finding (``state``), performance risk (``item``), confidence
      (``unit``), lookback days (``quantity``) and reason codes (``note``);
    * ``cuts``, ``growth``: the monthly amount the services' costs fall and rise by, apart
      (``note``: the services);
    * ``idle``: an idle resource (``item`` its kind, ``scope`` its id, ``monthly`` its cost,
      ``note`` why; never applied).
    """
    data = report.document
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SAVINGS_HEADER)
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
    for lever in data["breakdown"]:
        writer.writerow(["lever", "saving", lever["category"], "", "", "", "", cents(lever["monthly"]), ""])
    for step in (data.get("network") or {}).get("migrationPlan", []):
        writer.writerow(
            ["migrationStep", step["order"], step["configKey"] or "", step["action"], "", "", "", "", step["verify"]]
        )
    rates = data["pricing"].get("commitmentRates")
    if rates:
        writer.writerow(
            ["savingsPlanRates", rates["source"], "compute", rates["description"], "", "", "", "", rates["asOf"]]
        )
    existing = data.get("existingSavingsPlans")
    if existing:
        note = f"absorbed by existing plans {cents(existing['absorbedMonthly'])}; saving before them {cents(data['monthlySavings'])}"
        writer.writerow(
            [
                "existingSavingsPlans",
                "saving",
                "compute",
                "hourly commitment",
                existing["hourlyCommitment"],
                "USD/hour",
                "",
                cents(existing["monthlySavingsAfterExistingPlans"]),
                note,
            ]
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
    for s in data["services"]:
        if s.get("finding"):
            writer.writerow(
                [
                    "finding",
                    s["finding"],
                    s["service"],
                    s["performanceRisk"],
                    s["lookbackPeriodInDays"],
                    s["confidence"],
                    "",
                    "",
                    ";".join(s["reasonCodes"]),
                ]
            )
    for record in ("cuts", "growth"):
        if record in data:
            moved = data[record]
            writer.writerow(
                [record, "monthly", "total", "", "", "", "", cents(moved["monthly"]), ";".join(moved["services"])]
            )
    for idle in data.get("idle") or []:
        writer.writerow(
            ["idle", "reported", idle["id"], idle["resource"], "", "", "", cents(idle["monthly"]), idle["reason"]]
        )
    return out.getvalue().rstrip("\n")


ORGANIZATION_HEADER = [
    "accountId",
    "accountName",
    "region",
    "environment",
    "status",
    "before",
    "after",
    "monthlySavings",
    "note",
]


@renders(ORGANIZATION, "csv")
def organization(report: Report) -> str:
    data = report.document
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ORGANIZATION_HEADER)
    for row in data["accounts"]:
        ok = row["status"] == "ok"
        note = f"{row['percent']:.1f}% {row['percentBase']}" if ok else row["error"]
        writer.writerow(
            [
                row["accountId"],
                row["accountName"],
                row["region"],
                row.get("environment") or "",
                row["status"],
                *(cents(row[k]) if row[k] is not None else "" for k in ("before", "after", "monthlySavings")),
                note,
            ]
        )
    t = data["totals"]
    writer.writerow(
        [
            "",
            "total",
            "",
            "",
            f"{t['succeeded']}/{t['jobs']} ok",
            cents(t["before"]),
            cents(t["after"]),
            cents(t["monthlySavings"]),
            f"{t['percent']:.1f}% {t['percentBase']}",
        ]
    )
    return out.getvalue().rstrip("\n")
