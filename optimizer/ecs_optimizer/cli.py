"""``ecs-optimizer``: optimize | savings | rollback | export-config.

stdout carries only the report (so ``--format json`` pipes cleanly); log lines, stamped in
UTC ISO 8601, go to stderr and ``--log-file``. Errors are one line; ``-v`` adds tracebacks.

Exit codes: 0 done or nothing to do; 1 unexpected error; 2 bad usage or input (nothing
changed); 3 target resources not found; 4 partial failure (failed services rolled back);
5 another run holds the cluster's lock; 6 stopped by SIGTERM/SIGINT (services in flight
finished or put back, lock released, report printed).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, List, Optional, Tuple
from urllib.parse import urlsplit

import click
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)

from . import __version__, discovery, network_inputs, org
from . import targets as tg
from .aws import AwsContext, AwsSettings, Backoff, error_code, make_session, open_context
from .engine import RunOptions, ServiceResult, plan_fleet
from .engine import optimize as run_optimize
from .errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK, EXIT_PARTIAL, EXIT_UNEXPECTED, BadInput, OptimizerError
from .journal import Journal, default_path, read_journal, realised_states
from .model import NetworkState
from .network_lever import STEP_NAMES, measured_network_state
from .network_steps import render_step, run_step
from .pricing import load_prices
from .progress import Progress
from .report import FORMATS, render_export, render_optimize, render_rollback
from .restore import Place, check_place
from .restore import rollback as run_rollback
from .savings import FORMATS as SAVINGS_FORMATS
from .savings import ReportContext, SavingsReport, compute_savings, render_savings
from .sizing import POLICIES, SizingOptions
from .stop import STOP
from .writeback.applied import AppliedRun, applied_from_journal, applied_from_results, applied_run
from .writeback.files import WriteBackReport, config_file_changes, write_back
from .writeback.plan import plan_keys
from .writeback.stack_file import check_against_targets, load_stack_file, load_stack_files

log = logging.getLogger("ecs_optimizer")

#: Error codes meaning the credentials or permissions were refused: bad input, nothing changed.
AUTH_ERROR_CODES = {
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "AccessDenied",
    "AccessDeniedException",
    "AuthFailure",
    "SignatureDoesNotMatch",
}
#: Report formats only ``savings`` prints (a spreadsheet and a page, not a change log).
SAVINGS_ONLY_FORMATS = tuple(f for f in SAVINGS_FORMATS if f not in FORMATS)


# ----------------------------------------------------------------------------- logging


class UtcFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: Optional[str] = None) -> str:  # noqa: N802
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        return f"{stamp}.{int(record.msecs):03d}Z"


def setup_logging(verbose: int, log_file: Optional[str]) -> None:
    """Fresh handlers for this invocation: stderr (as it is now) and the optional log file."""
    formatter = UtcFormatter("%(asctime)s %(levelname)s %(message)s")
    handlers: list = [logging.StreamHandler(sys.stderr)]
    if log_file:
        try:
            handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
        except OSError as exc:
            raise BadInput(f"--log-file {log_file}: {exc.strerror or exc}") from exc
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()
    for handler in handlers:
        handler.setFormatter(formatter)
        log.addHandler(handler)
    log.setLevel(logging.DEBUG if verbose else logging.INFO)
    log.propagate = False
    logging.getLogger("botocore").setLevel(logging.DEBUG if verbose > 1 else logging.WARNING)


# ----------------------------------------------------------------------------- errors


def exit_code_for(exc: BaseException) -> Tuple[int, str]:
    """(exit code, one-line message) for an error that ended a command."""
    if isinstance(exc, OptimizerError):
        return exc.exit_code, str(exc)
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError, ProfileNotFound, NoRegionError)):
        return EXIT_BAD_INPUT, f"AWS configuration: {exc}"
    if isinstance(exc, ClientError) and error_code(exc) in AUTH_ERROR_CODES:
        op = exc.operation_name
        return EXIT_BAD_INPUT, f"AWS refused {op}: {error_code(exc)}: {exc.response['Error'].get('Message', '')}"
    if isinstance(exc, (ClientError, BotoCoreError)):
        return EXIT_UNEXPECTED, f"AWS error: {exc}"
    return EXIT_UNEXPECTED, f"unexpected error: {type(exc).__name__}: {exc}"


def run_guarded(body: Callable[[], int], verbose: int) -> None:
    """Run a command body; turn errors into one log line and the documented exit code."""
    try:
        code = body()
    except click.exceptions.Exit:
        raise
    except click.ClickException:
        raise
    except KeyboardInterrupt:
        # A read-only command interrupted by a signal (the writing ones stop gracefully).
        log.error("interrupted by a signal before finishing; nothing was changed")
        code = EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the one place every error becomes an exit code
        code, message = exit_code_for(exc)
        log.error("%s", message.splitlines()[0] if message else type(exc).__name__)
        if verbose:
            log.debug("traceback", exc_info=True)
    raise click.exceptions.Exit(code)


# ----------------------------------------------------------------------------- shared options


def check_endpoint_url(_ctx: Any, _param: Any, value: Optional[str]) -> Optional[str]:
    """``--endpoint-url`` must be an http(s) URL with a host, checked before any AWS call."""
    if value is None:
        return None
    try:
        parsed = urlsplit(value)
        parsed.port  # noqa: B018 - raises ValueError on a port that is not a number in 0-65535
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a URL ({exc})") from exc
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise click.BadParameter(f"{value!r}: expected http://HOST[:PORT] or https://HOST[:PORT]")
    return value


@dataclass(frozen=True)
class Common:
    outputs: Optional[str]
    stack: Optional[str]
    observability_outputs: Optional[str]
    service: Tuple[str, ...]
    tier: Optional[str]
    region: Optional[str]
    profile: Optional[str]
    endpoint_url: Optional[str]
    fmt: str
    log_file: Optional[str]
    verbose: int


COMMON_OPTIONS = [
    click.option(
        "--outputs",
        metavar="FILE",
        help="Compute stack outputs: the JSON of `pulumi stack output --json` (contract version 1).",
    ),
    click.option(
        "--stack",
        metavar="NAME",
        help="Read the compute stack's outputs by running `pulumi stack output --json --stack NAME` in stacks/compute.",
    ),
    click.option(
        "--observability-outputs",
        metavar="FILE",
        help="Observability stack outputs naming each service's alarms; without it alarms are found by name (cpu-high-{service}-{suffix}, ...).",
    ),
    click.option(
        "--service",
        multiple=True,
        metavar="NAME",
        help="Limit the run to this service (catalog name, e.g. frontend). Repeatable.",
    ),
    click.option(
        "--tier",
        type=click.Choice(["dev", "prod"]),
        help="Tier for discovery when the cluster has no Tier tag (default dev). Outputs files carry their own tier.",
    ),
    click.option(
        "--region",
        metavar="REGION",
        help="AWS region (default: the outputs' region, then AWS_REGION / the profile's region).",
    ),
    click.option("--profile", metavar="NAME", help="AWS profile from the shared config/credentials files."),
    click.option(
        "--endpoint-url",
        envvar="AWS_ENDPOINT_URL",
        metavar="URL",
        callback=check_endpoint_url,
        help="Send every AWS call to this endpoint (an emulator such as moto). Also AWS_ENDPOINT_URL.",
    ),
    click.option(
        "--format",
        "fmt",
        type=click.Choice(list(FORMATS) + list(SAVINGS_ONLY_FORMATS)),
        default="table",
        show_default=True,
        help="Report format on stdout. csv and html are for savings only.",
    ),
    click.option("--log-file", metavar="FILE", help="Also append the log lines (UTC timestamps) to FILE."),
    click.option(
        "-v", "--verbose", count=True, help="More log detail and tracebacks on errors; -vv adds botocore's debug log."
    ),
]
_COMMON_KEYS = [
    "outputs",
    "stack",
    "observability_outputs",
    "service",
    "tier",
    "region",
    "profile",
    "endpoint_url",
    "fmt",
    "log_file",
    "verbose",
]

PLANNING_OPTIONS = [
    click.option(
        "--policy",
        type=click.Choice(list(POLICIES)),
        default="auto",
        show_default=True,
        help="fixed: halve task sizes, desired 3->2, min 2->1. metrics: cheapest Fargate size covering p95 CPU and peak memory with headroom. auto: metrics where there is enough history, else fixed, never below observed need.",
    ),
    click.option(
        "--spot-share",
        type=click.FloatRange(0.7, 1.0),
        default=0.7,
        show_default=True,
        help="Share of a non-critical service's tasks beyond its one on-demand base task that run on FARGATE_SPOT (at least 0.7). Critical services stay on-demand.",
    ),
    click.option(
        "--keep-images",
        type=click.IntRange(min=1),
        default=5,
        show_default=True,
        help="ECR lifecycle policy: keep the last N images (the count is the only part of an existing policy changed).",
    ),
    click.option(
        "--lookback-days",
        type=click.IntRange(1, 455),
        default=14,
        show_default=True,
        help="Days of CloudWatch CPU/memory history the metrics policy reads (hourly periods). The policy wants 7 days of it; a shorter window lowers that to the window.",
    ),
    click.option(
        "--headroom",
        type=click.FloatRange(0.0, 1.0),
        default=0.2,
        show_default=True,
        help="Spare capacity the metrics policy adds on top of observed need (0.2 = 20%).",
    ),
]

ORG_OPTIONS = [
    click.option(
        "--accounts",
        "accounts_file",
        metavar="FILE",
        help="Organization-wide: a JSON file of accounts, each with the role to assume and the environment suffix its fleet is discovered by (docs/savings.md). One aggregated report with a row per account and region; a failing account is reported and the others finish (exit 4).",
    ),
    click.option(
        "--regions",
        metavar="LIST",
        help="With --accounts: comma-separated regions to run in (an account's own regions take precedence). Default: the session's region.",
    ),
    click.option(
        "--org-concurrency",
        type=click.IntRange(1, 32),
        default=4,
        show_default=True,
        help="With --accounts: account/region runs at the same time.",
    ),
]

ARM64_OPTION = click.option(
    "--allow-arm64",
    is_flag=True,
    help="Move to Graviton (ARM64, cheaper per vCPU and GB hour) every service whose container images are all "
    "multi-architecture with linux/arm64, as read from ECR; services with an image that cannot be read stay x86. "
    "Part of the new task-definition revision, so rollback restores it.",
)

EXECUTION_OPTIONS = [
    click.option(
        "--wait-timeout",
        type=click.FloatRange(min=0),
        default=900,
        show_default=True,
        metavar="SECONDS",
        help="Longest wait for a service's deployment to complete before it is rolled back.",
    ),
    click.option(
        "--poll-interval",
        type=click.FloatRange(min=0, min_open=True),
        default=15,
        show_default=True,
        metavar="SECONDS",
        help="Seconds between deployment status checks.",
    ),
    click.option(
        "--concurrency",
        type=click.IntRange(1, 32),
        default=4,
        show_default=True,
        help="Services worked on at the same time.",
    ),
    click.option(
        "--force-unlock",
        is_flag=True,
        help="Remove a stale cluster lock (SSM parameter /ecs-optimizer/lock/{cluster}) left by a run that died, then run.",
    ),
]


def with_options(options: list) -> Callable:
    def decorate(fn: Callable) -> Callable:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


def command_body(fn: Callable[..., int]) -> Callable:
    """Apply the common options once for every command, set up logging and error handling."""

    @functools.wraps(fn)
    def wrapper(**kwargs: Any) -> None:
        common = Common(**{key: kwargs.pop(key) for key in _COMMON_KEYS})
        try:
            setup_logging(common.verbose, common.log_file)
            if common.fmt in SAVINGS_ONLY_FORMATS and fn.__name__ != "savings":
                raise BadInput(f"--format {common.fmt} is for savings only; {fn.__name__} prints {', '.join(FORMATS)}")
        except BadInput as exc:
            click.echo(f"error: {exc}", err=True)
            raise click.exceptions.Exit(EXIT_BAD_INPUT) from None
        run_guarded(lambda: fn(common, **kwargs), common.verbose)

    return with_options(COMMON_OPTIONS)(wrapper)


# ----------------------------------------------------------------------------- targeting


def aws_settings(common: Common, region: Optional[str], dry_run: bool) -> AwsSettings:
    return AwsSettings(
        region=common.region or region,
        profile=common.profile,
        endpoint_url=common.endpoint_url,
        dry_run=dry_run,
        backoff=Backoff(),
    )


def open_aws(settings: AwsSettings) -> AwsContext:
    """Indirection point: tests wrap this to inspect the context's call recorder."""
    return open_context(settings)


def resolve_targets(common: Common, dry_run: bool) -> Tuple[tg.Targets, AwsContext]:
    """Validate every input file first (exit 2 before any AWS call), then open AWS and
    discover or verify."""
    if common.outputs and common.stack:
        raise BadInput("--outputs and --stack both name the targets; pass one of them")
    targets: Optional[tg.Targets] = None
    if common.outputs:
        targets = tg.load_outputs_file(common.outputs)
    elif common.stack:
        targets = tg.load_stack(common.stack)
    suffix = os.environ.get("ENVIRONMENT_SUFFIX", "").strip()
    if targets is None and not suffix:
        raise BadInput("no targets: pass --outputs FILE or --stack NAME, or set ENVIRONMENT_SUFFIX for discovery")
    observability = tg.read_json_file(common.observability_outputs) if common.observability_outputs else None
    if targets is not None:
        targets = targets.only(list(common.service), f"--service (services in {targets.source})")
    ctx = open_aws(aws_settings(common, targets.region if targets else None, dry_run))
    if targets is None:
        targets = discovery.discover(ctx, suffix, common.tier).only(list(common.service))
    if observability is not None and common.observability_outputs:
        targets = tg.apply_observability_outputs(targets, observability, common.observability_outputs)
    log.info(
        "targets: %s, cluster %s, %d services, tier %s, region %s",
        targets.source,
        targets.cluster_name,
        len(targets.services),
        targets.tier,
        ctx.region,
    )
    return targets, ctx


def run_options(
    policy: str,
    spot_share: float,
    keep_images: int,
    lookback_days: int,
    headroom: float,
    wait_timeout: float = 900,
    poll_interval: float = 15,
    concurrency: int = 4,
    allow_arm64: bool = False,
) -> RunOptions:
    try:
        sizing = SizingOptions(
            headroom=headroom,
            spot_share=spot_share,
            keep_images=keep_images,
            lookback_days=lookback_days,
            min_history_days=min(SizingOptions.min_history_days, lookback_days),
        )
    except ValueError as exc:
        raise BadInput(str(exc)) from exc
    return RunOptions(policy, sizing, wait_timeout, poll_interval, concurrency, allow_arm64)


def price(
    before: dict,
    after: dict,
    region: str,
    source: str,
    session: Any,
    network: Optional[NetworkState] = None,
    spot_discount: float = 0.70,
    context: Optional[ReportContext] = None,
) -> SavingsReport:
    try:
        prices = load_prices(region, source, session, warn=log.warning)
    except ValueError as exc:
        raise BadInput(str(exc)) from exc
    return compute_savings(before, after, prices, network, spot_discount, context)


# ----------------------------------------------------------------------------- commands


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="ecs-optimizer")
def cli() -> None:
    """Tune a deployed ECS Fargate environment for cost and report the savings.

    \b
    Targets: --outputs FILE (compute stack outputs), --stack NAME, or discovery from
    ENVIRONMENT_SUFFIX (cluster ecs-cluster-{suffix}, services *-{suffix}).
    \b
    Exit codes: 0 done or nothing to do; 1 unexpected error; 2 bad usage or input
    (nothing changed); 3 targets not found; 4 partial failure (failed services rolled
    back); 5 another run holds the cluster lock; 6 stopped by a signal (services in flight
    finished or put back, lock released, report printed).
    """


@cli.command()
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the plan (old -> new per service and field, and the migration order) without changing anything: every mutating AWS call is refused. Takes no lock.",
)
@with_options(PLANNING_OPTIONS)
@with_options(EXECUTION_OPTIONS)
@click.option(
    "--journal",
    "journal_path",
    metavar="FILE",
    help="Write the change journal here (default .ecs-optimizer/journal-<UTC time>.jsonl); `rollback --journal FILE` undoes the run.",
)
@click.option(
    "--write-config",
    "write_config",
    multiple=True,
    metavar="FILE",
    help="After the run, record what it applied in this Pulumi stack file (Pulumi.<stack>.yaml of the compute, registry or observability layer), keeping its comments and unrelated keys, so the next `pulumi up` does not undo the run. Repeatable, one file per layer; keys of a layer with no file are listed in the report, not written. Journalled: rollback restores the files.",
)
@ARM64_OPTION
@with_options(ORG_OPTIONS)
@command_body
def optimize(
    common: Common,
    dry_run: bool,
    policy: str,
    spot_share: float,
    keep_images: int,
    lookback_days: int,
    headroom: float,
    wait_timeout: float,
    poll_interval: float,
    concurrency: int,
    force_unlock: bool,
    journal_path: Optional[str],
    write_config: Tuple[str, ...],
    allow_arm64: bool,
    accounts_file: Optional[str],
    regions: Optional[str],
    org_concurrency: int,
) -> int:
    """Rightsize task definitions, task counts, Spot share, ECR retention and alarms.

    Per service, in order: new task-definition revision -> service update -> wait for a
    completed deployment (rolled back on failure) -> autoscaling min/max -> ECR lifecycle
    policy -> alarm thresholds. The journal is write-ahead: each write's intent is on disk
    before the call, its outcome after. A run holds a per-cluster lock (dry runs do not: they
    change nothing). Re-running on an optimized environment changes nothing; re-running after
    an interruption reaches what an uninterrupted run does. SIGTERM/SIGINT: services in flight
    finish or are put back, then the report is printed (exit 6).

    With --write-config, the values applied to the services that were changed are then
    written to the stack files (a dry run shows the keys it would write). Services rolled
    back after a failed deployment are back at their old values and are not written. A
    file that is not a stack file, or whose compute:tier or <layer>:environmentSuffix is
    not the targets', exits 2 before anything changes.
    """
    opts = run_options(
        policy, spot_share, keep_images, lookback_days, headroom, wait_timeout, poll_interval, concurrency, allow_arm64
    )
    if accounts_file or regions:
        if not dry_run or not accounts_file:
            raise BadInput(
                "--accounts and --regions plan across accounts with --dry-run only (optimize changes one environment at a time)"
            )
        if common.outputs or common.stack or journal_path or write_config:
            raise BadInput(
                "--accounts discovers each account's fleet: it does not combine with --outputs, --stack, --journal or --write-config"
            )
        return run_org(
            common,
            accounts_file,
            regions,
            org_concurrency,
            lambda ctx, targets: price_plan(ctx, targets, opts, "table", 0.70).to_dict(),
        )
    STOP.graceful = True  # a signal stops the run cleanly (see ecs_optimizer.stop)
    if journal_path and Path(journal_path).exists() and not dry_run:
        raise BadInput(f"--journal {journal_path}: the file exists; pass a new path")
    stack_files = load_stack_files(write_config)  # bad files exit 2 before any AWS call
    targets, ctx = resolve_targets(common, dry_run)
    check_against_targets(stack_files, targets.tier, targets.environment_suffix)
    path = Path(journal_path) if journal_path else default_path()
    written: List[WriteBackReport] = []

    def record_config(journal: Journal, results: List[ServiceResult]) -> None:
        written.append(write_back(stack_files, applied_from_results(targets.tier, results), journal.change))

    outcome = run_optimize(
        ctx,
        targets,
        opts,
        path,
        force_unlock,
        after_apply=record_config if stack_files else None,
        stop=STOP,
        progress=Progress.for_stderr(),
    )
    writeback: Optional[WriteBackReport] = None
    if stack_files:
        # A dry run previews the keys; a run that changed nothing has nothing to record.
        preview = (
            applied_from_results(targets.tier, outcome.results, dry_run=True)
            if outcome.dry_run
            else AppliedRun(targets.tier, {})
        )
        writeback = written[0] if written else write_back(stack_files, preview, dry_run=True)
    before = {r.service: r.before for r in outcome.results}
    after = {r.service: r.after for r in outcome.results}
    try:
        context = ReportContext.now(targets.environment_suffix, targets.cluster_name, ctx.region)
        savings: Optional[SavingsReport] = compute_savings(
            before, after, load_prices(ctx.region, "table"), context=context
        )
    except ValueError as exc:
        log.warning("savings not priced: %s", exc)
        savings = None
    click.echo(render_optimize(outcome, savings, common.fmt, writeback))
    log.info("API calls: %s", ctx.recorder.summary())
    if STOP.requested:
        log.error("stopped by a signal: services in flight were finished or put back; the report lists what was done")
        return EXIT_INTERRUPTED
    if outcome.lock_error:
        return EXIT_UNEXPECTED
    if outcome.failed:
        log.error("partial failure: %s", ", ".join(f"{r.service} {r.status}" for r in outcome.failed))
        return EXIT_PARTIAL
    if writeback is not None and writeback.failed:
        log.error("config write-back failed for %s", ", ".join(f.path for f in writeback.failed))
        return EXIT_PARTIAL
    return EXIT_OK


@cli.command()
@with_options(PLANNING_OPTIONS)
@click.option(
    "--journal",
    "journal_path",
    metavar="FILE",
    help="Price what a finished optimize run realised (before/after from its journal) instead of the live state against the plan.",
)
@click.option(
    "--pricing",
    type=click.Choice(["table", "live"]),
    default="table",
    show_default=True,
    help="Prices from the embedded dated table, or live from the AWS Price List API (falls back to the table with a warning).",
)
@click.option(
    "--network-outputs",
    metavar="FILE",
    help="Network stack outputs (natGatewayCount, availabilityZones, vpcEndpoints, vpcId) to price NAT gateways "
    "against VPC endpoints. The traffic the NAT gateways processed is read from CloudWatch (AWS/NATGateway) "
    "over --lookback-days, and the ordered migration plan is printed.",
)
@click.option(
    "--aws-traffic-gb",
    type=click.FloatRange(min=0.0),
    default=None,
    help="With --network-outputs: GB a month of AWS-bound traffic (ECR pulls, logs, Secrets Manager, SSM) "
    "leaving the private subnets today, e.g. summed from the VPC flow logs. Overrides the estimate "
    "made from the NAT metrics; with it no NAT metrics are read.",
)
@click.option(
    "--spot-discount",
    type=click.FloatRange(0.0, 1.0),
    default=0.7,
    show_default=True,
    help="How much cheaper Fargate Spot is than on-demand (0.7 = 70% cheaper).",
)
@click.option(
    "--migration-step",
    type=click.Choice(list(STEP_NAMES)),
    default=None,
    help="With --network-outputs: take one step of the network migration plan instead of printing the report. "
    "endpoints and natStrategy write their network:* key into the --write-config network stack file "
    "(journalled: rollback restores the file); verify checks from AWS/PrivateLinkEndpoints metrics that "
    "tasks pull images, write logs and read secrets through the endpoints (exit 4 when not). "
    "natStrategy is written only after the endpoints are deployed and verify passes.",
)
@click.option(
    "--write-config",
    "write_config",
    metavar="FILE",
    help="With --migration-step endpoints|natStrategy: the network layer's stack file (stacks/network/Pulumi.<stack>.yaml) to write the step's key into.",
)
@click.option(
    "--step-journal",
    metavar="FILE",
    help="With --migration-step: write the step's journal here (default .ecs-optimizer/journal-<UTC time>.jsonl); `rollback --journal FILE` undoes it.",
)
@with_options(ORG_OPTIONS)
@ARM64_OPTION
@command_body
def savings(
    common: Common,
    policy: str,
    spot_share: float,
    keep_images: int,
    lookback_days: int,
    headroom: float,
    journal_path: Optional[str],
    pricing: str,
    network_outputs: Optional[str],
    aws_traffic_gb: Optional[float],
    spot_discount: float,
    migration_step: Optional[str],
    write_config: Optional[str],
    step_journal: Optional[str],
    accounts_file: Optional[str],
    regions: Optional[str],
    org_concurrency: int,
    allow_arm64: bool,
) -> int:
    """Estimate the monthly savings: the live state against what optimize would do.

    Prices Fargate vCPU and GB hours (on-demand, Spot, ARM), task counts, ECR storage and,
    with --network-outputs, NAT gateways against VPC endpoints; 730 hours a month, levers
    applied in sequence so nothing is counted twice. Adds a Compute Savings Plan
    recommendation for the on-demand floor left (reported, never applied). Reads only:
    never changes anything. Formats: table, markdown (a pull-request comment with a hidden
    marker), json (schemas/savings-report.schema.json), csv and html.

    With --migration-step, takes one step of the network migration instead (docs/savings.md):
    the only change savings makes is that step's key in the network stack file.
    """
    opts = run_options(policy, spot_share, keep_images, lookback_days, headroom, allow_arm64=allow_arm64)
    if migration_step or write_config or step_journal:
        return migration_step_command(
            common,
            opts,
            migration_step,
            write_config,
            step_journal,
            network_outputs,
            aws_traffic_gb,
            journal_path,
            accounts_file,
            pricing,
            spot_discount,
            lookback_days,
        )
    if accounts_file:
        if journal_path or network_outputs or common.outputs or common.stack:
            raise BadInput(
                "--accounts discovers each account's fleet: it does not combine with --journal, --network-outputs, --outputs or --stack"
            )
        return run_org(
            common,
            accounts_file,
            regions,
            org_concurrency,
            lambda ctx, targets: price_plan(ctx, targets, opts, pricing, spot_discount).to_dict(),
        )
    if regions:
        raise BadInput("--regions needs --accounts (the accounts file)")
    if aws_traffic_gb is not None and not network_outputs:
        raise BadInput("--aws-traffic-gb needs --network-outputs (the NAT gateways and endpoints it is priced against)")
    network_data = tg.read_json_file(network_outputs) if network_outputs else {}
    network = load_network(network_outputs, aws_traffic_gb or 0.0) if network_outputs else None
    ctx: Optional[AwsContext] = None
    if journal_path:
        contents = read_journal(journal_path).for_services(list(common.service))
        before, after = realised_states(contents)
        region = common.region or contents.header.get("region")
        environment, cluster = contents.header.get("environmentSuffix"), contents.header.get("cluster")
        if pricing == "live" or (network is not None and aws_traffic_gb is None):
            ctx = open_aws(aws_settings(common, region, True))
        session = ctx.session if ctx is not None else None
        if not region:
            raise BadInput("no region to price: pass --region")
        if network is not None and aws_traffic_gb is None and ctx is not None:
            network = measured_network_state(ctx, network, network_data, network_outputs or "", lookback_days)
        context = ReportContext.now(environment, cluster, region)
        report = price(before, after, region, pricing, session, network, spot_discount, context)
    else:
        targets, ctx = resolve_targets(common, dry_run=True)
        if network is not None and aws_traffic_gb is None:
            network = measured_network_state(ctx, network, network_data, network_outputs or "", lookback_days)
        report = price_plan(ctx, targets, opts, pricing, spot_discount, network)
    click.echo(render_savings(report, common.fmt))
    return EXIT_OK


def migration_step_command(
    common: Common,
    opts: RunOptions,
    step: Optional[str],
    write_config: Optional[str],
    step_journal: Optional[str],
    network_outputs: Optional[str],
    aws_traffic_gb: Optional[float],
    journal_path: Optional[str],
    accounts_file: Optional[str],
    pricing: str,
    spot_discount: float,
    lookback_days: int,
) -> int:
    """``savings --migration-step``: one network migration step (see network_steps.py). Every
    input is checked before any AWS call; AWS is only read."""
    if not step:
        raise BadInput(
            "--write-config and --step-journal on savings belong to a network migration step: pass --migration-step"
        )
    if not network_outputs:
        raise BadInput(f"--migration-step {step} needs --network-outputs (the network stack's outputs)")
    if journal_path or accounts_file:
        raise BadInput(
            "--migration-step takes one environment's live state: it does not combine with --journal or --accounts"
        )
    if common.fmt not in ("table", "json"):
        raise BadInput(f"--migration-step prints table or json, not {common.fmt}")
    if step_journal and Path(step_journal).exists():
        raise BadInput(f"--step-journal {step_journal}: the file exists; pass a new path")
    stack_file = load_stack_file(write_config, layers=("network",)) if write_config else None
    network_data = tg.read_json_file(network_outputs)
    network = load_network(network_outputs, aws_traffic_gb or 0.0)
    targets, ctx = resolve_targets(common, dry_run=True)
    if stack_file is not None:
        check_against_targets({"network": stack_file}, targets.tier, targets.environment_suffix)
    if aws_traffic_gb is None:
        network = measured_network_state(ctx, network, network_data, network_outputs, lookback_days)
    report = price_plan(ctx, targets, opts, pricing, spot_discount, network)
    costs = report.network
    header = {
        "cluster": targets.cluster_name,
        "region": ctx.region,
        "environmentSuffix": targets.environment_suffix,
        "tier": targets.tier,
        "command": f"savings --migration-step {step}",
    }
    result = run_step(
        ctx,
        costs.steps if costs else (),
        step,
        costs.note if costs else "",
        network_data,
        network_outputs,
        lookback_days,
        stack_file,
        step_journal,
        header,
    )
    click.echo(render_step(result, common.fmt))
    if result.verification is not None and not result.verification.passed:
        log.error("verification failed: %s", result.verification.failures())
        return EXIT_PARTIAL
    if result.file is not None and result.file.status == "failed":
        log.error("writing %s failed: %s", result.file.path, result.file.error)
        return EXIT_PARTIAL
    return EXIT_OK


def price_plan(
    ctx: AwsContext,
    targets: tg.Targets,
    opts: RunOptions,
    pricing: str,
    spot_discount: float,
    network: Optional[NetworkState] = None,
) -> SavingsReport:
    """The live state of ``targets`` against the plan, priced (read-only)."""
    fleet = plan_fleet(ctx, targets, opts)
    before = {n: p.before for n, p in fleet.plans.items()}
    after = {n: p.after for n, p in fleet.plans.items()}
    context = ReportContext.now(targets.environment_suffix, targets.cluster_name, ctx.region)
    return price(before, after, ctx.region, pricing, ctx.session, network, spot_discount, context)


def run_org(
    common: Common,
    accounts_file: str,
    regions: Optional[str],
    concurrency: int,
    job: Callable[[AwsContext, tg.Targets], dict],
) -> int:
    """Run ``job`` on the fleet of every account and region of ``accounts_file`` (see org.py),
    print one aggregated report; exit 4 when some accounts failed, 0 when all finished."""
    if common.fmt == "html":
        raise BadInput(
            "--format html is for one environment; an organization-wide run prints table, markdown, json or csv"
        )
    accounts = org.load_accounts(accounts_file)
    region_list = org.parse_regions(regions) if regions else ()
    base = make_session(aws_settings(common, region_list[0] if region_list else None, True))

    def one(session: Any, account: org.Account, region: str) -> dict:
        settings = AwsSettings(region=region, endpoint_url=common.endpoint_url, dry_run=True, backoff=Backoff())
        ctx = AwsContext(session, settings)
        targets = discovery.discover(ctx, account.environment_suffix, common.tier).only(list(common.service))
        return job(ctx, targets)

    results = org.run_organization(
        accounts,
        region_list or (base.region_name,),
        base,
        one,
        lambda exc: exit_code_for(exc)[1].splitlines()[0],
        concurrency,
        common.endpoint_url,
    )
    stamp = ReportContext.now(None, None, None).generated_at or ""
    click.echo(org.render_org(org.aggregate(results, stamp), common.fmt))
    failed = [r for r in results if not r.ok]
    if failed:
        log.error(
            "%d of %d account/region runs failed: %s",
            len(failed),
            len(results),
            ", ".join(f"{r.account.name} {r.region}" for r in failed),
        )
        return EXIT_PARTIAL
    return EXIT_OK


@cli.command()
@click.option("--journal", "journal_path", metavar="FILE", required=True, help="Journal of the optimize run to undo.")
@click.option("--dry-run", is_flag=True, help="Show what would be restored without changing anything.")
@click.option(
    "--ignore-journal-target",
    is_flag=True,
    help="Restore even though the journal was written against another cluster, account, region, endpoint or environment than this rollback targets.",
)
@with_options(EXECUTION_OPTIONS)
@command_body
def rollback(
    common: Common,
    journal_path: str,
    dry_run: bool,
    ignore_journal_target: bool,
    wait_timeout: float,
    poll_interval: float,
    concurrency: int,
    force_unlock: bool,
) -> int:
    """Restore every value an optimize run changed, newest change first.

    Uses the earliest recorded before value of each field, deregisters the task-definition
    revisions the run registered, puts back the stack files its --write-config edited (byte
    for byte; a file edited since is left alone and reported), and changes nothing on a
    second run. --service limits it to some services (stack files, which span services, are
    then not restored).

    \b
    Before writing anything it checks the whole journal (every line and value), that the
    journal's cluster exists here, and that the journal was written against this cluster,
    account, region and endpoint (and --outputs' environment, when given): else it exits 2
    (3 for a missing cluster) with nothing changed. Writes that the journal holds only as
    intents (a run killed mid-call) are checked against the live value and restored.
    """
    STOP.graceful = True  # a signal does not cut a restore short: it finishes, write-ahead journalled
    journal = read_journal(journal_path)
    if not dry_run and not os.access(journal_path, os.W_OK):
        raise BadInput(f"{journal_path}: not writable; rollback appends its own writes to the journal")
    contents = journal.for_services(list(common.service))
    suffix = None
    if common.outputs:
        targets = tg.load_outputs_file(common.outputs)
        if not ignore_journal_target:  # the outputs name the environment to restore: it must be the journal's
            check_place(
                contents,
                Place(
                    targets.cluster_name,
                    targets.region or contents.header.get("region"),
                    contents.header.get("account"),
                    contents.header.get("endpointUrl"),
                    targets.environment_suffix,
                ),
            )
        suffix = targets.environment_suffix
    if common.service and config_file_changes(journal.changes):
        log.warning(
            "the stack files the run edited are restored only by a rollback of the whole journal (without --service)"
        )
    ctx = open_aws(aws_settings(common, contents.header.get("region"), dry_run))
    outcome = run_rollback(
        ctx, contents, wait_timeout, poll_interval, concurrency, force_unlock, suffix, ignore_journal_target
    )
    click.echo(render_rollback(outcome, common.fmt))
    log.info("API calls: %s", ctx.recorder.summary())
    return EXIT_PARTIAL if outcome.failed or outcome.failed_files else EXIT_OK


@cli.command("export-config")
@with_options(PLANNING_OPTIONS)
@click.option(
    "--journal",
    "journal_path",
    metavar="FILE",
    help="Export what a finished optimize run applied (read from its journal) instead of what optimize would apply now.",
)
@click.option(
    "--config-stack",
    metavar="NAME",
    help="Stack the printed commands name with --stack (default: the --stack option, else the environment suffix, which is a stack's name unless its config sets another).",
)
@click.option(
    "--stacks-dir",
    default="stacks",
    show_default=True,
    metavar="DIR",
    help="Directory holding the layers' Pulumi projects: each command runs with --cwd DIR/<layer>. Give an absolute path to run the commands from any directory.",
)
@command_body
def export_config(
    common: Common,
    policy: str,
    spot_share: float,
    keep_images: int,
    lookback_days: int,
    headroom: float,
    journal_path: Optional[str],
    config_stack: Optional[str],
    stacks_dir: str,
) -> int:
    """Print the config keys optimize writes as `pulumi config set --path` commands.

    For config kept outside the stack files: the same keys --write-config sets (sizes per
    tier, counts, min/max capacity, Spot share, ECR keep count, alarm thresholds), one
    command per key, each with --stack and --cwd DIR/<layer>. Default: what optimize would
    apply now (reads only); --journal: what a finished run applied. Notes (layer-wide
    values the services disagree on) come first as # comments, so the output runs as a script.
    """
    if journal_path:
        contents = read_journal(journal_path).for_services(list(common.service))
        tier = contents.header.get("tier") or common.tier
        if not tier:
            raise BadInput(
                f"{journal_path}: the journal does not record the tier (an older version wrote it): pass --tier"
            )
        run = applied_from_journal(contents, tier)
        suffix = contents.header.get("environmentSuffix")
    else:
        opts = run_options(policy, spot_share, keep_images, lookback_days, headroom)
        targets, ctx = resolve_targets(common, dry_run=True)
        fleet = plan_fleet(ctx, targets, opts)
        rows = [(n, p.before, p.after, p.alarm_thresholds, p.status == "planned") for n, p in fleet.plans.items()]
        baselines = {n: p.baseline_size for n, p in fleet.plans.items()}
        run, suffix = applied_run(targets.tier, rows, baselines), targets.environment_suffix
    stack = config_stack or common.stack or suffix
    if not stack:
        raise BadInput("no stack to name in the commands: pass --config-stack NAME")
    click.echo(render_export(plan_keys(run), stack, stacks_dir, common.fmt))
    return EXIT_OK


def load_network(path: str, aws_traffic_gb: float) -> NetworkState:
    """Network stack outputs -> NetworkState (see network_inputs.network_state)."""
    return network_inputs.network_state(tg.read_json_file(path), path, aws_traffic_gb)


def main() -> None:
    STOP.install()  # SIGTERM and SIGINT stop the run cleanly (see ecs_optimizer.stop)
    cli()


if __name__ == "__main__":  # pragma: no cover
    main()
