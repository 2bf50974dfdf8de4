"""Benchmarks of the optimizer: cost on the reference fleets, and speed at fleet scale.

    .venv/bin/python bench/run.py                 # both, writes bench/RESULTS.md
    .venv/bin/python bench/run.py --only cost     # the cost benchmark alone (seconds)
    .venv/bin/python bench/run.py --sizes 10,50   # smaller scale runs
    .venv/bin/python bench/run.py --only org      # savings --accounts, 50 accounts x 20 services

Not part of ``make test``: the scale runs take a few minutes. See cost.py and scale.py for
what is measured and how; RESULTS.md records the command, the date and the machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Dict, List, Optional, Sequence

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: The scale figures recorded before the current design, shown next to today's.
BEFORE = HERE / "before.json"
#: A real run may make at most this multiple of the minimum AWS calls its work needs.
REAL_CALLS_GOAL = 1.1
sys.path.insert(0, str(HERE))

import cost  # noqa: E402  (bench/ is not a package; its modules sit next to this script)
import org  # noqa: E402
import scale  # noqa: E402


def machine() -> Dict[str, str]:
    """What the figures were measured on."""
    info = {
        "cpus": str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()),
        "os": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "python": platform.python_version(),
    }
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["memory"] = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    for package in ("boto3", "botocore", "moto"):
        try:
            info[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            info[package] = "not installed"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        info["commit"] = commit + (" with uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        info["commit"] = "unknown"
    return info


def closing_note(cost_results: Sequence[cost.FleetResult], scale_results: Sequence[scale.ScaleResult]) -> List[str]:
    """The figures a reader looks for first, quoted from the results above."""
    lines: List[str] = []
    summary = cost.fleets_summary(cost_results)
    for levers in cost.LEVER_SETS:
        twelve = summary.get(("fleet-12", levers))
        if not twelve:
            continue
        unsafe = ", ".join(f"{k} {v}" for k, v in twelve["unsafe"].items())
        at_max = ", ".join(f"{k} {v}" for k, v in twelve["unsafeAtMax"].items())
        alarms = ", ".join(f"{k} {v}" for k, v in twelve["alarmHours"].items())
        missed = twelve["goalMissed"]
        verdict = (
            f"misses the {cost.GOAL_PERCENT:.0f}% goal on {', '.join(missed)}"
            if missed
            else f"meets the {cost.GOAL_PERCENT:.0f}% goal on every load shape"
        )
        lines.append(
            f"- Twelve-service fleet, {levers} levers: monthly cost down {twelve['minPercent']:.1f}% to {twelve['maxPercent']:.1f}% "
            f"depending on the load shape, which {verdict}; after / limit between "
            f"{min(twelve['ratios']):.3f} and {max(twelve['ratios']):.3f}."
        )
        quiet = "met" if not any(twelve["alarmHours"].values()) else "missed"
        lines.append(
            f"- Unsafe sizes ({levers}), by trace: {unsafe} (with the autoscaler at its maximum: {at_max}); "
            f"hours with a new cpu-high or memory-high alarm, by trace: {alarms} (goal: none in any hour; {quiet})."
        )
    total_unsafe = sum(r.unsafe for r in cost_results)
    if cost_results:
        worst = [f"{r.fleet.name}/{r.kind} {r.unsafe}" for r in cost_results if r.unsafe]
        lines.append(
            f"- Unsafe sizes over all fleets and traces: {total_unsafe}" + (f" ({', '.join(worst)})." if worst else ".")
        )
    for r in scale_results:
        lines.append(
            f"- {r.services} services: dry run {r.dry.wall:.1f} s with {r.dry.total / r.services:.2f} calls per service "
            f"(minimum {sum(r.minimum_dry.values()) / r.services:.2f}); real run {r.real.wall:.1f} s with "
            f"{r.real.total / r.services:.2f} calls per service (minimum {sum(r.minimum_real.values()) / r.services:.2f}; "
            f"{r.real.total / sum(r.minimum_real.values()):.2f}x the minimum); "
            f"peak RSS {max(r.dry.max_rss_mib, r.real.max_rss_mib):.0f} MiB."
        )
    if scale_results:
        largest = max(scale_results, key=lambda r: r.services)
        ratio = largest.real.total / sum(largest.minimum_real.values())
        verdict = "met" if ratio <= REAL_CALLS_GOAL else "missed"
        lines.append(
            f"- Real run at {largest.services} services: {ratio:.2f}x the minimum AWS calls "
            f"(goal: at most {REAL_CALLS_GOAL:.1f}x; {verdict})."
        )
        if largest.verify is not None:
            checked = largest.verify.total / sum(largest.minimum_verify.values())
            lines.append(
                f"- verify of that run at {largest.services} services: {largest.verify.total} AWS calls, "
                f"{checked:.2f}x the minimum (goal: at most {REAL_CALLS_GOAL:.1f}x; "
                f"{'met' if checked <= REAL_CALLS_GOAL else 'missed'}); verdicts: {largest.verdicts()}."
            )
    return lines


def render(
    command: str,
    started: dt.datetime,
    seconds: float,
    cost_results: Sequence[cost.FleetResult],
    scale_results: Sequence[scale.ScaleResult],
    org_result: Optional[org.OrgResult] = None,
) -> str:
    info = machine()
    out = [
        "# Benchmark results",
        "",
        f"Produced by `{command}` on {started:%Y-%m-%d %H:%M} UTC in {seconds:.0f} s.",
        "",
        "Machine: " + "; ".join(f"{k} {v}" for k, v in info.items()) + ".",
        "",
    ]
    if cost_results:
        out += [
            "## Cost",
            "",
            "Per fleet (`bench/fleets/*.json`, compute-contract outputs plus a `bench` section with each service's mean load, "
            "ECR images and capacity-provider strategy) and per load shape, 14 days of five-minute utilization are generated "
            f"from the fixed seed {cost.BENCH_SEED}. The optimizer's `sizing` module plans each service (policy auto, default "
            "options) from the hourly series it would read from CloudWatch; its `savings` module prices before and after from "
            "the embedded price table, network included where the fleet has NAT gateways. The limit is the cheapest "
            "configuration the trace never exceeds, by exhaustive search over every valid Fargate size and every count from "
            f"{cost.MIN_SAFE_TASKS} to the autoscaling maximum, with the optimizer's Spot strategy and ECR retention. "
            "*Unsafe* counts services whose busiest hour of CPU or busiest five minutes of memory, spread over the new "
            "desired count, exceed the new task size (no credit for autoscaling); *unsafe at max capacity* gives the "
            "autoscaler its maximum. Each fleet runs twice: with *today*'s levers (rightsizing, task count, Spot, ECR, "
            "network) and *with Graviton* added, which moves to ARM64 the services whose fleet file marks their images "
            f"multi-architecture (`ecr.multiArch`; a live run reads it from ECR). The *{cost.GOAL_PERCENT:.0f}% goal* is a "
            f"monthly cut of at least {cost.GOAL_PERCENT:.0f}%. *New alarm hours* replays the trace hour by hour on the tasks target tracking "
            "would run (the goals in the fleet file's `autoscaling`, within min..max, reached within the hour) and counts "
            "the hours in which cpu-high (hourly average CPU) or memory-high (hourly maximum memory) is above its "
            "threshold after the plan, at the threshold the optimizer retunes the fleet's `alarms` to, but was not before. "
            "Where the plan raises a service's autoscaling maximum to keep those alarms quiet, *task-hours above the old max* "
            "counts, in the same replay over the 14 days, the tasks run above the maximum the fleet file declares; the "
            "monthly totals price the desired count, not these scale-out hours.",
            "",
            cost.markdown(cost_results),
            "",
        ]
        for r in cost_results:
            if r.fleet.name == "fleet-12" and r.levers == cost.LEVER_SETS[-1]:
                out += [
                    f"Twelve-service fleet, {r.kind} load, {r.levers} levers, per service:",
                    "",
                    cost.service_table(r),
                    "",
                ]
    if scale_results:
        out += [
            "## Scale",
            "",
            "Services are cloned round-robin from the offline plan's services (every resource each owns, alarms included) "
            "into a fresh local emulator with 14 days of hourly history; the installed `ecs-optimizer` runs as its own "
            "process with `--format json`. Wall time includes the emulator's work; *optimizer CPU* is the optimizer "
            "process's own user + system time. Calls are counted by the emulator; *recorder* is the optimizer's own count "
            "from its log. The minimum batches every read to its API's limit and makes one write per changed resource, "
            "one status read per deployment, and the lock's create, read and delete. The emulator pages "
            "ListTaskDefinitions and DescribeScalingPolicies as AWS documents (100 and 10 per page), so the counts are "
            "the calls AWS would serve. The earlier minimum counted neither DescribeScalingPolicies nor the lock's read. "
            "GetMetricData carries four queries per service (CPU, memory and their reservations) and one per target group "
            "a service registers with (its requests, for the idle check), packed to the call's limits.",
            "*verify* judges the real run as if it had finished 31 minutes ago (its journal dated back, a steady "
            "minute-by-minute load of every service written before and after it, the task-stop log named); its minimum "
            "is the GetMetricData calls both 30-minute windows need, one alarm-history page and one task-stop read.",
            "",
            scale.markdown(scale_results),
            "",
            scale.before_and_after(scale_results, json.loads(BEFORE.read_text(encoding="utf-8"))),
            "",
        ]
    if org_result is not None:
        out += ["## Organization-wide", "", org.DESCRIPTION, "", org.markdown(org_result), ""]
    note = closing_note(cost_results, scale_results)
    if note:
        out += ["## Summary", ""] + note + [""]
    return "\n".join(out)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("cost", "scale", "org"), help="run one benchmark only")
    parser.add_argument("--org-accounts", type=int, default=org.ACCOUNTS, help="organization benchmark accounts")
    parser.add_argument("--org-services", type=int, default=org.SERVICES, help="services per account")
    parser.add_argument("--sizes", default=",".join(str(n) for n in scale.SIZES), help="scale benchmark fleet sizes")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md", help="results file (default bench/RESULTS.md)")
    args = parser.parse_args(argv)
    arguments = argv if argv is not None else sys.argv[1:]
    try:
        python = str(Path(sys.executable).relative_to(ROOT))
    except ValueError:
        python = "python"
    command = shlex.join([python, "bench/run.py", *arguments])
    started = dt.datetime.now(dt.timezone.utc)
    clock = time.monotonic()
    cost_results: List[cost.FleetResult] = []
    scale_results: List[scale.ScaleResult] = []
    if args.only in (None, "cost"):
        print("cost: reference fleets x load shapes", flush=True)
        cost_results = cost.run(HERE / "fleets")
        print(cost.markdown(cost_results), flush=True)
    if args.only in (None, "scale"):
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
        scale_results = scale.run(ROOT, sizes, progress=lambda m: print(m, flush=True))
        print(scale.markdown(scale_results), flush=True)
    org_result: Optional[org.OrgResult] = None
    if args.only in (None, "org"):
        org_result = org.run(ROOT, args.org_accounts, args.org_services, progress=lambda m: print(m, flush=True))
        print(org.markdown(org_result), flush=True)
    text = render(command, started, time.monotonic() - clock, cost_results, scale_results, org_result)
    args.out.write_text(text, encoding="utf-8")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
