"""The demo's moving parts: the CLI runner, the before/after table, the report files, and one
end-to-end run on the plan fixture (the emulator's deployments complete at once)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Dict

import pytest

from ecs_optimizer.output.models import COMMENT_MARKER
from ecs_optimizer_lab import demo
from plan_snapshots import PLAN_DIR

PLAN = PLAN_DIR


def row(service: str = "api", **changes: Any) -> Dict[str, Any]:
    base = {
        "service": service,
        "taskDefinition": f"{service}-dev:1",
        "cpu": 512,
        "memory": 1024,
        "desiredCount": 3,
        "runningCount": 3,
        "strategy": "on-demand only",
        "minCapacity": 2,
        "maxCapacity": 6,
        "keepImages": 10,
        "images": 10,
        "alarms": {"cpuHigh": 80.0, "runningTasksLow": 2.0},
    }
    base.update(changes)
    return base


def test_before_after_table_marks_exactly_the_changed_fields() -> None:
    before = [row()]
    after = [
        row(
            taskDefinition="api-dev:2",
            cpu=256,
            memory=512,
            minCapacity=1,
            alarms={"cpuHigh": 60.0, "runningTasksLow": 2.0},
        )
    ]
    lines = demo.before_after_table(before, after).splitlines()
    marked = [line for line in lines if line.rstrip().endswith("*")]
    assert len(marked) == 4, marked
    assert any("task definition" in line and "api-dev:1" in line and "api-dev:2" in line for line in marked)
    assert any("cpu / memory" in line and "512 / 1024" in line and "256 / 512" in line for line in marked)
    assert any("autoscaling min..max" in line for line in marked)
    assert any("alarm cpuHigh" in line and "80" in line and "60" in line for line in marked)
    assert not any("alarm runningTasksLow" in line for line in marked)


def test_before_after_table_refuses_a_service_that_vanished() -> None:
    with pytest.raises(demo.DemoError, match="missing"):
        demo.before_after_table([row("api")], [row("web")])


def test_write_reports_writes_html_markdown_and_json(tmp_path: Path) -> None:
    savings = {
        "currency": "USD",
        "hoursPerMonth": 730,
        "pricing": {"source": "table", "region": "us-east-1", "asOf": "2026-11-01"},
        "before": {"monthly": 100.0},
        "after": {"monthly": 60.0},
        "monthlySavings": 40.0,
        "percent": 40.0,
        "breakdown": [
            {"category": c, "monthly": 20.0 if c in ("rightsizing", "spot") else 0.0}
            for c in ("rightsizing", "taskCount", "spot", "ecrStorage", "network")
        ],
        "services": [{"service": "api", "before": 100.0, "after": 60.0, "monthlySavings": 40.0}],
    }
    paths = demo.write_reports(tmp_path / "out", savings, "### Estimated monthly savings\n", [row()])
    assert paths["markdown"].read_text() == "### Estimated monthly savings\n"
    assert json.loads(paths["json"].read_text()) == savings
    page = paths["html"].read_text()
    assert page.startswith("<!DOCTYPE html>") and "$40.00" in page and "api-dev:1" in page


def test_run_cli_uses_the_installed_entry_point_and_reports_failures(tmp_path: Path) -> None:
    console = demo.Console(io.StringIO())
    helped = demo.run_cli(["--help"], {}, console)
    assert helped.code == 0 and "optimize" in helped.stdout
    with pytest.raises(demo.DemoError, match="exited 2"):
        demo.run_cli(["optimize", "--dry-run", "--outputs", str(tmp_path / "missing.json")], {}, console)


def test_demo_end_to_end_on_the_plan_fixture(tmp_path: Path) -> None:
    out = io.StringIO()
    paths = demo.run_demo(PLAN, tmp_path / "demo", seed=11, rollout_seconds=0.0, console=demo.Console(out))
    printed = out.getvalue()
    for step in ("optimize --dry-run", "ecs-optimizer optimize", "savings --journal", "Reading the live state back"):
        assert step in printed
    table = printed.split("Reading the live state back", 1)[1]
    assert "task definition" in table and "*" in table
    savings = json.loads(paths["json"].read_text())
    assert savings["monthlySavings"] > 0
    # the demo prices what its run realised (savings --journal)
    assert paths["markdown"].read_text().startswith(COMMENT_MARKER + "\n### Realised monthly savings")
    page = paths["html"].read_text()
    assert "Realised monthly savings" in page and "docs/" not in page and "<caption>" in page
    assert "<svg" in paths["html"].read_text()
    journal = (tmp_path / "demo" / "journal.jsonl").read_text().splitlines()
    assert len(journal) > 1
