"""Config write-back: stack files edited in place (comments, order, unrelated keys and style
kept), the per-tier rules, layer-wide keys, bad files, the journal and rollback of the files,
and ``export-config``. The end-to-end no-drift property is in test_drift.py."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Dict, Optional

import pytest

from ecs_optimizer.apply.journal import Journal
from ecs_optimizer.apply.journal_reader import read_journal
from ecs_optimizer.core.changes import Change
from ecs_optimizer.core.errors import BadInput
from ecs_optimizer.core.model import CapacityStrategy, ServiceState
from ecs_optimizer.writeback.applied import applied_from_journal, applied_run
from ecs_optimizer.writeback.applied_values import AppliedRun, AppliedService
from ecs_optimizer.writeback.export import export_lines
from ecs_optimizer.writeback.files import restore_files, write_back
from ecs_optimizer.writeback.plan import plan_keys
from ecs_optimizer.writeback.setting import Setting, property_path
from ecs_optimizer.writeback.stack_file import load_stack_file, load_stack_files
from ecs_optimizer.writeback.yaml_edit import edit_text
from ecs_optimizer_lab.emulator_server import FAIL_DEPLOYMENTS_ENV
from ecs_optimizer_lab.readback import read_state
from helpers import FAST, ON_DEMAND_FLEET, mutating
from plan_snapshots import FLEET, SERVICE

FIXED = ["--policy", "fixed"]

COMPUTE = """\
# Compute layer, dev stack.
config:
  aws:region: us-east-1   # where everything runs
  compute:team: platform
  compute:services:
    frontend:
      # the public site
      healthCheckPath: /healthz
      sizes: {dev: {cpu: 512, memory: 1024}, prod: {cpu: 1024, memory: 2048}}
    api-gateway:
      desiredCount: 3   # both tiers
      minCapacity: {dev: 2, prod: 3}
      environment:
        LOG_LEVEL: debug
  compute:spotShare: "0.70"
  # alphabetical from here on
  compute:zone: a
# end of file
"""


ON_DEMAND = CapacityStrategy()


def svc(
    name: str,
    cpu: int = 512,
    memory: int = 1024,
    desired: int = 3,
    min_capacity: int = 2,
    max_capacity: int = 6,
    critical: bool = True,
    strategy: CapacityStrategy = ON_DEMAND,
    keep: Optional[int] = 10,
) -> ServiceState:
    return ServiceState(
        name,
        cpu,
        memory,
        desired,
        min_capacity,
        max_capacity,
        critical=critical,
        strategy=strategy,
        ecr_keep_images=keep,
    )


def run_of(tier: str = "dev", **services: AppliedService) -> AppliedRun:
    return AppliedRun(tier, services)


def stack_file(tmp_path: Path, text: str, name: str = "Pulumi.dev.yaml", layer_dir: str = "compute") -> Path:
    path = tmp_path / layer_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def edited(path: Path, *settings: Setting) -> str:
    return edit_text(path, path.read_text(), list(settings)).after


def size(service: str, tier: str, cpu: int, memory: int) -> list:
    base = ("compute:services", service, "sizes", tier)
    return [Setting("compute", base + ("cpu",), cpu, service), Setting("compute", base + ("memory",), memory, service)]


def count(service: str, fieldname: str, tier: str, value: int) -> Setting:
    return Setting("compute", ("compute:services", service, fieldname, tier), value, service, per_tier=True)


# ----------------------------------------------------------------------------- editing


def test_only_the_written_values_change_and_everything_else_stays(tmp_path: Path) -> None:
    path = stack_file(tmp_path, COMPUTE)
    text = edited(
        path,
        *size("frontend", "dev", 256, 512),
        count("api-gateway", "desiredCount", "dev", 2),
        count("api-gateway", "minCapacity", "dev", 1),
        Setting("compute", ("compute:spotShare",), 0.8),
    )
    assert (
        text
        == """\
# Compute layer, dev stack.
config:
  aws:region: us-east-1   # where everything runs
  compute:team: platform
  compute:services:
    frontend:
      # the public site
      healthCheckPath: /healthz
      sizes: {dev: {cpu: 256, memory: 512}, prod: {cpu: 1024, memory: 2048}}
    api-gateway:
      desiredCount:     # both tiers
        dev: 2
        prod: 3
      minCapacity: {dev: 1, prod: 3}
      environment:
        LOG_LEVEL: debug
  compute:spotShare: "0.8"
  # alphabetical from here on
  compute:zone: a
# end of file
"""
    )


def test_new_keys_go_last_and_trailing_comments_stay_below_them(tmp_path: Path) -> None:
    path = stack_file(tmp_path, COMPUTE)
    text = edited(
        path,
        *size("processing-service", "prod", 1024, 2048),
        count("frontend", "desiredCount", "dev", 2),
        Setting("compute", ("compute:services", "api-gateway", "maxCapacity", "dev"), 4, "api-gateway", per_tier=True),
    )
    lines = text.splitlines()
    # an absent count is written for the run's tier only: the other tier keeps its default
    assert "      desiredCount:\n        dev: 2\n    api-gateway:" in text
    assert "      maxCapacity:\n        dev: 4\n    processing-service:" in text
    assert text.index("processing-service:") < text.index("compute:spotShare")
    assert lines[-3:] == ["  # alphabetical from here on", "  compute:zone: a", "# end of file"]


def test_a_new_top_level_key_goes_before_the_closing_comment(tmp_path: Path) -> None:
    path = stack_file(
        tmp_path, "config:\n  observability:tier: dev  # the profile\n# closing note\n", layer_dir="observability"
    )
    text = edited(path, Setting("observability", ("observability:thresholds", "frontend", "cpuHigh"), 66.7, "frontend"))
    assert text == (
        "config:\n  observability:tier: dev  # the profile\n  observability:thresholds:\n"
        "    frontend:\n      cpuHigh: 66.7\n# closing note\n"
    )


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("desiredCount: 3", "desiredCount:\n        dev: 3\n        prod: 2"),  # a plain number: kept for dev
        ("desiredCount: {dev: 4, prod: 3}", "desiredCount: {dev: 4, prod: 2}"),  # a map: only prod
        ("desiredCount:\n        dev: 4", "desiredCount:\n        dev: 4\n        prod: 2"),
        ("desiredCount: 2", "desiredCount: 2"),  # already the value: untouched
    ],
)
def test_per_tier_counts_change_only_the_runs_tier(tmp_path: Path, before: str, after: str) -> None:
    path = stack_file(tmp_path, f"config:\n  compute:services:\n    orders:\n      {before}\n")
    assert (
        edited(path, count("orders", "desiredCount", "prod", 2))
        == f"config:\n  compute:services:\n    orders:\n      {after}\n"
    )


def test_writing_twice_changes_nothing_the_second_time(tmp_path: Path) -> None:
    path = stack_file(tmp_path, COMPUTE)
    settings = [*size("frontend", "dev", 256, 512), count("api-gateway", "desiredCount", "dev", 2)]
    first = edit_text(path, path.read_text(), settings)
    path.write_text(first.after)
    second = edit_text(path, first.after, settings)
    assert first.changes and second.changes == [] and second.after == first.after


def test_files_without_config_and_other_indentation(tmp_path: Path) -> None:
    # an empty file says nothing of its layer: the project file beside it does
    (tmp_path / "registry").mkdir()
    (tmp_path / "registry" / "Pulumi.yaml").write_text("name: registry\nruntime: nodejs\n")
    empty = stack_file(tmp_path, "", "Pulumi.a.yaml", "registry")
    assert edited(empty, Setting("registry", ("registry:keepImages",), 5)) == "config:\n  registry:keepImages: 5\n"
    braces = stack_file(tmp_path, "config: {}\n", "Pulumi.b.yaml", "registry")
    assert edited(braces, Setting("registry", ("registry:keepImages",), 5)) == "config:\n  registry:keepImages: 5\n"
    (tmp_path / "compute").mkdir()
    (tmp_path / "compute" / "Pulumi.yaml").write_text("name: compute\nruntime: nodejs\n")
    bare = stack_file(tmp_path, "encryptionsalt: v1:abc\n", "Pulumi.d.yaml", "compute")
    assert edited(bare, count("a", "desiredCount", "dev", 2)) == (
        "encryptionsalt: v1:abc\nconfig:\n  compute:services:\n    a:\n      desiredCount:\n        dev: 2\n"
    )
    wide = "config:\n    registry:services:\n    - a\n    - b\n    registry:keepImages: 10\n"
    path = stack_file(tmp_path, wide, "Pulumi.c.yaml", "registry")
    assert edited(path, Setting("registry", ("registry:keepImages",), 5)) == wide.replace("10", "5")


def test_crlf_files_are_edited_and_restored_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "registry" / "Pulumi.dev.yaml"
    path.parent.mkdir()
    original = b"# keep\r\nconfig:\r\n  registry:keepImages: 10\r\n"
    path.write_bytes(original)
    journal: list = []
    report = write_back(
        {"registry": load_stack_file(path)}, run_of(a=AppliedService("a", True, keep_images=5)), record=journal.append
    )
    assert report.files[0].status == "written" and b"registry:keepImages: 5\r\n" in path.read_bytes()
    assert [r.status for r in restore_files(journal)] == ["restored"]
    assert path.read_bytes() == original


def test_a_service_removed_from_the_catalog_is_not_resurrected(tmp_path: Path) -> None:
    path = stack_file(tmp_path, "config:\n  compute:services:\n    frontend: null\n")
    edit = edit_text(path, path.read_text(), size("frontend", "dev", 256, 512))
    assert edit.changes == [] and edit.after == path.read_text()
    assert "removed from the catalog" in edit.notes[0]


def test_rightsized_from_is_written_once_and_keeps_the_original_size(tmp_path: Path) -> None:
    path = stack_file(tmp_path, COMPUTE)
    # run 1: frontend halved from its original 1024/2048 (prod)
    first = run_of("prod", frontend=AppliedService("frontend", True, size=(512, 1024), rightsized_from=(1024, 2048)))
    journal: list = []
    report = write_back({"compute": load_stack_file(path)}, first, record=journal.append)
    assert report.files[0].status == "written"
    from ruamel.yaml import YAML

    entry = YAML(typ="safe").load(path.read_text())["config"]["compute:services"]["frontend"]
    assert entry["sizes"]["prod"] == {"cpu": 512, "memory": 1024}
    assert entry["rightsizedFrom"] == {"prod": {"cpu": 1024, "memory": 2048}}
    after_first = path.read_text()
    # run 2 (say a metrics run) from the already-reduced size: sizes move, rightsizedFrom stays
    second = plan_keys(
        run_of("prod", frontend=AppliedService("frontend", True, size=(256, 512), rightsized_from=(512, 1024)))
    )
    edit = edit_text(path, after_first, second.settings)
    assert {c.key for c in edit.changes} == {
        "compute:services.frontend.sizes.prod.cpu",
        "compute:services.frontend.sizes.prod.memory",
    }
    assert YAML(typ="safe").load(edit.after)["config"]["compute:services"]["frontend"]["rightsizedFrom"] == {
        "prod": {"cpu": 1024, "memory": 2048}
    }
    # an explicit null (never rightsized) is filled in; another tier's entry is left alone
    nulled = after_first.replace("rightsizedFrom:\n        prod:", "rightsizedFrom:\n        dev: null\n        prod:")
    assert nulled != after_first
    edit = edit_text(
        path,
        nulled,
        plan_keys(
            run_of("dev", frontend=AppliedService("frontend", True, size=(256, 512), rightsized_from=(512, 1024)))
        ).settings,
    )
    assert YAML(typ="safe").load(edit.after)["config"]["compute:services"]["frontend"]["rightsizedFrom"] == {
        "dev": {"cpu": 512, "memory": 1024},
        "prod": {"cpu": 1024, "memory": 2048},
    }
    # journalled like the other keys: rollback puts the file back byte for byte
    assert [r.status for r in restore_files(journal)] == ["restored"]
    assert path.read_text() == COMPUTE
    # export-config prints the keys too
    lines = "\n".join(export_lines(plan_keys(first), "dev"))
    assert "compute:services.frontend.rightsizedFrom.prod.cpu" in lines and "rightsizedFrom.prod.memory" in lines


def test_a_bad_rightsized_from_shape_is_refused(tmp_path: Path) -> None:
    path = stack_file(tmp_path, "config:\n  compute:services:\n    frontend:\n      rightsizedFrom: 512\n")
    with pytest.raises(BadInput, match=r"rightsizedFrom = 512: expected a map of tier"):
        load_stack_file(path)


def test_property_paths_quote_what_a_dotted_path_cannot_carry() -> None:
    assert (
        property_path(("compute:services", "api-gateway", "sizes", "dev", "cpu"))
        == "compute:services.api-gateway.sizes.dev.cpu"
    )
    assert property_path(("observability:thresholds", "a.b", "cpuHigh")) == 'observability:thresholds["a.b"].cpuHigh'


# ----------------------------------------------------------------------------- which keys


def test_keys_for_a_run() -> None:
    before = svc("orders", 2048, 5120, critical=False, strategy=CapacityStrategy(1, 3, 7))
    after = before.with_changes(
        cpu=1024, memory=3072, desired_count=2, min_capacity=1, strategy=CapacityStrategy(1, 3, 22), ecr_keep_images=5
    )
    run = applied_run(
        "prod", [("orders", before, after, {"cpuHigh": 60.0, "memoryHigh": 66.7, "runningTasksLow": 1.0}, True)]
    )
    plan = plan_keys(run)
    assert {s.key: s.value for s in plan.settings} == {
        "registry:keepImages": 5,
        "compute:services.orders.sizes.prod.cpu": 1024,
        "compute:services.orders.sizes.prod.memory": 3072,
        "compute:services.orders.rightsizedFrom.prod.cpu": 2048,
        "compute:services.orders.rightsizedFrom.prod.memory": 5120,
        "compute:services.orders.desiredCount.prod": 2,
        "compute:services.orders.minCapacity.prod": 1,
        "compute:spotShare": 0.88,  # the weights applied (3:22), not a rounder share
        "observability:thresholds.orders.cpuHigh": 60,  # whole: an int, as the layer's defaults are
        "observability:thresholds.orders.memoryHigh": 66.7,
    }
    assert plan.notes == []


SEVENTY, EIGHTY = CapacityStrategy(1, 3, 7), CapacityStrategy(1, 1, 4)


def test_layer_wide_keys_need_agreement_and_name_who_else_moves() -> None:
    a0 = svc("a", critical=False, strategy=SEVENTY)
    b0 = svc("b", critical=False, strategy=SEVENTY)
    c0 = svc("c", critical=False, strategy=SEVENTY)
    rows = [
        ("a", a0, a0.with_changes(strategy=EIGHTY, ecr_keep_images=5), {}, True),
        ("b", b0, b0.with_changes(ecr_keep_images=4), {}, True),
        ("c", c0, c0.with_changes(strategy=EIGHTY), {}, False),  # planned but not applied
    ]
    plan = plan_keys(applied_run("dev", rows))
    assert {s.key for s in plan.settings} == {"compute:spotShare"}
    assert any("registry:keepImages not written" in n and "a 5, b 4" in n for n in plan.notes)
    assert any("compute:spotShare = 0.8 is layer-wide: b (0.7), c (0.7)" in n for n in plan.notes)


def test_a_share_below_the_layers_minimum_is_not_written() -> None:
    before = svc("a", critical=False)
    after = before.with_changes(strategy=CapacityStrategy(1, 1, 1))
    plan = plan_keys(applied_run("dev", [("a", before, after, {}, True)]))
    assert plan.settings == [] and "outside the compute layer's range" in plan.notes[0]


def test_a_journal_yields_what_the_run_left_applied(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    journal = Journal(path, {"cluster": "c", "region": "us-east-1", "tier": "dev"})
    for name in ("a", "b"):
        journal.snapshot(svc(name))
    service = lambda n: {"cluster": "c", "serviceName": f"{n}-dev"}  # noqa: E731
    revision = lambda n: {"family": f"{n}-dev", **service(n)}  # noqa: E731
    for change in [
        Change("a", "taskDefinition", "cpu", 512, 256, revision("a")),
        Change("a", "taskDefinition", "memory", 1024, 512, revision("a")),
        Change("a", "service", "taskDefinition", "a-dev:1", "a-dev:2", service("a")),
        # written before alarm kinds were journalled: the kind comes from the alarm's name
        Change("a", "alarm:cpu-high-a-dev", "threshold", 80.0, 60.0, {"alarmName": "cpu-high-a-dev"}),
        # b's deployment failed and was put back: nothing of it is applied
        Change("b", "taskDefinition", "cpu", 512, 256, revision("b")),
        Change("b", "service", "taskDefinition", "b-dev:1", "b-dev:2", service("b")),
        Change("b", "service", "desiredCount", 3, 2, service("b")),
        Change("b", "service", "taskDefinition", "b-dev:2", "b-dev:1", service("b")),
        Change("b", "service", "desiredCount", 2, 3, service("b")),
    ]:
        journal.change(change)
    journal.close()
    run = applied_from_journal(read_journal(str(path)), "dev")
    assert dict(run.services) == {
        "a": AppliedService("a", True, size=(256, 512), thresholds={"cpuHigh": 60.0}, rightsized_from=(512, 1024))
    }


def test_export_lines_name_the_stack_and_project_directory() -> None:
    plan = plan_keys(
        run_of(
            "prod",
            **{
                "api-gateway": AppliedService(
                    "api-gateway", True, size=(512, 1024), desired_count=2, thresholds={"memoryHigh": 66.7}
                )
            },
        )
    )
    assert export_lines(plan, "prod") == [
        "# counts are set for one tier (<field>.<tier>); where a count holds one number for both tiers, "
        "replace it with a {dev, prod} map first",
        "pulumi config set --path 'compute:services.api-gateway.sizes.prod.cpu' 512 --stack prod --cwd stacks/compute",
        "pulumi config set --path 'compute:services.api-gateway.sizes.prod.memory' 1024 --stack prod --cwd stacks/compute",
        "pulumi config set --path 'compute:services.api-gateway.desiredCount.prod' 2 --stack prod --cwd stacks/compute",
        "pulumi config set --path 'observability:thresholds.api-gateway.memoryHigh' --type float 66.7 --stack prod "
        "--cwd stacks/observability",
    ]
    assert export_lines(plan, "org/prod", "/repo/stacks")[1].endswith("--stack org/prod --cwd /repo/stacks/compute")


def test_the_spot_share_is_the_exact_applied_fraction() -> None:
    plan = plan_keys(run_of(a=AppliedService("a", False, spot_share=Fraction(7, 8))))
    assert [(s.key, s.value) for s in plan.settings] == [("compute:spotShare", 0.875)]


# ----------------------------------------------------------------------------- bad files


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("config:\n  compute:team: [unclosed\n", "not valid YAML"),
        ("- a\n- b\n", "not a Pulumi stack file"),
        ("name: compute\nruntime: nodejs\n", "that is a project file"),
        ("config:\n  tier: dev\n", "not a fully qualified layer:key"),
        ("config:\n  aws:region: us-east-1\n", "cannot tell which layer"),
        ("config:\n  compute:tier: dev\n  registry:keepImages: 3\n", "cannot tell which layer"),
        (
            "config:\n  network:tier: dev\n",
            "network layer.s keys are written one migration step at a time: savings --migration-step",
        ),
        ("config:\n  compute:services: [a, b]\n", "expected a map of service name"),
        ("config:\n  observability:thresholds:\n    a: 80\n", "expected a map with any of cpuHigh"),
        ("config:\n  compute:services: '{\"a\": {}}'\n", "a JSON string cannot be edited in place"),
        ("config:\n  compute:services:\n    a:\n      desiredCount: many\n", "expected a number or a map"),
    ],
)
def test_bad_files_are_bad_input(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(text)
    with pytest.raises(BadInput, match=message):
        load_stack_file(path)


def test_the_layer_comes_from_the_project_file_beside_the_stack_file(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: observability\nruntime: nodejs\n")
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text("config:\n  aws:region: us-east-1\n")
    assert load_stack_file(path).layer == "observability"
    twin = tmp_path / "other" / "Pulumi.dev.yaml"
    twin.parent.mkdir()
    twin.write_text("config:\n  observability:tier: dev\n")
    with pytest.raises(BadInput, match="both observability stack files"):
        load_stack_files([str(path), str(twin)])
    with pytest.raises(BadInput, match="no such file"):
        load_stack_file(tmp_path / "missing.yaml")


# ----------------------------------------------------------------------------- through the CLI


def files(tmp_path: Path) -> Dict[str, Path]:
    return {
        "compute": stack_file(tmp_path, COMPUTE.replace("frontend", "processing-service"), layer_dir="compute"),
        "registry": stack_file(
            tmp_path, '# registry\nconfig:\n  registry:keepImages: "10"  # quoted\n', layer_dir="registry"
        ),
        "observability": stack_file(tmp_path, "config:\n  observability:tier: dev\n# end\n", layer_dir="observability"),
    }


@ON_DEMAND_FLEET  # the Spot share is written back too
def test_optimize_writes_journals_and_rollback_restores(outputs_file, run_cli, client, tmp_path) -> None:
    paths = files(tmp_path)
    pristine = {k: p.read_bytes() for k, p in paths.items()}
    journal = tmp_path / "j.jsonl"
    args = ["optimize", "--outputs", outputs_file, *FIXED, *FAST, "--journal", str(journal), "--format", "json"]
    result = run_cli(*args, *[a for p in paths.values() for a in ("--write-config", str(p))])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)["configWriteBack"]
    assert {f["layer"]: f["status"] for f in report["files"]} == dict.fromkeys(
        ("registry", "compute", "observability"), "written"
    )
    compute = paths["compute"].read_text()
    assert "# Compute layer, dev stack." in compute and "compute:zone: a" in compute and "LOG_LEVEL: debug" in compute
    assert 'registry:keepImages: "5"   # quoted' in paths["registry"].read_text()  # the comment keeps its column
    # what the run applied, exported from its journal, is exactly what was written
    written = {c["key"]: c["after"] for f in report["files"] for c in f["changes"]}
    exported = run_cli("export-config", "--journal", str(journal), "--format", "json")
    assert exported.exit_code == 0, exported.stderr
    settings = json.loads(exported.stdout)["settings"]
    assert all(s["command"].endswith(f"--stack {FLEET.suffix} --cwd stacks/{s['layer']}") for s in settings)
    leaf = {s["key"]: s["value"] for s in settings}
    for key, value in written.items():
        if isinstance(value, dict):  # a plain count turned into a per-tier map
            assert leaf[f"{key}.dev"] == value["dev"]
        else:
            assert leaf[key] == value
    # the journal holds the files' text; rollback puts it back byte for byte, once
    lines = [c for c in read_journal(str(journal)).changes if c.resource == "configFile"]
    assert [c.target["layer"] for c in lines] == ["registry", "compute", "observability"]
    assert run_cli("rollback", "--journal", str(journal), *FAST).exit_code == 0
    assert {k: p.read_bytes() for k, p in paths.items()} == pristine
    again = run_cli("rollback", "--journal", str(journal), *FAST, "--format", "json")
    assert again.exit_code == 0
    assert {f["status"] for f in json.loads(again.stdout)["configFiles"]} == {"unchanged"}


def test_a_bad_file_exits_2_with_nothing_changed(outputs_file, run_cli, client, tmp_path, contexts) -> None:
    good = files(tmp_path)["compute"]
    bad = tmp_path / "observability" / "Pulumi.dev.yaml"
    bad.write_text("config: [not, a, map\n")
    before = read_state(client, FLEET)
    text = good.read_bytes()
    result = run_cli(
        "optimize", "--outputs", outputs_file, *FIXED, *FAST, "--write-config", str(good), "--write-config", str(bad)
    )
    assert result.exit_code == 2
    assert "not valid YAML" in result.stderr
    assert mutating(contexts) == {} and read_state(client, FLEET) == before and good.read_bytes() == text
    assert not Path(".ecs-optimizer").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("config:\n  compute:tier: prod\n", "compute:tier is prod, but the run targets tier dev"),
        ("config:\n  compute:environmentSuffix: qa\n", "compute:environmentSuffix is qa, but the run targets dev"),
    ],
)
def test_a_file_of_another_environment_exits_2(
    outputs_file, run_cli, client, tmp_path, contexts, text, message
) -> None:
    path = stack_file(tmp_path, text)
    result = run_cli("optimize", "--outputs", outputs_file, *FIXED, *FAST, "--write-config", str(path))
    assert result.exit_code == 2 and message in result.stderr
    assert mutating(contexts) == {} and path.read_text() == text


def test_layers_without_a_file_are_reported_not_written(outputs_file, run_cli, tmp_path) -> None:
    path = files(tmp_path)["compute"]
    result = run_cli("optimize", "--outputs", outputs_file, *FIXED, *FAST, "--write-config", str(path))
    assert result.exit_code == 0, result.stderr
    assert "registry: not written, no --write-config file for this layer: registry:keepImages" in result.stdout
    assert (
        "observability: not written, no --write-config file for this layer: observability:thresholds." in result.stdout
    )


def test_dry_run_shows_the_keys_and_writes_nothing(outputs_file, run_cli, tmp_path) -> None:
    path = files(tmp_path)["compute"]
    text = path.read_bytes()
    result = run_cli(
        "optimize", "--outputs", outputs_file, *FIXED, "--dry-run", "--write-config", str(path), "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)["configWriteBack"]
    assert report["files"][0]["status"] == "planned"
    assert "compute:services.frontend.sizes.dev.cpu" in {c["key"] for c in report["files"][0]["changes"]}
    assert path.read_bytes() == text


def test_rolled_back_services_are_not_written(outputs_file, run_cli, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(FAIL_DEPLOYMENTS_ENV, SERVICE["api-gateway"])
    paths = files(tmp_path)
    result = run_cli(
        "optimize",
        "--outputs",
        outputs_file,
        *FIXED,
        *FAST,
        "--format",
        "json",
        "--write-config",
        str(paths["compute"]),
        "--write-config",
        str(paths["registry"]),
    )
    assert result.exit_code == 4
    keys = {c["key"] for f in json.loads(result.stdout)["configWriteBack"]["files"] for c in f["changes"]}
    assert "compute:services.frontend.sizes.dev.cpu" in keys
    assert not any("api-gateway" in k for k in keys)
    assert "api-gateway (10) will move to it" in result.stdout


def test_rollback_leaves_a_file_edited_since_the_run(outputs_file, run_cli, tmp_path) -> None:
    path = files(tmp_path)["registry"]
    journal = tmp_path / "j.jsonl"
    assert (
        run_cli(
            "optimize", "--outputs", outputs_file, *FIXED, *FAST, "--journal", str(journal), "--write-config", str(path)
        ).exit_code
        == 0
    )
    path.write_text(path.read_text() + "  registry:team: storage\n")
    edited_text = path.read_bytes()
    result = run_cli("rollback", "--journal", str(journal), *FAST)
    assert result.exit_code == 4
    assert "edited since the run" in result.stdout
    assert path.read_bytes() == edited_text


@ON_DEMAND_FLEET
def test_export_config_prints_what_optimize_would_write(outputs_file, run_cli, contexts) -> None:
    result = run_cli("export-config", "--outputs", outputs_file, *FIXED, "--config-stack", "org/dev")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert (
        "pulumi config set --path 'compute:services.frontend.sizes.dev.cpu' 256 --stack org/dev --cwd stacks/compute"
        in lines
    )
    assert "pulumi config set --path 'registry:keepImages' 5 --stack org/dev --cwd stacks/registry" in lines
    assert "pulumi config set --path 'compute:spotShare' 0.7 --stack org/dev --cwd stacks/compute" in lines
    assert mutating(contexts) == {}
