"""Scale benchmark: ``ecs-optimizer optimize --dry-run`` and a real run at fleet sizes.

For each size a fresh emulator is seeded with that many services, cloned round-robin from the
offline plan's services (``FleetSpec.scaled``: every resource a service owns, alarms
included), plus 14 days of hourly history each. The real ``ecs-optimizer`` entry point then
runs as a separate process, as it would in CI, and is measured from outside:

* wall time, and the CPU time of the optimizer process alone (the emulator is another
  process: the difference is mostly time spent waiting on it);
* peak resident memory of the optimizer process (``wait4`` rusage, so the figure is that
  process's own, not this one's);
* AWS calls by operation, counted by the emulator as it serves them (retries included) and
  checked against the optimizer's own call recorder, which it logs at the end of a run;
* the minimum calls the work needs: reads batched as far as each API allows, and one write
  per changed resource (taken from the run's own report), one status read per deployment,
  and the lock's create and delete.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from ecs_optimizer.live.discovery import DESCRIBE_SERVICES_BATCH
from ecs_optimizer.live.metric_alarms import DESCRIBE_ALARMS_BATCH
from ecs_optimizer.live.metrics import MAX_DATAPOINTS_PER_CALL, MAX_QUERIES_PER_CALL, PERIOD_SECONDS, SPECS
from ecs_optimizer.live.resources import DESCRIBE_IMAGES_PAGE
from ecs_optimizer.live.scalable_targets import (
    DESCRIBE_SCALABLE_TARGETS_BATCH,
    DESCRIBE_SCALING_POLICIES_PAGE,
    ECS_NAMESPACE,
)
from ecs_optimizer_lab.emulator import (
    Emulator,
    container_insights_enabled,
    fleet_reservations,
    seed_fleet,
    seed_history,
)
from ecs_optimizer_lab.fleet import FleetSpec, fleet_from_plan
from ecs_optimizer_lab.synthetic import fleet_traces

SIZES = (10, 50, 200)
LOOKBACK_DAYS = 14
SEED = 20261101

Progress = Callable[[str], None]


def template_plan(root: Path) -> Path:
    """``build/plan`` when the plan has been run, else the reviewed dev plan snapshot."""
    built = root / "build" / "plan"
    if (built / "compute.json").is_file():
        return built
    return root / "test" / "__snapshots__" / "dev"


def cli_command() -> List[str]:
    script = Path(sys.executable).with_name("ecs-optimizer")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ecs_optimizer.cli.main"]


@dataclass
class Measure:
    mode: str
    code: int
    wall: float
    cpu: float  # user + system seconds of the optimizer process
    max_rss_mib: float
    calls: Dict[str, int]
    recorder_total: Optional[int]  # the optimizer's own count, from its closing log line
    report: Dict[str, Any]

    @property
    def total(self) -> int:
        return sum(self.calls.values())


def run_cli(args: Sequence[str], env: Mapping[str, str], emu: Emulator, mode: str, workdir: Path) -> Measure:
    """Run the CLI, measured: wall and CPU time, peak RSS (wait4), calls served."""
    emu.reset_calls()
    out_path, err_path = workdir / f"{mode}.stdout", workdir / f"{mode}.stderr"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.monotonic()
        proc = subprocess.Popen(
            cli_command() + list(args), stdout=out, stderr=err, env={**os.environ, **env}, cwd=workdir
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    calls = emu.calls()
    stderr = err_path.read_text(encoding="utf-8", errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"ecs-optimizer {' '.join(args)} exited {proc.returncode}:\n{stderr[-3000:]}")
    # ru_maxrss is KiB on Linux, bytes on macOS.
    rss = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    return Measure(
        mode=mode,
        code=proc.returncode,
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        max_rss_mib=rss,
        calls=calls,
        recorder_total=_recorder_total(stderr),
        report=json.loads(out_path.read_text(encoding="utf-8")),
    )


def _recorder_total(stderr: str) -> Optional[int]:
    """The sum of the optimizer's closing ``API calls: op=n, ...`` log line, if it logged one."""
    lines = [line for line in stderr.splitlines() if "API calls:" in line]
    if not lines:
        return None
    return sum(int(n) for n in re.findall(r"=(\d+)", lines[-1].split("API calls:", 1)[1]))


# ----------------------------------------------------------------------------- minimums


def minimum_reads(fleet: FleetSpec) -> Counter:
    """Reads that planning needs: every describe batched to its API's limit."""
    n = len(fleet.compute_outputs["services"])
    alarm_names = {
        ref["name"] for kinds in fleet.observability_outputs.get("alarms", {}).values() for ref in kinds.values() if ref
    }
    queries = n * len(SPECS)
    points = LOOKBACK_DAYS * 86400 // PERIOD_SECONDS
    images = max((r.image_count for r in fleet.repositories), default=0)
    policies = sum(1 for p in fleet.scaling_policies if p.get("ServiceNamespace", ECS_NAMESPACE) == ECS_NAMESPACE)
    return Counter(
        {
            "ecs:DescribeClusters": 1,
            "ecs:DescribeServices": math.ceil(n / DESCRIBE_SERVICES_BATCH),
            "ecs:DescribeTaskDefinition": n,
            "application-autoscaling:DescribeScalableTargets": math.ceil(n / DESCRIBE_SCALABLE_TARGETS_BATCH),
            # alarm thresholds follow the target-tracking values; the call takes one resource id
            # at most, so the fleet's policies are read page by page
            "application-autoscaling:DescribeScalingPolicies": max(
                1, math.ceil(policies / DESCRIBE_SCALING_POLICIES_PAGE)
            ),
            "cloudwatch:DescribeAlarms": math.ceil(len(alarm_names) / DESCRIBE_ALARMS_BATCH),
            "cloudwatch:GetMetricData": max(
                math.ceil(queries / MAX_QUERIES_PER_CALL), math.ceil(queries * points / MAX_DATAPOINTS_PER_CALL)
            ),
            "ecr:GetLifecyclePolicy": n,
            "ecr:DescribeImages": n * max(1, math.ceil(images / DESCRIBE_IMAGES_PAGE)),
        }
    )


def minimum_writes(report: Mapping[str, Any]) -> Counter:
    """One write per changed resource of a real run's report, a status read per deployment,
    and the lock (create, the read that it is still this run's, delete); a dry run needs none."""
    need: Counter = Counter()
    if report.get("dryRun"):
        return need
    for service in report.get("services", []):
        if service.get("status") != "applied":
            continue
        resources = {c["resource"] for c in service.get("changes", [])}
        if "taskDefinition" in resources:
            need["ecs:RegisterTaskDefinition"] += 1
        if "taskDefinition" in resources or "service" in resources:
            need["ecs:UpdateService"] += 1
            need["ecs:DescribeServices"] += 1
        if "scalableTarget" in resources:
            need["application-autoscaling:RegisterScalableTarget"] += 1
        if "ecrLifecyclePolicy" in resources:
            need["ecr:PutLifecyclePolicy"] += 1
        need["cloudwatch:PutMetricAlarm"] += sum(1 for r in resources if r.startswith("alarm:"))
    need["ssm:PutParameter"] += 1
    need["ssm:GetParameter"] += 1
    need["ssm:DeleteParameter"] += 1
    return need


# ----------------------------------------------------------------------------- one size


@dataclass
class ScaleResult:
    services: int
    alarms: int
    seed_seconds: float
    history_seconds: float
    datapoints: int
    dry: Measure
    real: Measure
    minimum_dry: Counter = field(default_factory=Counter)
    minimum_real: Counter = field(default_factory=Counter)

    def statuses(self) -> Dict[str, int]:
        return dict(Counter(s["status"] for s in self.real.report.get("services", [])))


def run_size(count: int, plan_dir: Path, progress: Progress) -> ScaleResult:
    fleet = fleet_from_plan(plan_dir).scaled(count)
    with tempfile.TemporaryDirectory(prefix=f"bench-scale-{count}-") as tmp, Emulator(region=fleet.region) as emu:
        work = Path(tmp)
        started = time.monotonic()
        seed_fleet(fleet, emu.endpoint, seed=SEED, outputs_dir=work / "outputs")
        seeded = time.monotonic()
        names = fleet.service_names
        traces = fleet_traces(sorted(names), SEED)
        history = seed_history(
            emu.endpoint,
            fleet.region,
            fleet.cluster_name,
            {names[n]: t for n, t in traces.items()},
            days=LOOKBACK_DAYS,
            seed=SEED,
            reservations=fleet_reservations(fleet) if container_insights_enabled(fleet) else None,
        )
        written = time.monotonic()
        progress(
            f"{count} services: seeded in {seeded - started:.0f}s, {history.datapoints} datapoints of history in {written - seeded:.0f}s"
        )
        target = [
            "--outputs",
            str(work / "outputs" / "compute.json"),
            "--observability-outputs",
            str(work / "outputs" / "observability.json"),
            "--endpoint-url",
            emu.endpoint,
            "--format",
            "json",
        ]
        env = emu.env()
        dry = run_cli(["optimize", "--dry-run", *target], env, emu, "dry-run", work)
        progress(f"{count} services: dry run {dry.wall:.1f}s, {dry.total} calls")
        real = run_cli(
            ["optimize", *target, "--journal", str(work / "journal.jsonl"), "--poll-interval", "1"],
            env,
            emu,
            "real",
            work,
        )
        progress(f"{count} services: real run {real.wall:.1f}s, {real.total} calls")
    reads = minimum_reads(fleet)
    return ScaleResult(
        services=count,
        alarms=len(fleet.alarms),
        seed_seconds=seeded - started,
        history_seconds=written - seeded,
        datapoints=history.datapoints,
        dry=dry,
        real=real,
        minimum_dry=reads + minimum_writes(dry.report),
        minimum_real=reads + minimum_writes(real.report),
    )


def run(root: Path, sizes: Sequence[int] = SIZES, progress: Progress = print) -> List[ScaleResult]:
    plan_dir = template_plan(root)
    progress(f"scale: services cloned from {plan_dir}")
    return [run_size(n, plan_dir, progress) for n in sizes]


# ----------------------------------------------------------------------------- report


def markdown(results: Sequence[ScaleResult]) -> str:
    lines = [
        "| services | mode | wall | optimizer CPU | peak RSS | AWS calls | calls / service | minimum | minimum / service | calls / minimum | recorder |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        for m, minimum in ((r.dry, r.minimum_dry), (r.real, r.minimum_real)):
            need = sum(minimum.values())
            recorder = "n/a" if m.recorder_total is None else str(m.recorder_total)
            lines.append(
                f"| {r.services} | {m.mode} | {m.wall:.1f} s | {m.cpu:.1f} s | {m.max_rss_mib:.0f} MiB | {m.total} | "
                f"{m.total / r.services:.2f} | {need} | {need / r.services:.2f} | {m.total / need:.2f} | {recorder} |"
            )
    for r in results:
        ops = sorted(set(r.dry.calls) | set(r.real.calls) | set(r.minimum_dry) | set(r.minimum_real))
        lines += [
            "",
            f"Calls by operation, {r.services} services ({r.alarms} alarms; real run statuses: "
            + ", ".join(f"{k} {v}" for k, v in sorted(r.statuses().items()))
            + f"; seeding {r.seed_seconds:.0f} s, history {r.datapoints} datapoints in {r.history_seconds:.0f} s):",
            "",
            "| operation | dry run | minimum | real run | minimum |",
            "|---|---:|---:|---:|---:|",
        ]
        for op in ops:
            lines.append(
                f"| {op} | {r.dry.calls.get(op, 0)} | {r.minimum_dry.get(op, 0)} | {r.real.calls.get(op, 0)} | {r.minimum_real.get(op, 0)} |"
            )
    return "\n".join(lines)


def before_and_after(results: Sequence[ScaleResult], before: Mapping[str, Any]) -> str:
    """Real runs next to the recorded earlier figures (``bench/before.json``) of the same size."""
    earlier = {int(b["services"]): b for b in before.get("real", [])}
    lines = [
        f"Real runs before ({before.get('measured', 'date unknown')}, commit {before.get('commit', 'unknown')}; "
        f"{before.get('description', '')}) and now:",
        "",
        "| services | wall before | wall now | calls before | calls now | minimum before | minimum now "
        "| calls / minimum before | calls / minimum now | peak RSS before | peak RSS now |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        b = earlier.get(r.services)
        if b is None:
            continue
        need = sum(r.minimum_real.values())
        lines.append(
            f"| {r.services} | {b['wallSeconds']:.1f} s | {r.real.wall:.1f} s | {b['calls']} | {r.real.total} | "
            f"{b['minimum']} | {need} | {b['calls'] / b['minimum']:.2f} | {r.real.total / need:.2f} | "
            f"{b['peakRssMiB']:.0f} MiB | {r.real.max_rss_mib:.0f} MiB |"
        )
    return "\n".join(lines)
