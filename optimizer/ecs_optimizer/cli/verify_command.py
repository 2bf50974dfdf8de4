"""``ecs-optimizer verify``: did the services a run changed stay healthy? (see :mod:`verify`)."""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import Any, Optional

import click

from ..apply.journal_reader import read_journal
from ..core.errors import EXIT_OK, EXIT_PARTIAL, EXIT_REGRESSED, EXIT_TOO_EARLY, BadInput
from ..live.targets import read_json_file, require_keys
from ..verify import verdicts as vd
from ..verify.report import verify_report
from ..verify.run import Deployment, changed_services, parse_time, undo_regressed
from ..verify.run import verify as run_verify
from ..verify.windows import DEFAULT_PERIOD_SECONDS, DEFAULT_WINDOW, parse_duration
from .console import emit
from .context import resolve_targets
from .options import EXECUTION_OPTIONS, Common, command_body, with_options

log = logging.getLogger("ecs_optimizer")

_DEFAULTS = vd.Thresholds()

THRESHOLD_OPTIONS = [
    click.option(
        "--max-5xx-increase",
        type=click.FloatRange(min=0),
        default=_DEFAULTS.max_5xx_increase,
        show_default=True,
        metavar="POINTS",
        help="5xx rate (5xx responses over requests, per target group, summed over the service's target groups): regressed when it rose by more than this many percentage points...",
    ),
    click.option(
        "--max-5xx-ratio",
        type=click.FloatRange(min=1),
        default=_DEFAULTS.max_5xx_ratio,
        show_default=True,
        metavar="RATIO",
        help="...and to more than this many times the rate before (a rate of 0 before: the points alone).",
    ),
    click.option(
        "--min-requests",
        type=click.IntRange(min=0),
        default=_DEFAULTS.min_requests,
        show_default=True,
        metavar="COUNT",
        help="Fewest requests after the run to judge the 5xx rate.",
    ),
    click.option(
        "--max-p99-ratio",
        type=click.FloatRange(min=1),
        default=_DEFAULTS.max_p99_ratio,
        show_default=True,
        metavar="RATIO",
        help="p99 response time (of the per-period averages): regressed when it grew more than this many times...",
    ),
    click.option(
        "--min-p99-increase",
        type=click.FloatRange(min=0),
        default=_DEFAULTS.min_p99_increase,
        show_default=True,
        metavar="SECONDS",
        help="...and by more than this many seconds.",
    ),
    click.option(
        "--max-peak-cpu",
        type=click.FloatRange(0, 100),
        default=_DEFAULTS.max_peak_cpu,
        show_default=True,
        metavar="PERCENT",
        help="Peak CPU (busiest period's average, % of the reservation): regressed above this, when it also rose by more than --min-peak-increase.",
    ),
    click.option(
        "--max-peak-memory",
        type=click.FloatRange(0, 100),
        default=_DEFAULTS.max_peak_memory,
        show_default=True,
        metavar="PERCENT",
        help="Peak memory (busiest period's maximum, % of the reservation): regressed above this, when it also rose by more than --min-peak-increase.",
    ),
    click.option(
        "--min-peak-increase",
        type=click.FloatRange(min=0),
        default=_DEFAULTS.min_peak_increase,
        show_default=True,
        metavar="POINTS",
        help="Percentage points a peak must rise by to count (a cut raises utilization by design).",
    ),
    click.option(
        "--min-datapoints",
        type=click.IntRange(min=1),
        default=_DEFAULTS.min_datapoints,
        show_default=True,
        metavar="COUNT",
        help="Fewest periods of CPU and memory data after the run for a verdict; fewer is 'too early' (also the fewest periods with requests on each side to judge p99).",
    ),
]


@click.command()
@click.option("--journal", "journal_path", metavar="FILE", required=True, help="Journal of the optimize run to verify.")
@click.option(
    "--network-outputs",
    metavar="FILE",
    help="Network stack outputs: their albArnSuffix is the LoadBalancer dimension of the target groups' metrics. Without it the 5xx rate and p99 response time are not read (the report says so).",
)
@click.option(
    "--window",
    "window_text",
    default=f"{int(DEFAULT_WINDOW.total_seconds() // 60)}m",
    show_default=True,
    metavar="DURATION",
    help="Length of the window after the run (30m, 2h, 1d; a plain number is minutes), compared with a window as long before it. Until it has passed, both windows are as long as the time since the run.",
)
@click.option(
    "--period",
    type=click.IntRange(min=60),
    default=DEFAULT_PERIOD_SECONDS,
    show_default=True,
    metavar="SECONDS",
    help="Metric period the windows are read at (a multiple of 60; CloudWatch keeps one-minute data 15 days, then 300 s).",
)
@click.option(
    "--since",
    metavar="TIME",
    help="The Pulumi-first path: when the reviewed `pulumi up` that applied the change started (ISO 8601, e.g. 2026-12-08T09:30:00Z). The windows are around it instead of the journal's run; a journal of stack-file edits only (optimize --via-pulumi) judges every service of the outputs (or --service).",
)
@click.option(
    "--until",
    metavar="TIME",
    help="With --since: when that deployment finished (default: --since).",
)
@with_options(THRESHOLD_OPTIONS)
@click.option(
    "--rollback-regressed",
    is_flag=True,
    help="Undo exactly the regressed services through the journal, write-ahead, as `rollback --service` does (stack files are left as they are).",
)
@with_options(EXECUTION_OPTIONS)
@command_body
def verify(
    common: Common,
    journal_path: str,
    network_outputs: Optional[str],
    window_text: str,
    period: int,
    since: Optional[str],
    until: Optional[str],
    rollback_regressed: bool,
    wait_timeout: float,
    poll_interval: float,
    concurrency: int,
    force_unlock: bool,
    **thresholds: Any,
) -> int:
    """Compare each service a run changed after the run with before it, and judge it.

    \b
    Signals, in a window after the run against one as long before it: the 5xx rate and p99
    response time of its target groups, peak CPU and memory, tasks stopped for running out
    of memory, and its alarms that went to ALARM. Verdicts: healthy, regressed (naming the
    signal, before -> after) or too early (too little data after the run; never healthy).
    Reads only, unless --rollback-regressed. Formats: table, markdown, json
    (output/schemas/verify-report.schema.json), csv, html.

    \b
    Exit codes: 0 all healthy (or nothing to verify); 7 regressions found (also when
    --rollback-regressed restored them); 8 no regression, but some services too early to
    judge; 4 --rollback-regressed failed to restore some; 2 bad input.
    """
    if period % 60:
        raise BadInput(f"--period {period}: expected a multiple of 60 seconds")
    window = parse_duration(window_text)
    t = vd.Thresholds(**thresholds)
    if not (common.outputs or common.stack):
        raise BadInput("verify needs the compute outputs (--outputs FILE or --stack NAME): they name the target groups")
    deployment = _deployment(since, until)
    contents = read_journal(journal_path)
    if deployment is None or changed_services(contents):
        contents = contents.for_services(list(common.service))
    elif rollback_regressed:  # a record of stack-file edits only (the Pulumi-first path)
        raise BadInput(
            f"{journal_path}: the journal holds no AWS write to undo; a change applied by `pulumi up` is undone by reverting its stack files through the same review"
        )
    if rollback_regressed and not os.access(journal_path, os.W_OK):
        raise BadInput(f"{journal_path}: not writable; --rollback-regressed appends its writes to the journal")
    load_balancer = None
    if network_outputs:
        data = read_json_file(network_outputs)
        require_keys(data, {"albArnSuffix": str}, network_outputs)
        load_balancer = data["albArnSuffix"]
    targets, ctx = resolve_targets(common, dry_run=not rollback_regressed)
    groups = {name: svc.target_groups for name, svc in targets.services.items()}
    outcome = run_verify(
        ctx,
        contents,
        targets,
        groups,
        load_balancer,
        t,
        window,
        period,
        dt.datetime.now(dt.timezone.utc),
        task_stop_log_group=targets.task_stop_log_group,
        deployment=deployment,
    )
    if rollback_regressed:
        undo_regressed(
            ctx, contents, outcome, targets.environment_suffix, wait_timeout, poll_interval, concurrency, force_unlock
        )
    emit(verify_report(outcome), common.fmt, common.output)
    log.info("API calls: %s", ctx.recorder.summary())
    regressed = outcome.of(vd.Verdict.REGRESSED)
    if outcome.rollback is not None and (outcome.rollback.failed or outcome.rollback.failed_files):
        log.error(
            "rollback of the regressed services failed for %s", ", ".join(s.service for s in outcome.rollback.failed)
        )
        return EXIT_PARTIAL
    if regressed:
        log.error("regressed: %s", "; ".join(f"{s.service}: {s.reason}" for s in regressed))
        return EXIT_REGRESSED
    if outcome.of(vd.Verdict.TOO_EARLY):
        log.warning("too early to judge: %s", ", ".join(s.service for s in outcome.of(vd.Verdict.TOO_EARLY)))
        return EXIT_TOO_EARLY
    return EXIT_OK


def _deployment(since: Optional[str], until: Optional[str]) -> Optional[Deployment]:
    if until and not since:
        raise BadInput("--until needs --since (when the deployment started)")
    if not since:
        return None
    start = parse_time(since, "--since")
    end = parse_time(until, "--until") if until else start
    if end < start:
        raise BadInput(f"--until {until} is before --since {since}")
    return Deployment(start, end)
