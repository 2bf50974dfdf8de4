"""Levers are units: the engine, restore, journal reading, the write-back and the report all
go through the registry, so a lever added there (here a test lever in a temporary registry)
is planned, applied, journalled, restored and reported with no other change."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, List, Mapping, Tuple

import pytest

import ecs_optimizer
from ecs_optimizer.apply import permissions
from ecs_optimizer.apply.engine import OptimizeOutcome, ServiceRun
from ecs_optimizer.apply.journal import Journal
from ecs_optimizer.apply.journal_reader import read_journal
from ecs_optimizer.apply.restore import restore_changes
from ecs_optimizer.core.changes import CONFIG_FILE, RESOURCES, Change, RestoreStep, alarm_resource
from ecs_optimizer.core.model import CapacityStrategy, ServiceState
from ecs_optimizer.levers import registry
from ecs_optimizer.levers.base import FieldSpec, Lever, PlannedChange, is_int
from ecs_optimizer.output.models import Where, optimize_report
from ecs_optimizer.output.registry import render
from ecs_optimizer.planning.plan import RunOptions, ServicePlan, Status
from ecs_optimizer.pricing.costs import lever_states
from ecs_optimizer.pricing.savings import CATEGORIES, NETWORK_CATEGORY
from ecs_optimizer.writeback.applied import applied_service
from ecs_optimizer.writeback.applied_values import AppliedRun
from ecs_optimizer.writeback.plan import plan_keys
from ecs_optimizer.writeback.setting import Setting
from report_schema import SAVINGS_SCHEMA_FILE, load_schema

CORE = Path(ecs_optimizer.__file__).parent
KIND = "testKnob"
SERVICE = "frontend"


class KnobLever(Lever):
    """A lever the product does not have: sets a service's knob, and can be told to fail."""

    name = "knob"
    label = "knob turning"
    iam_actions = ("ecs:UpdateService",)
    resource = KIND
    target_keys = ("knobId",)
    journal_fields = {(KIND, "knob"): FieldSpec("an integer", is_int, "desired_count", int)}
    migration_steps = ("turn the knob",)

    def __init__(self, fail_after_write: bool = False) -> None:
        self.fail_after_write = fail_after_write
        self.restored: List[Dict[str, Any]] = []

    def changes(self, plan: Any) -> List[PlannedChange]:
        return [PlannedChange(KIND, "knob", plan.before.desired_count, plan.after.desired_count)]

    def apply(self, run: Any) -> None:
        change = self.changes(run.plan)[0]
        run.write("TurnKnob", KIND, {"knob": (change.before, change.after)}, {"knobId": "k-1"}, lambda: "turned")
        if self.fail_after_write:
            raise RuntimeError("the knob jammed")

    def restore(self, restorer: Any, step: RestoreStep, notes: List[str]) -> List[Change]:
        self.restored.append(dict(step.before))
        notes.append("knob put back")
        return [Change(step.service, step.resource, "knob", step.after["knob"], step.before["knob"], step.target)]

    def applied(
        self, before: ServiceState, after: ServiceState, thresholds: Mapping[str, float], baseline: Tuple[int, int]
    ) -> Dict[str, Any]:
        return {"desired_count": after.desired_count if after.desired_count != before.desired_count else None}

    def settings(self, run: AppliedRun, notes: List[str]) -> List[Setting]:
        return [
            Setting("compute", ("compute:knobs", name), svc.desired_count, name)
            for name, svc in run.services.items()
            if svc.desired_count is not None
        ]


@pytest.fixture
def knob(monkeypatch):
    """A registry holding only the test lever."""

    def install(fail_after_write: bool = False) -> KnobLever:
        lever = KnobLever(fail_after_write)
        monkeypatch.setattr(registry, "LEVERS", (lever,))
        return lever

    return install


def _plan() -> ServicePlan:
    before = ServiceState(SERVICE, 512, 1024, desired_count=3, min_capacity=1, max_capacity=4)
    live = SimpleNamespace(name=SERVICE, target=SimpleNamespace(service_name=f"{SERVICE}-dev", declared=None))
    return ServicePlan(live, before, before.with_changes(desired_count=2), Status.PLANNED, "test")  # type: ignore[arg-type]


def _run(tmp_path: Path) -> Tuple[ServiceRun, Path]:
    path = tmp_path / "journal.jsonl"
    journal = Journal(path, {"runId": "r1", "cluster": "c"})
    run = ServiceRun(None, journal, _plan(), "c", RunOptions(wait_timeout=1, poll_interval=0), "r1")  # type: ignore[arg-type]
    return run, path


def test_a_registered_lever_is_planned_applied_journalled_and_reported(knob, tmp_path):
    knob()
    plan = _plan()
    assert plan.changes() == [PlannedChange(KIND, "knob", 3, 2)]
    assert registry.migration_order()[-1] == "turn the knob"
    run, path = _run(tmp_path)
    result = run.run()
    run.journal.close()
    assert result.status == Status.APPLIED
    intents = [json.loads(line) for line in path.read_text().splitlines() if '"intent"' in line]
    assert [(i["operation"], i["changes"][0]["resource"], i["changes"][0]["after"]) for i in intents] == [
        ("TurnKnob", KIND, 2)
    ]
    # the journal reader checks the lever's field by the lever's own declaration
    contents = read_journal(path)
    assert [(c.resource, c.field, c.before, c.after) for c in contents.changes] == [(KIND, "knob", 3, 2)]
    outcome = OptimizeOutcome("c", False, "fixed", path, [result])
    text = render(optimize_report(outcome, None, Where()), "table")
    assert "knob turning" in text and f"{KIND}.knob" in text and "3 -> 2" in text
    assert "1. turn the knob" in text


def test_a_failing_lever_is_restored_by_its_own_restore_step(knob, tmp_path):
    lever = knob(fail_after_write=True)
    run, _ = _run(tmp_path)
    result = run.run()
    assert result.status == Status.ROLLED_BACK
    assert "the knob jammed" in result.reason and "knob put back" in result.reason
    assert lever.restored == [{"knob": 3}]


def test_restore_dispatches_by_the_journalled_resource_kind(knob):
    lever = knob()
    change = Change(SERVICE, KIND, "knob", 3, 2, {"knobId": "k-1"})
    outcomes = restore_changes(None, [change], 1, 0, dry_run=True)  # type: ignore[arg-type]
    assert [o.error for o in outcomes] == [None] and lever.restored == [{"knob": 3}]
    unknown = restore_changes(None, [Change(SERVICE, "bucket", "x", 1, 2, {})], 1, 0, dry_run=True)  # type: ignore[arg-type]
    assert unknown[0].error == "bucket: no lever restores 'bucket'"


def test_the_write_back_asks_the_levers_for_values_and_keys(knob):
    knob()
    before = _plan().before
    svc = applied_service(SERVICE, before, before.with_changes(desired_count=2), {})
    assert svc.desired_count == 2 and svc.size is None and not svc.empty
    keys = plan_keys(AppliedRun("dev", {SERVICE: svc}))
    assert [(s.key, s.value) for s in keys.settings] == [("compute:knobs.frontend", 2)]


def test_every_journal_resource_has_exactly_one_owner():
    owned = [r for r in RESOURCES if r != CONFIG_FILE]
    for resource in owned + [alarm_resource("cpu-high-frontend-dev")]:
        owners = [u for u in registry.apply_units() if u.owns(resource)]
        assert len(owners) == 1, resource
    assert registry.owner(CONFIG_FILE) is None and registry.owner("alarm:") is None


def test_every_service_field_is_journalled_by_exactly_one_lever():
    fields = [lever.service_field for lever in registry.LEVERS if lever.service_field]
    assert len(fields) == len(set(fields)) and fields
    for field in fields:
        assert registry.field_spec("service", field) is not None


def test_each_levers_iam_actions_are_granted():
    declared = permissions.load_actions()
    assert permissions.undeclared_lever_actions(declared) == {}
    narrowed = permissions.IamActions(declared.read, tuple(a for a in declared.write if a != "ecr:PutLifecyclePolicy"))
    assert permissions.undeclared_lever_actions(narrowed) == {"ECR retention": {"ecr:PutLifecyclePolicy"}}
    assert permissions.writes_outside_levers(["ecs:UpdateService", "ssm:PutParameter", "ecs:DescribeServices"]) == {
        "ssm:PutParameter"
    }


#: Modules that must not switch on a lever: they iterate the registry.
CONSUMERS = (
    "apply/engine.py",
    "planning/plan.py",
    "apply/restore.py",
    "pricing/realised.py",
    "apply/journal_reader.py",
    "output/sections.py",
    "writeback/applied.py",
    "writeback/plan.py",
)


def _lever_names(source: str) -> List[str]:
    """Every ``Resource.<member>`` and alarm-prefix reference in ``source``: a per-lever branch."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "Resource":
            found.append(f"Resource.{node.attr}")
        if isinstance(node, ast.Name) and node.id in ("ALARM_PREFIX", "alarm_resource"):
            found.append(node.id)
    return found


@pytest.mark.parametrize("module", CONSUMERS)
def test_consumers_have_no_per_lever_branch(module):
    assert _lever_names((CORE / module).read_text()) == []


def test_the_branch_check_sees_a_lever_name():
    assert _lever_names("if step.resource == Resource.SERVICE or r.startswith(ALARM_PREFIX):\n    pass\n") == [
        "Resource.SERVICE",
        "ALARM_PREFIX",
    ]


def _held(lever_name: str, after: ServiceState, **live: Any) -> Tuple[ServiceState, Any]:
    lever = next(lever for lever in registry.LEVERS if lever.name == lever_name)
    inventory = SimpleNamespace(capacity_providers=live.pop("providers", ["FARGATE"]))
    values = {
        "task_definition": {"containerDefinitions": [{"name": "app", "cpu": 256, "memory": 900}]},
        "scalable_target": {"MinCapacity": 1, "MaxCapacity": 4},
        "repository_exists": True,
        "lifecycle_policy": None,
        **live,
    }
    return lever.hold_back(_plan().before, after, SimpleNamespace(**values), inventory)  # type: ignore[arg-type]


def test_each_lever_holds_back_what_the_live_resources_cannot_take():
    before = _plan().before
    smaller = before.with_changes(cpu=256, memory=512)
    assert _held("task size", smaller) == (
        before.with_changes(cpu=512, memory=1024),
        "task size kept: its containers reserve 900 MiB, more than 512 MiB",
    )
    assert _held("task size", before.with_changes(cpu=256, memory=1024)) == (
        before.with_changes(cpu=256, memory=1024),
        None,
    )
    spot = before.with_changes(strategy=CapacityStrategy(0, 1, 3))
    assert _held("Spot", spot) == (before, "capacity strategy kept: cluster has no FARGATE_SPOT capacity provider")
    assert _held("Spot", spot, providers=["FARGATE", "FARGATE_SPOT"]) == (spot, None)
    floors = before.with_changes(min_capacity=2)
    assert _held("autoscaling", floors, scalable_target=None) == (
        before,
        "autoscaling kept: no scalable target registered",
    )
    assert _held("autoscaling", floors) == (floors, None)
    keep = before.with_changes(ecr_keep_images=5)
    assert _held("ECR retention", keep, repository_exists=False) == (before, "ECR retention kept: repository not found")
    custom = json.dumps({"rules": [{"rulePriority": 1, "selection": {"tagStatus": "tagged"}, "action": {}}]})
    assert _held("ECR retention", keep, lifecycle_policy=custom)[1] == (
        "ECR retention kept: its lifecycle policy has a custom shape"
    )
    assert _held("ECR retention", keep) == (keep, None)


def test_the_savings_categories_are_the_levers_savings_steps():
    enums = [
        node["category"]["enum"]
        for node in _walk(load_schema(SAVINGS_SCHEMA_FILE))
        if isinstance(node, dict) and isinstance(node.get("category"), dict) and "enum" in node["category"]
    ]
    assert list(CATEGORIES) == [s.category for s in registry.savings_steps()] + [NETWORK_CATEGORY]
    assert enums == [list(CATEGORIES)]
    before = _plan().before
    after = before.with_changes(cpu=256, memory=512, desired_count=2, ecr_keep_images=5)
    chain = lever_states(before, after)
    assert len(chain) == len(CATEGORIES) and chain[-1] == after
    assert [s.cpu for s in chain] == [512] + [256] * (len(chain) - 1)


def _walk(node: Any):
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        yield from _walk(child)
