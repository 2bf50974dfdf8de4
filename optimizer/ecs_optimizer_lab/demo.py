"""``ecs-optimizer-lab demo`` (or ``python -m ecs_optimizer_lab.demo``): the optimizer, end to end, on a local AWS emulator.

``make demo`` runs it after ``npm run plan -- all``. It starts the emulator (127.0.0.1, a
free port), creates in it the fleet the plan declares (read from ``build/plan``, nothing
retyped), writes two weeks of hourly utilization per service, then runs the real
``ecs-optimizer`` command three times, exactly as a user would against AWS:

1. ``optimize --dry-run``: the plan, old -> new per service and field;
2. ``optimize``: the changes, journalled, each deployment waited for;
3. ``savings --journal``: what the run realised, as JSON (for the HTML page) and markdown.

The before/after table it prints comes from reading the emulator before and after the run,
not from the optimizer's own report, and the page ``build/demo/savings.html`` shows the
charts. The emulator is stopped at the end, also on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, TextIO

from ecs_optimizer.output.formats.html import render_savings_html

from .emulator import Emulator, terminate
from .history import HISTORY_DAYS, seed_fleet_history
from .readback import read_live_state
from .seeding import seed_from_plan
from .synthetic import DEFAULT_SEED

#: How long an ECS deployment takes in the emulator: long enough to see the optimizer wait.
ROLLOUT_SECONDS = 3.0
#: The optimizer's deployment poll interval for the demo (its default, 15 s, suits AWS).
POLL_SECONDS = 2.0
#: Print a heartbeat when a command has been quiet this long.
HEARTBEAT_SECONDS = 5.0


class DemoError(RuntimeError):
    """A step of the demo failed; the message says which and why."""


# ----------------------------------------------------------------------------- output


class Console:
    """Step headings, indented detail and timings on one stream."""

    def __init__(self, stream: TextIO = sys.stdout) -> None:
        self.stream = stream
        self.started = time.monotonic()
        self.step_no = 0

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def step(self, title: str) -> None:
        self.step_no += 1
        self.print(f"\n[{self.step_no}] {title}  (t+{self.elapsed():.0f}s)")

    def print(self, text: str = "") -> None:
        print(text, file=self.stream, flush=True)

    def detail(self, text: str) -> None:
        for line in text.splitlines() or [""]:
            self.print(f"    {line}")


# ----------------------------------------------------------------------------- the CLI


def cli_command() -> List[str]:
    """The installed ``ecs-optimizer`` console script next to this Python, else the module."""
    script = shutil.which("ecs-optimizer", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "ecs_optimizer.cli.main"]


@dataclass(frozen=True)
class CliResult:
    args: List[str]
    code: int
    stdout: str
    seconds: float


def run_cli(
    args: Sequence[str],
    env: Mapping[str, str],
    console: Console,
    ok_codes: Sequence[int] = (0,),
    echo_log: bool = True,
) -> CliResult:
    """Run ``ecs-optimizer ARGS``; its log lines are shown as they come, with a heartbeat
    while it is quiet (waiting for a deployment), and its stdout (the report) is returned."""
    cmd = cli_command() + list(args)
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    lines: "queue.Queue[Optional[str]]" = queue.Queue()
    out: List[str] = []

    def pump_err() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    def pump_out() -> None:
        assert proc.stdout is not None
        out.append(proc.stdout.read())

    readers = [threading.Thread(target=pump_err, daemon=True), threading.Thread(target=pump_out, daemon=True)]
    for reader in readers:
        reader.start()
    log: List[str] = []
    quiet_since = time.monotonic()
    try:
        while True:
            try:
                line = lines.get(timeout=1.0)
            except queue.Empty:
                if time.monotonic() - quiet_since >= HEARTBEAT_SECONDS:
                    console.detail(f"... still running ({time.monotonic() - started:.0f}s)")
                    quiet_since = time.monotonic()
                continue
            if line is None:
                break
            log.append(line)
            quiet_since = time.monotonic()
            if echo_log:
                console.detail(f"| {line}")
        code = proc.wait()
    except BaseException:
        # Interrupted (Ctrl-C): the command must not outlive the demo and its emulator.
        terminate(proc, grace=10)
        raise
    for reader in readers:
        reader.join()
    result = CliResult(list(args), code, "".join(out), time.monotonic() - started)
    if code not in ok_codes:
        tail = "\n".join(log[-15:])
        raise DemoError(f"`ecs-optimizer {' '.join(args)}` exited {code}:\n{tail}")
    return result


# ----------------------------------------------------------------------------- before/after


#: (label, how to show a live-state row's value) for the before/after table.
FIELDS: List[tuple] = [
    ("task definition", lambda r: r["taskDefinition"]),
    ("cpu / memory", lambda r: f"{r['cpu']} / {r['memory']}"),
    ("desired / running", lambda r: f"{r['desiredCount']} / {r['runningCount']}"),
    ("capacity providers", lambda r: r["strategy"]),
    ("autoscaling min..max", lambda r: f"{r['minCapacity']}..{r['maxCapacity']}"),
    ("ECR keep (stored)", lambda r: f"{'all' if r['keepImages'] is None else r['keepImages']} ({r['images']})"),
]


def _alarm_fields(rows: Sequence[Mapping[str, Any]]) -> List[tuple]:
    kinds = sorted({kind for r in rows for kind in (r.get("alarms") or {})})
    return [(f"alarm {kind}", lambda r, k=kind: _num((r.get("alarms") or {}).get(k))) for kind in kinds]


def _num(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def before_after_table(before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]]) -> str:
    """One line per service and field, ``*`` where the value changed; both sides are rows
    of :func:`ecs_optimizer_lab.readback.read_live_state`."""
    after_by = {r["service"]: r for r in after}
    rows: List[List[str]] = []
    for b in before:
        a = after_by.get(b["service"])
        if a is None:
            raise DemoError(f"service {b['service']} is missing from the state read after the run")
        for i, (label, show) in enumerate(FIELDS + _alarm_fields([b, a])):
            old, new = str(show(b)), str(show(a))
            rows.append([b["service"] if i == 0 else "", label, old, new, "*" if old != new else ""])
    header = ["service", "field", "before", "after", ""]
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    fmt = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([fmt(header), "  ".join("-" * w for w in widths)] + [fmt(r) for r in rows])


# ----------------------------------------------------------------------------- reports


def write_reports(
    out_dir: Path,
    savings: Mapping[str, Any],
    markdown: str,
    live_after: Sequence[Mapping[str, Any]],
    subtitle: Optional[str] = None,
) -> Dict[str, Path]:
    """``savings.html`` (charts), ``savings.md`` (for a pull-request comment) and
    ``savings.json`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "html": out_dir / "savings.html",
        "markdown": out_dir / "savings.md",
        "json": out_dir / "savings.json",
    }
    paths["html"].write_text(render_savings_html(savings, live_after, subtitle=subtitle), encoding="utf-8")
    paths["markdown"].write_text(markdown.rstrip("\n") + "\n", encoding="utf-8")
    paths["json"].write_text(json.dumps(savings, indent=2) + "\n", encoding="utf-8")
    return paths


# ----------------------------------------------------------------------------- the run


def run_demo(
    plan_dir: Path,
    out_dir: Path,
    seed: int = DEFAULT_SEED,
    rollout_seconds: float = ROLLOUT_SECONDS,
    console: Optional[Console] = None,
) -> Dict[str, Path]:
    console = console or Console()
    if not (plan_dir / "compute.json").is_file():
        raise DemoError(f"no offline plan in {plan_dir}: run `npm run plan -- all` (or `make plan`) first")
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs_dir = out_dir / "outputs"
    journal = out_dir / "journal.jsonl"
    if journal.exists():
        journal.unlink()
    console.print(f"ecs-optimizer demo: plan {plan_dir}, output {out_dir}")

    compute = json.loads((plan_dir / "compute.json").read_text(encoding="utf-8"))["outputs"]
    region = str(compute["region"])
    console.step("Starting the local AWS emulator (moto) on 127.0.0.1")
    with Emulator(region=region, rollout_seconds=rollout_seconds, log_path=out_dir / "emulator.log") as emu:
        console.detail(f"listening on {emu.endpoint}; ECS deployments take {rollout_seconds:g}s to complete")

        console.step("Creating the fleet the plan declares (compute, registry, observability)")
        seeded = seed_from_plan(plan_dir, emu.endpoint, seed=seed, outputs_dir=outputs_dir, progress=console.detail)
        console.detail(
            f"cluster {seeded.cluster}: {len(seeded.task_definitions)} task definitions, {len(seeded.services)} services, "
            f"{len(seeded.scalable_targets)} scalable targets, {len(seeded.scaling_policies)} scaling policies, "
            f"{len(seeded.repositories)} repositories ({sum(seeded.repositories.values())} images), "
            f"{len(seeded.lifecycle_policies)} lifecycle policies, {len(seeded.alarms)} alarms"
        )

        console.step(f"Writing {HISTORY_DAYS} days of hourly CPU and memory utilization per service")
        assert seeded.fleet is not None
        names = seeded.fleet.service_names
        written = seed_fleet_history(emu.endpoint, seeded.fleet, seed=seed, progress=console.detail)
        history = written.report
        for name, trace in written.traces.items():
            console.detail(
                f"{name}: {trace.kind} load, mean CPU {trace.cpu:g}%, mean memory {trace.memory:g}% of today's reservation"
            )
        console.detail(
            f"{history.datapoints} datapoints from {history.start:%Y-%m-%d %H:%M} to {history.end:%Y-%m-%d %H:%M} UTC"
        )

        before = read_live_state(emu.endpoint, region, seeded.fleet.compute_outputs, seeded.fleet.observability_outputs)
        env = emu.env()
        target = [
            "--outputs",
            str(outputs_dir / "compute.json"),
            "--observability-outputs",
            str(outputs_dir / "observability.json"),
            "--endpoint-url",
            emu.endpoint,
        ]

        console.step("ecs-optimizer optimize --dry-run")
        dry = run_cli(["optimize", "--dry-run", *target], env, console)
        console.detail(dry.stdout.rstrip())

        console.step("ecs-optimizer optimize")
        real = run_cli(
            ["optimize", "--journal", str(journal), "--poll-interval", f"{POLL_SECONDS:g}", *target], env, console
        )
        console.detail(real.stdout.rstrip())

        console.step("ecs-optimizer savings --journal (what the run realised)")
        pricing = [
            "--journal",
            str(journal),
            "--network-outputs",
            str(outputs_dir / "network.json"),
            "--region",
            region,
        ]
        savings_json = json.loads(
            run_cli(["savings", *pricing, "--format", "json"], env, console, echo_log=False).stdout
        )
        markdown = run_cli(["savings", *pricing, "--format", "markdown"], env, console, echo_log=False).stdout
        console.detail(markdown.rstrip())

        console.step("Reading the live state back from the emulator")
        after = read_live_state(emu.endpoint, region, seeded.fleet.compute_outputs, seeded.fleet.observability_outputs)
        console.detail(before_after_table(before, after))

    subtitle = (
        f"Cluster {seeded.cluster} ({compute.get('tier')} tier, {region}) on a local AWS emulator: "
        f"{len(names)} services, {HISTORY_DAYS} days of utilization history, policy auto."
    )
    paths = write_reports(out_dir, savings_json, markdown, after, subtitle=subtitle)
    console.step("Done")
    console.detail(
        f"saved {savings_json['monthlySavings']:,.2f} {savings_json['currency']} a month "
        f"({savings_json['percent']:.1f}%): {savings_json['before']['monthly']:,.2f} -> {savings_json['after']['monthly']:,.2f}"
    )
    console.detail(f"report: {paths['html']} (open in a browser; no network needed)")
    console.detail(f"pull-request comment: {paths['markdown']}")
    console.detail(
        f"journal: {journal} (it names the emulator's endpoint, now stopped: a `rollback` of it "
        "against real AWS is refused)"
    )
    console.detail(f"finished in {console.elapsed():.0f}s")
    return paths


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecs_optimizer_lab.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--plan-dir", type=Path, default=Path("build/plan"), help="offline plan JSON (default build/plan)"
    )
    parser.add_argument(
        "--out-dir", type=Path, default=Path("build/demo"), help="where reports go (default build/demo)"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the generated images and utilization")
    parser.add_argument(
        "--rollout-seconds", type=float, default=ROLLOUT_SECONDS, help="how long an emulated ECS deployment takes"
    )
    args = parser.parse_args(argv)
    try:
        run_demo(args.plan_dir, args.out_dir, args.seed, args.rollout_seconds)
    except DemoError as exc:
        print(f"\ndemo failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ndemo interrupted; the emulator was stopped", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
