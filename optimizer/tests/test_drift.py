"""No drift: after ``optimize --write-config``, the layers' offline plan equals the live state.

For the default catalog (dev) and a twelve-service catalog (prod), each scenario:

1. copies example stack files (with comments) of the compute, registry and observability
   layers into a temporary directory and runs the real offline plan with them
   (``npm run plan -- all --config-file ... --out-dir ...``);
2. seeds a local AWS emulator (moto server on 127.0.0.1) with the fleet that plan declares;
3. runs ``ecs-optimizer optimize --write-config`` for the three stack files;
4. plans again from the edited files and reads the live state back from the emulator.

The tests then check that for every service, the plan and the live state agree on every
field the optimizer tunes (task CPU/memory, desired count, capacity-provider strategy,
autoscaling min/max, the ECR lifecycle policy's keep count, the alarm thresholds), that the
run changed each kind of field somewhere, and that ``rollback`` puts the files back byte for
byte. One plan pair and one emulator serve each scenario (module-scoped fixtures); the
rollback test runs last in each scenario because it undoes the run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Tuple

import pytest

from ecs_optimizer.live import resources as res
from ecs_optimizer_lab import emulator as em
from ecs_optimizer_lab.fleet import T_ALARM, T_LIFECYCLE, T_SERVICE, T_TARGET, T_TASK_DEF

REPO = Path(__file__).resolve().parents[2]
STACK_CONFIG = Path(__file__).resolve().parent / "fixtures" / "stack-config"
LAYERS = ("compute", "registry", "observability")
REGION = "us-east-1"

#: scenario -> (stack name, optimize options). The twelve-service run asks for a Spot share
#: that is not a whole percent, so the weights the optimizer applies (rounded up) are what
#: must be written, not the share asked for.
SCENARIOS: Dict[str, Tuple[str, List[str]]] = {
    "default": ("dev", ["--spot-share", "0.8"]),
    "twelve": ("prod", ["--spot-share", "0.875", "--keep-images", "4"]),
}

pytestmark = pytest.mark.skipif(shutil.which("npm") is None, reason="the offline plan needs node and npm on PATH")


# ----------------------------------------------------------------------------- running things


def offline_plan(stack: str, files: Mapping[str, Path], out_dir: Path) -> Dict[str, Dict[str, Any]]:
    """``npm run plan -- all`` with the stack files, into ``out_dir`` (never build/plan, which a
    running demo may be reading); the plan of each layer by name."""
    cmd = ["npm", "run", "--silent", "plan", "--", "all", "--stack", stack, "--out-dir", str(out_dir)]
    for path in files.values():
        cmd += ["--config-file", str(path)]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"offline plan failed:\n{done.stderr[-3000:]}"
    return {layer: json.loads((out_dir / f"{layer}.json").read_text()) for layer in LAYERS}


def cli(args: List[str], emu: em.Emulator, codes: Tuple[int, ...] = (0,)) -> subprocess.CompletedProcess:
    """The real ``ecs-optimizer`` command against the emulator."""
    env = {**os.environ, **emu.env()}
    env.pop("ENVIRONMENT_SUFFIX", None)
    done = subprocess.run(
        [sys.executable, "-m", "ecs_optimizer.cli.main", *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode in codes, f"ecs-optimizer {' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}"
    return done


def resources(plan: Mapping[str, Any], type_: str) -> List[Dict[str, Any]]:
    return [r for r in plan["resources"] if r["type"] == type_]


@dataclass
class Scenario:
    name: str
    emu: em.Emulator
    files: Dict[str, Path]
    pristine: Dict[str, bytes]
    outputs: Dict[str, Path]
    journal: Path
    report: Dict[str, Any]  # optimize --format json
    before: Dict[str, Dict[str, Any]]  # plan per layer, from the original files
    after: Dict[str, Dict[str, Any]]  # plan per layer, from the written-back files
    live: Dict[str, Dict[str, Any]]  # emulator state per service (read_live_state rows)

    def changes(self) -> List[Tuple[str, str, str]]:
        """(service, resource, field) of every change the run applied."""
        return [
            (s["service"], c["resource"], c["field"])
            for s in self.report["services"]
            if s["status"] == "applied"
            for c in s["changes"]
        ]


def optimize_args(outputs: Dict[str, Path], options: List[str], journal: Path, files: Dict[str, Path]) -> List[str]:
    """``optimize --policy fixed`` on the seeded outputs, JSON report, writing back every stack file."""
    args = ["optimize", "--outputs", str(outputs["compute"]), "--observability-outputs", str(outputs["observability"])]
    args += ["--policy", "fixed", *options, "--journal", str(journal), "--format", "json"]
    for path in files.values():
        args += ["--write-config", str(path)]
    return args


@pytest.fixture(scope="module", params=sorted(SCENARIOS))
def scenario(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    name = request.param
    stack, options = SCENARIOS[name]
    work = tmp_path_factory.mktemp(f"drift-{name}")
    files: Dict[str, Path] = {}
    for layer in LAYERS:
        target = work / "stacks" / layer / f"Pulumi.{stack}.yaml"
        target.parent.mkdir(parents=True)
        shutil.copyfile(STACK_CONFIG / name / f"{layer}.yaml", target)
        files[layer] = target
    if name == "twelve":
        # This scenario names each file's layer by the project file beside it, as in a repository.
        for layer in LAYERS:
            shutil.copyfile(REPO / "stacks" / layer / "Pulumi.yaml", files[layer].parent / "Pulumi.yaml")
    pristine = {layer: path.read_bytes() for layer, path in files.items()}
    before = offline_plan(stack, files, work / "plan-before")
    with em.Emulator(region=REGION) as emu:
        seeded = em.seed_from_plan(work / "plan-before", emu.endpoint, outputs_dir=work / "outputs")
        journal = work / "journal.jsonl"
        waits = ["--wait-timeout", "30", "--poll-interval", "0.05"]
        args = optimize_args(seeded.outputs, [*options, *waits], journal, files)
        report = json.loads(cli(args, emu).stdout)
        after = offline_plan(stack, files, work / "plan-after")
        compute_outputs = json.loads(seeded.outputs["compute"].read_text())
        observability_outputs = json.loads(seeded.outputs["observability"].read_text())
        rows = em.read_live_state(emu.endpoint, REGION, compute_outputs, observability_outputs)
        yield Scenario(
            name, emu, files, pristine, seeded.outputs, journal, report, before, after, {r["service"]: r for r in rows}
        )


# ----------------------------------------------------------------------------- the plan's values


def planned(plan: Mapping[str, Dict[str, Any]], service: str) -> Dict[str, Any]:
    """One service's tuned fields as the offline plan declares them, in read_live_state's terms."""
    compute, registry, observability = plan["compute"], plan["registry"], plan["observability"]
    contract = compute["outputs"]["services"][service]
    task = next(
        r["inputs"] for r in resources(compute, T_TASK_DEF) if r["inputs"]["family"] == contract["taskDefinitionFamily"]
    )
    svc = next(r["inputs"] for r in resources(compute, T_SERVICE) if r["inputs"]["name"] == contract["serviceName"])
    target = next(
        r["inputs"]
        for r in resources(compute, T_TARGET)
        if r["inputs"]["resourceId"] == contract["scalableTargetResourceId"]
    )
    lifecycle = next(r["inputs"] for r in resources(registry, T_LIFECYCLE) if r["name"] == f"{service}-lifecycle")
    alarm_names = {kind: ref["name"] for kind, ref in observability["outputs"]["alarms"][service].items()}
    thresholds = {r["inputs"]["name"]: float(r["inputs"]["threshold"]) for r in resources(observability, T_ALARM)}
    return {
        "cpu": int(task["cpu"]),
        "memory": int(task["memory"]),
        "desiredCount": int(svc["desiredCount"]),
        "capacityProviderStrategy": res.normalize_strategy(svc.get("capacityProviderStrategies")),
        "minCapacity": int(target["minCapacity"]),
        "maxCapacity": int(target["maxCapacity"]),
        "keepImages": res.keep_count(lifecycle["policy"])[0],
        "alarms": {kind: thresholds[name] for kind, name in sorted(alarm_names.items())},
    }


def live(row: Mapping[str, Any]) -> Dict[str, Any]:
    return {
        "cpu": row["cpu"],
        "memory": row["memory"],
        "desiredCount": row["desiredCount"],
        "capacityProviderStrategy": res.normalize_strategy(row["capacityProviderStrategy"]),
        "minCapacity": row["minCapacity"],
        "maxCapacity": row["maxCapacity"],
        "keepImages": row["keepImages"],
        "alarms": {kind: float(v) for kind, v in sorted(row["alarms"].items())},
    }


#: How a journal/report change names the field of :func:`planned` it changed.
FIELD_OF = {
    ("taskDefinition", "cpu"): "cpu",
    ("taskDefinition", "memory"): "memory",
    ("service", "desiredCount"): "desiredCount",
    ("service", "capacityProviderStrategy"): "capacityProviderStrategy",
    ("scalableTarget", "minCapacity"): "minCapacity",
    ("scalableTarget", "maxCapacity"): "maxCapacity",
    ("ecrLifecyclePolicy", "keepImages"): "keepImages",
}


# ----------------------------------------------------------------------------- the tests


def test_the_run_changed_every_kind_of_field(scenario: Scenario) -> None:
    changed = {FIELD_OF.get((r, f), "alarms" if r.startswith("alarm:") else f) for _, r, f in scenario.changes()}
    assert {
        "cpu",
        "memory",
        "desiredCount",
        "capacityProviderStrategy",
        "minCapacity",
        "keepImages",
        "alarms",
    } <= changed
    assert all(f["status"] == "written" for f in scenario.report["configWriteBack"]["files"]), scenario.report[
        "configWriteBack"
    ]
    assert scenario.report["configWriteBack"]["notWritten"] == []


def test_every_changed_field_is_what_the_plan_now_declares(scenario: Scenario) -> None:
    """The core property: for each field the optimizer changed, plan == live == what it applied."""
    checked = 0
    for service, resource, field_name in scenario.changes():
        plan = planned(scenario.after, service)
        state = live(scenario.live[service])
        if resource.startswith("alarm:"):
            kinds = [
                k
                for k, ref in scenario.after["observability"]["outputs"]["alarms"][service].items()
                if ref["name"] == resource[6:]
            ]
            assert len(kinds) == 1, resource
            assert plan["alarms"][kinds[0]] == pytest.approx(state["alarms"][kinds[0]]), (service, resource)
        elif (resource, field_name) in FIELD_OF:
            key = FIELD_OF[(resource, field_name)]
            assert plan[key] == state[key], (service, key)
        else:
            continue  # the revision ARN and policy text are covered by the fields above
        checked += 1
    assert checked >= 10


def test_plan_equals_live_for_every_service_and_tuned_field(scenario: Scenario) -> None:
    """Stronger than the changed fields: nothing else drifted either (the files' unrelated keys
    still produce what was deployed)."""
    services = sorted(scenario.after["compute"]["outputs"]["services"])
    assert services == sorted(scenario.live)
    expected = 3 if scenario.name == "default" else 12
    assert len(services) == expected
    mismatches = {
        s: {
            k: (planned(scenario.after, s)[k], live(scenario.live[s])[k])
            for k in live(scenario.live[s])
            if planned(scenario.after, s)[k] != live(scenario.live[s])[k]
        }
        for s in services
    }
    assert {s: m for s, m in mismatches.items() if m} == {}


def test_fields_the_run_did_not_change_are_planned_as_before(scenario: Scenario) -> None:
    changed = scenario.changes()
    for service in scenario.before["compute"]["outputs"]["services"]:
        old, new = planned(scenario.before, service), planned(scenario.after, service)
        touched = {FIELD_OF[(r, f)] for s, r, f in changed if s == service and (r, f) in FIELD_OF}
        for key in set(old) - touched - {"alarms"}:
            assert old[key] == new[key], (service, key)


def test_the_files_keep_their_comments_and_unrelated_keys(scenario: Scenario) -> None:
    for layer, path in scenario.files.items():
        text = path.read_text()
        original = scenario.pristine[layer].decode()
        comments = [line.split("#", 1)[1].strip() for line in original.splitlines() if "#" in line]
        for comment in comments:
            assert f"# {comment}" in text or f"#{comment}" in text, (layer, comment)
        assert text.startswith(original.splitlines()[0]), layer  # the heading comment stays first
    compute = scenario.files["compute"].read_text()
    assert "compute:costCenter: engineering" in compute or scenario.name != "default"


def test_optimizing_again_changes_nothing_and_writes_nothing(scenario: Scenario, tmp_path: Path) -> None:
    texts = {layer: path.read_bytes() for layer, path in scenario.files.items()}
    args = optimize_args(scenario.outputs, SCENARIOS[scenario.name][1], tmp_path / "again.jsonl", scenario.files)
    report = json.loads(cli(args, scenario.emu).stdout)
    assert {s["status"] for s in report["services"]} <= {"unchanged", "skipped"}
    assert {layer: path.read_bytes() for layer, path in scenario.files.items()} == texts


def test_rollback_restores_the_files_byte_for_byte(scenario: Scenario) -> None:
    """Last in the module: it undoes the scenario's run."""
    assert any(path.read_bytes() != scenario.pristine[layer] for layer, path in scenario.files.items())
    first = json.loads(
        cli(
            [
                "rollback",
                "--journal",
                str(scenario.journal),
                "--wait-timeout",
                "30",
                "--poll-interval",
                "0.05",
                "--format",
                "json",
            ],
            scenario.emu,
        ).stdout
    )
    assert {f["status"] for f in first["configFiles"]} == {"restored"}
    assert {layer: path.read_bytes() for layer, path in scenario.files.items()} == scenario.pristine
    second = json.loads(cli(["rollback", "--journal", str(scenario.journal), "--format", "json"], scenario.emu).stdout)
    assert {f["status"] for f in second["configFiles"]} == {"unchanged"}
    assert {s["status"] for s in second["services"]} == {"unchanged"}
    assert {layer: path.read_bytes() for layer, path in scenario.files.items()} == scenario.pristine
