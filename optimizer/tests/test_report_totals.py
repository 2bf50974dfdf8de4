"""Every report's totals are the sums of its rows, in every format, to the cent.

The rule (``pricing/savings.py``): each billed line is rounded to the cent, a row is the sum of
its rounded lines, a total is the sum of its rows, and the levers' savings are split to the
cent by largest remainder so that they add up to the total saving. The checks below read
each format the way a person (or a spreadsheet) would and add the rows up themselves.
"""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from html.parser import HTMLParser
from typing import Dict, List, Mapping, Sequence, Tuple

import pytest

from ecs_optimizer.output.registry import formats

AMOUNT = re.compile(r"-?\$[\d,]+\.\d\d(?!\d)")


def dollars(text: str) -> List[Decimal]:
    return [Decimal(a.replace("$", "").replace(",", "")) for a in AMOUNT.findall(text)]


def cents(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def check_sums(rows: Mapping[str, Sequence[Decimal]], total: Sequence[Decimal], what: str) -> None:
    """Each column of ``rows`` adds up to the same column of ``total``."""
    assert rows, f"{what}: no rows found"
    for column in range(len(total)):
        added = sum((row[column] for row in rows.values()), Decimal(0))
        assert added == total[column], f"{what}: column {column} rows add to {added}, the total says {total[column]}"


# ----------------------------------------------------------------------------- readers per format


def row_labels(data: Mapping) -> List[str]:
    return [s["service"] for s in data["services"]] + (["network (NAT, endpoints)"] if data.get("network") else [])


def from_json(data: Mapping) -> None:
    rows = {s["service"]: [cents(s["before"]), cents(s["after"]), cents(s["monthlySavings"])] for s in data["services"]}
    if data["network"]:
        n = data["network"]
        rows["network"] = [cents(n["before"]), cents(n["after"]), cents(n["monthlySavings"])]
    total = [cents(data["before"]["monthly"]), cents(data["after"]["monthly"]), cents(data["monthlySavings"])]
    check_sums(rows, total, "json services")
    for label, row in rows.items():
        assert row[0] - row[1] == row[2], f"json: {label}'s saving is not before - after"
    levers = {b["category"]: [cents(b["monthly"])] for b in data["breakdown"]}
    check_sums(levers, [total[2]], "json breakdown")
    if data["network"]:
        assert levers["network"] == [rows["network"][2]], "the network lever is the network row's saving"
    for side, column in (("before", 0), ("after", 1)):
        lines = {str(i): [cents(c["monthly"])] for i, c in enumerate(data["components"]) if c["state"] == side}
        check_sums(lines, [total[column]], f"json components {side}")


def from_csv(text: str) -> None:
    records = list(csv.DictReader(io.StringIO(text)))
    by: Dict[str, Dict[str, Dict[str, Decimal]]] = {}
    for r in records:
        if r["record"] in ("service", "network", "total", "lever"):
            by.setdefault(r["record"], {}).setdefault(r["scope"], {})[r["state"]] = Decimal(r["monthly"])
    rows = {
        scope: [v["before"], v["after"], v["saving"]]
        for record in ("service", "network")
        for scope, v in by.get(record, {}).items()
    }
    t = by["total"]["total"]
    check_sums(rows, [t["before"], t["after"], t["saving"]], "csv rows")
    check_sums({k: [v["saving"]] for k, v in by["lever"].items()}, [t["saving"]], "csv levers")
    for side in ("before", "after"):
        lines = {
            str(i): [Decimal(r["monthly"])]
            for i, r in enumerate(records)
            if r["record"] == "component" and r["state"] == side
        }
        check_sums(lines, [t[side]], f"csv components {side}")


def table_rows(
    lines: Sequence[str], labels: Sequence[str], what: str
) -> Tuple[Dict[str, List[Decimal]], List[Decimal]]:
    rows: Dict[str, List[Decimal]] = {}
    total: List[Decimal] = []
    for line in lines:
        cells = line.strip().strip("|").strip()
        for label in labels:
            if cells.startswith(label) and cells[len(label) :][:1] in (" ", "|", "") and label not in rows:
                rows[label] = dollars(cells[len(label) :])[:3]
        if cells.startswith("total ") or cells.startswith("total|"):
            total = dollars(cells)[:3]
    assert set(rows) == set(labels), f"{what}: rows {sorted(rows)} against {sorted(labels)}"
    assert len(total) == 3, f"{what}: no total row"
    return rows, total


def from_text(text: str, data: Mapping, what: str) -> None:
    """The per-service table of the table or markdown format: the block from its header to the
    total row."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"^\|?\s*service\s*\|?\s+before\s", line.strip()))
    end = next(i for i in range(start, len(lines)) if lines[i].strip().strip("|").strip().startswith("total"))
    rows, total = table_rows(lines[start : end + 1], row_labels(data), what)
    check_sums(rows, total, what)
    lever_lines = [
        line
        for line in lines
        if any(
            line.strip().strip("|").strip().startswith(b["category"] + " ")
            or line.strip().startswith(f"| {b['category']} |")
            for b in data["breakdown"]
        )
    ]
    levers = {}
    for line in lever_lines:
        label = line.strip().strip("|").strip().split()[0]
        amounts = dollars(line)
        if label not in levers and len(amounts) == 1:
            levers[label] = amounts
    assert set(levers) == {b["category"] for b in data["breakdown"]}, f"{what}: lever rows {sorted(levers)}"
    check_sums(levers, [total[2]], f"{what} levers")


class Tables(HTMLParser):
    """The HTML page's tables: caption -> rows of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: Dict[str, List[List[str]]] = {}
        self._caption = ""
        self._in: List[str] = []
        self._row: List[str] = []
        self._cell: List[str] = []

    def handle_starttag(self, tag: str, attrs) -> None:  # type: ignore[no-untyped-def]
        self._in.append(tag)
        if tag == "caption":
            self._caption = ""
        if tag == "tr":
            self._row = []
        if tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if self._in and self._in[-1] == tag:
            self._in.pop()
        if tag in ("td", "th"):
            self._row.append("".join(self._cell).strip())
        if tag == "tr":
            self.tables.setdefault(self._caption, []).append(self._row)

    def handle_data(self, data: str) -> None:
        if "caption" in self._in:
            self._caption += data
        if "td" in self._in or "th" in self._in:
            self._cell.append(data)


def from_html(page: str, data: Mapping) -> None:
    parser = Tables()
    parser.feed(page)
    services = next(rows for caption, rows in parser.tables.items() if caption.startswith("Monthly cost per service"))
    body = [r for r in services[1:]]
    rows = {r[0]: [d for cell in r[1:] for d in dollars(cell)][:3] for r in body if r[0] != "total"}
    total = [d for cell in body[-1][1:] for d in dollars(cell)][:3]
    assert body[-1][0] == "total" and set(rows) == set(row_labels(data))
    check_sums(rows, total, "html services")
    levers = next(rows for caption, rows in parser.tables.items() if caption.startswith("Monthly saving per lever"))
    check_sums({r[1]: dollars(r[2]) for r in levers[1:]}, [total[2]], "html levers")


def check_every_format(run_cli, args: Sequence[str]) -> Mapping:
    out = {}
    for fmt in formats("savings"):
        result = run_cli(*args, "--format", fmt)
        assert result.exit_code == 0, result.stderr
        out[fmt] = result.stdout
    for fmt, text in out.items():  # no report cites the repository it was built from
        assert "docs/" not in text and "stacks/" not in text, fmt
    data = json.loads(out["json"])
    from_json(data)
    from_csv(out["csv"])
    from_text(out["table"], data, "table")
    from_text(out["markdown"], data, "markdown")
    from_html(out["html"], data)
    return data


def test_the_plan_report_adds_up_in_every_format(outputs_file, run_cli):
    data = check_every_format(run_cli, ["savings", "--outputs", outputs_file, "--policy", "fixed"])
    assert data["basis"] == "estimate"


@pytest.mark.parametrize("spot_share", ["0.7", "0.8", "0.9"])
def test_a_realised_report_adds_up_in_every_format(outputs_file, run_cli, spot_share):
    applied = run_cli(
        "optimize",
        "--outputs",
        outputs_file,
        "--policy",
        "fixed",
        "--spot-share",
        spot_share,
        "--journal",
        "run.jsonl",
        "--wait-timeout",
        "30",
        "--poll-interval",
        "0.01",
    )
    assert applied.exit_code == 0, applied.stderr
    data = check_every_format(run_cli, ["savings", "--journal", "run.jsonl"])
    assert data["basis"] == "realised"
    table = run_cli("savings", "--journal", "run.jsonl")
    assert table.stdout.startswith("Realised monthly savings")


def test_a_network_report_adds_up_and_has_no_phantom_network_saving(outputs_file, run_cli, client, tmp_path):
    from helpers import write_json
    from test_network_lever import LOOKBACK_DAYS, seed_network

    network = write_json(tmp_path / "network.json", seed_network(client, 1, LOOKBACK_DAYS))
    data = check_every_format(
        run_cli,
        [
            "savings",
            "--outputs",
            outputs_file,
            "--policy",
            "fixed",
            "--lookback-days",
            str(LOOKBACK_DAYS),
            "--network-outputs",
            network,
        ],
    )
    lines = {
        side: [c for c in data["components"] if c["scope"] == "network" and c["state"] == side]
        for side in ("before", "after")
    }
    if lines["before"] == lines["after"]:
        assert data["network"]["monthlySavings"] == 0
        assert next(b for b in data["breakdown"] if b["category"] == "network")["monthly"] == 0
