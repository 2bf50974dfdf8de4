"""The HTML savings page: well-formed, self-contained, and showing exactly the input's figures."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any, Dict, List, Tuple

import pytest

from ecs_optimizer.output.formats.html import LEVER_LABELS, render_savings_html, with_network_row
from ecs_optimizer.output.render import usd

#: Elements without an end tag; self-closing SVG elements (<line .../>) come as startendtag.
VOID = {"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "embed", "source", "track", "wbr"}


def savings(**overrides: Any) -> Dict[str, Any]:
    data = {
        "currency": "USD",
        "hoursPerMonth": 730,
        "pricing": {
            "source": "AWS public price list for us-east-1 (docs/pricing.md)",
            "region": "us-east-1",
            "asOf": "2026-11-01",
        },
        "before": {"monthly": 324.02},
        "after": {"monthly": 248.75},
        "monthlySavings": 75.27,
        "percent": 23.2,
        "breakdown": [
            {"category": "rightsizing", "monthly": 56.87},
            {"category": "taskCount", "monthly": 18.02},
            {"category": "spot", "monthly": 0.0},
            {"category": "ecrStorage", "monthly": 0.38},
            {"category": "network", "monthly": 0.0},
        ],
        "services": [
            {"service": "api-gateway", "before": 54.5, "after": 27.25, "monthlySavings": 27.25},
            {"service": "frontend", "before": 54.15, "after": 36.09, "monthlySavings": 18.06},
            {"service": "processing-service", "before": 73.02, "after": 43.06, "monthlySavings": 29.96},
        ],
    }
    data.update(overrides)
    return data


LIVE = [
    {
        "service": "api-gateway",
        "taskDefinition": "api-gateway-dev:2",
        "cpu": 256,
        "memory": 512,
        "desiredCount": 3,
        "runningCount": 3,
        "strategy": "on-demand only",
        "minCapacity": 1,
        "maxCapacity": 6,
        "keepImages": 5,
        "images": 10,
        "alarms": {"cpuHigh": 60.0, "memoryHigh": 60.0, "runningTasksLow": 1.0},
    },
    {
        "service": "processing-service",
        "taskDefinition": "processing-service-dev:2",
        "cpu": 512,
        "memory": 2048,
        "desiredCount": 3,
        "runningCount": 3,
        "strategy": "1 on-demand, then 70% Spot (FARGATE 3 : FARGATE_SPOT 7)",
        "minCapacity": 1,
        "maxCapacity": 6,
        "keepImages": 5,
        "images": 10,
        "alarms": {"cpuHigh": 60.0},
    },
]


class Structure(HTMLParser):
    """Checks nesting and collects tags and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: List[str] = []
        self.errors: List[str] = []
        self.tags: List[Tuple[str, Dict[str, str]]] = []
        self.text: List[str] = []

    def handle_starttag(self, tag: str, attrs: List[Tuple[str, Any]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: List[Tuple[str, Any]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> Structure:
    parser = Structure()
    parser.feed(page)
    parser.close()
    return parser


def test_the_page_is_a_well_formed_html_document() -> None:
    page = render_savings_html(savings(), LIVE)
    assert page.startswith("<!DOCTYPE html>")
    doc = parse(page)
    assert doc.errors == [] and doc.stack == []
    names = [t for t, _ in doc.tags]
    assert names[:2] == ["html", "head"] and "body" in names and "title" in names
    assert names.count("svg") == 2  # per service, per lever
    for tag, attrs in doc.tags:
        if tag == "svg":
            assert attrs.get("role") == "img" and attrs.get("aria-label")


def test_the_page_loads_nothing_from_anywhere() -> None:
    page = render_savings_html(savings(), LIVE)
    lowered = page.lower()
    for forbidden in (
        "<script",
        "<link",
        "<img",
        "<iframe",
        "@import",
        "url(",
        "src=",
        "href=",
        "http:",
        "https:",
        "//fonts",
    ):
        assert forbidden not in lowered, forbidden


def test_every_figure_of_the_input_is_on_the_page() -> None:
    data = savings()
    page = render_savings_html(data, LIVE)
    text = " ".join(parse(page).text)
    for key in ("before", "after"):
        assert usd(data[key]["monthly"]) in text
    assert usd(data["monthlySavings"]) in text and "23.2%" in text
    assert usd(data["monthlySavings"] * 12) in text  # the yearly card
    for s in data["services"]:
        assert s["service"] in text
        for key in ("before", "after", "monthlySavings"):
            assert usd(s[key]) in text, (s["service"], key)
    for b in data["breakdown"]:
        assert LEVER_LABELS[b["category"]] in text
        assert usd(b["monthly"]) in text
    for fragment in ("AWS public price list", "us-east-1", "2026-11-01", "730 hours a month"):
        assert fragment in text
    for row in LIVE:
        assert row["taskDefinition"] in text and row["strategy"] in text
        assert f"{row['cpu']} / {row['memory']}" in text
        assert f"{row['minCapacity']} .. {row['maxCapacity']}" in text
        assert f"keep {row['keepImages']} ({row['images']} stored)" in text


def test_charts_scale_bars_to_the_figures() -> None:
    data = savings()
    page = render_savings_html(data, LIVE)
    service_svg = re.search(r"<svg.*?</svg>", page, re.S).group(0)  # type: ignore[union-attr]
    widths = {
        title: float(width)
        for width, title in re.findall(
            r'<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)"[^>]*><title>([^<]+)</title>', service_svg
        )
    }
    before = widths["api-gateway before: $54.50 a month"]
    after = widths["api-gateway after: $27.25 a month"]
    assert after / before == pytest.approx(27.25 / 54.5, rel=0.01)


def test_the_network_row_is_the_reports_own_and_never_derived_from_the_totals() -> None:
    network = {"before": 142.35, "after": 142.35, "monthlySavings": 0.0}
    rows = with_network_row(savings(network=network))
    assert rows[-1] == {"service": "network (NAT, endpoints)", **network}
    # without a network row in the report there is none on the page (it used to be made up from
    # the totals, which showed a rounding cent as a "network saving")
    assert [r["service"] for r in with_network_row(savings())] == ["api-gateway", "frontend", "processing-service"]


def test_a_service_that_grows_is_shown_as_a_cost_and_names_are_escaped() -> None:
    data = savings(
        services=[{"service": "<b>grows</b>", "before": 10.0, "after": 14.0, "monthlySavings": -4.0}],
        before={"monthly": 10.0},
        after={"monthly": 14.0},
        monthlySavings=-4.0,
        percent=-40.0,
        breakdown=[{"category": "rightsizing", "monthly": -4.0}]
        + [{"category": c, "monthly": 0.0} for c in ("taskCount", "spot", "ecrStorage", "network")],
    )
    page = render_savings_html(data, [])
    assert "<b>grows</b>" not in page and "&lt;b&gt;grows&lt;/b&gt;" in page
    assert '<span class="neg">-$4.00</span>' in page
    assert "+$4.00" in page  # the waterfall step goes up
    assert parse(page).errors == []
