"""``ecs-optimizer``: optimize | savings | rollback | export-config | verify.

stdout carries only the report (so ``--format json`` pipes cleanly); log lines, stamped in
UTC ISO 8601, go to stderr and ``--log-file``. Errors are one line; ``-v`` adds tracebacks.

Exit codes: 0 done or nothing to do; 1 unexpected error; 2 bad usage or input (nothing
changed); 3 target resources not found; 4 partial failure (failed services rolled back);
5 another run holds the cluster's lock; 6 stopped by SIGTERM/SIGINT (services in flight
finished or put back, lock released, report printed); 7 verify found regressions; 8 verify
found none, but some services are too early to judge; 9 changes pending (a dry run with
``--detailed-exitcode``).

Every error, whoever finds it (click's usage checks, a command, a log record of level
ERROR), is one line on stderr in one style (:func:`.console.error_line`). Every option can
also be set as ``ECS_OPTIMIZER_<COMMAND>_<OPTION>`` (:func:`name_envvars`).
"""

from __future__ import annotations

import logging
import os
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any, List, Optional, Tuple

import click

from .. import __version__
from ..apply.engine import optimize as run_optimize
from ..apply.journal import Journal, default_path
from ..apply.journal_reader import read_journal
from ..apply.progress import Progress
from ..apply.rollback import Place, check_place
from ..apply.rollback import rollback as run_rollback
from ..apply.stop import STOP
from ..core.errors import (
    EXIT_CHANGES_PENDING,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_UNEXPECTED,
    BadInput,
)
from ..live import targets as tg
from ..output.models import Where, export_report, optimize_report, rollback_report
from ..planning.plan import ServiceResult, Status, plan_fleet
from ..pricing.prices import load_prices
from ..pricing.savings import ESTIMATE, REALISED, ReportContext, SavingsReport, compute_savings
from ..writeback.applied import applied_from_journal, applied_from_results, applied_run
from ..writeback.applied_values import AppliedRun
from ..writeback.files import WriteBackReport, config_file_changes, write_back
from ..writeback.plan import plan_keys
from ..writeback.stack_file import check_against_targets, load_stack_files
from . import context as cli_context
from .console import PROG, emit, print_error
from .context import aws_settings, price_plan, resolve_targets, run_options, run_org, with_growth_costs
from .lever_options import LeverSettings, lever_options
from .options import (
    EXECUTION_OPTIONS,
    MAX_RISK_CHOICES,
    MAX_RISK_OPTION,
    ORG_OPTIONS,
    Common,
    command_body,
    with_options,
)
from .pulumi_first import run_via_pulumi
from .savings_command import savings
from .verify_command import verify

log = logging.getLogger("ecs_optimizer")

#: The Spot discount the optimize report's savings use (compute_savings' default).
SPOT_DISCOUNT = Fraction("0.70")

#: Prefix of the environment variables that set options: ``ECS_OPTIMIZER_<COMMAND>_<OPTION>``.
ENVVAR_PREFIX = "ECS_OPTIMIZER"

DETAILED_EXITCODE_OPTION = click.option(
    "--detailed-exitcode",
    is_flag=True,
    help=f"With --dry-run: exit {EXIT_CHANGES_PENDING} when changes are pending, 0 when there are none "
    "(like terraform plan -detailed-exitcode), so CI can gate on it.",
)


class OptimizerGroup(click.Group):
    """The command group, with click's usage errors in the CLI's one error style."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)  # type: ignore[call-overload]
        except click.exceptions.Abort:
            print_error("aborted")
            code = EXIT_UNEXPECTED
        except click.ClickException as exc:
            print_error(usage_message(exc))
            code = exc.exit_code
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else EXIT_OK)


def usage_message(exc: click.ClickException) -> str:
    """One line for a click error, naming the command's help."""
    message = " ".join(exc.format_message().split())
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and ctx is not None:
        message += f" (see {ctx.command_path} --help)"
    return message


@click.group(
    PROG,
    cls=OptimizerGroup,
    context_settings={
        "help_option_names": ["-h", "--help"],
        "max_content_width": 100,
        "auto_envvar_prefix": ENVVAR_PREFIX,
    },
)
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
    finished or put back, lock released, report printed); 7 verify found regressions;
    8 verify found none, but some services are too early to judge; 9 changes pending
    (a dry run with --detailed-exitcode).
    \b
    Options can also be set as ECS_OPTIMIZER_<COMMAND>_<OPTION> environment variables
    (e.g. ECS_OPTIMIZER_SAVINGS_FORMAT=json). Shell completion (bash):
    eval "$(_ECS_OPTIMIZER_COMPLETE=bash_source ecs-optimizer)"
    """


@cli.command()
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the plan (old -> new per service and field, and the migration order) without changing anything: every mutating AWS call is refused. Takes no lock.",
)
@DETAILED_EXITCODE_OPTION
@lever_options("optimize")
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
@click.option(
    "--via-pulumi",
    is_flag=True,
    help="The Pulumi-first path: make no change in AWS (every mutating call is refused), write the plan to the --write-config stack files (the same keys a run writes) and print the pull-request comment with the changes the next `pulumi up` is expected to make; `scripts/layers.sh up <stack>` then applies them. --journal records the file edits only, so `rollback --journal` puts the files back.",
)
@MAX_RISK_OPTION
@with_options(ORG_OPTIONS)
@command_body("optimize")
def optimize(
    common: Common,
    settings: LeverSettings,
    dry_run: bool,
    detailed_exitcode: bool,
    wait_timeout: Optional[float],
    poll_interval: float,
    concurrency: int,
    force_unlock: bool,
    journal_path: Optional[str],
    write_config: Tuple[str, ...],
    via_pulumi: bool,
    max_risk: Optional[str],
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

    With --via-pulumi (the Pulumi-first path, docs/pulumi-first.md), nothing in AWS changes:
    the plan is written to the --write-config files and the pull-request comment names what
    the next `pulumi up` of each layer will change, and what it does not set (the desired
    count, left to autoscaling) with how and when that takes effect.
    """
    opts = run_options(
        settings, wait_timeout, poll_interval, concurrency, MAX_RISK_CHOICES[max_risk] if max_risk else None
    )
    if detailed_exitcode and not dry_run:
        raise BadInput("--detailed-exitcode reports the changes a dry run would make: add --dry-run")
    if via_pulumi:
        if accounts_file or regions:
            raise BadInput(
                "--via-pulumi writes one environment's stack files: it does not combine with --accounts or --regions"
            )
        return run_via_pulumi(common, opts, journal_path, write_config, dry_run)
    if accounts_file or regions:
        if not dry_run or not accounts_file:
            raise BadInput(
                "--accounts and --regions plan across accounts with --dry-run only (optimize changes one environment at a time)"
            )
        if common.outputs or common.stack or journal_path or write_config or detailed_exitcode:
            raise BadInput(
                "--accounts discovers each account's fleet: it does not combine with --outputs, --stack, --journal, "
                "--write-config or --detailed-exitcode"
            )
        return run_org(
            common,
            accounts_file,
            regions,
            org_concurrency,
            lambda ctx, targets: price_plan(ctx, targets, opts, "table", 0.70).to_dict(),
        )
    STOP.graceful = True  # a signal stops the run cleanly (see ecs_optimizer.apply.stop)
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
        progress=Progress.for_stderr(quiet=common.quiet),
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
    where = Where(targets.environment_suffix, targets.cluster_name, outcome.account, ctx.region)
    try:
        basis = ESTIMATE if outcome.dry_run else REALISED
        context = ReportContext.now(where.environment, where.cluster, where.region, where.account, basis)
        findings = {name: f.to_dict() for name, f in outcome.findings.items()}
        prices = load_prices(ctx.region, "table")
        savings: Optional[SavingsReport] = compute_savings(
            before, after, prices, spot_discount=float(SPOT_DISCOUNT), context=context, findings=findings
        )
    except ValueError as exc:
        log.warning("savings not priced: %s", exc)
        savings = None
    if savings is not None:
        grown = [(r.service, r.oom, r.before, r.after) for r in outcome.results if r.oom is not None]
        savings, costs = with_growth_costs(savings, grown, prices, SPOT_DISCOUNT)
        for result in outcome.results:
            if result.service in costs:
                result.growth_monthly_cost = costs[result.service]
    report = optimize_report(outcome, savings, where, writeback)
    emit(report, common.fmt, common.output)
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
    if detailed_exitcode and report.document["changesPending"]:
        return EXIT_CHANGES_PENDING
    return EXIT_OK


@cli.command()
@click.option("--journal", "journal_path", metavar="FILE", required=True, help="Journal of the optimize run to undo.")
@click.option("--dry-run", is_flag=True, help="Show what would be restored without changing anything.")
@DETAILED_EXITCODE_OPTION
@click.option(
    "--ignore-journal-target",
    is_flag=True,
    help="Restore even though the journal was written against another cluster, account, region, endpoint or environment than this rollback targets.",
)
@with_options(EXECUTION_OPTIONS)
@command_body("rollback")
def rollback(
    common: Common,
    journal_path: str,
    dry_run: bool,
    detailed_exitcode: bool,
    ignore_journal_target: bool,
    wait_timeout: Optional[float],
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
    if detailed_exitcode and not dry_run:
        raise BadInput("--detailed-exitcode reports what a dry run would restore: add --dry-run")
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
    ctx = cli_context.open_aws(aws_settings(common, contents.header.get("region"), dry_run))
    outcome = run_rollback(
        ctx, contents, wait_timeout, poll_interval, concurrency, force_unlock, suffix, ignore_journal_target
    )
    header = contents.header
    where = Where(header.get("environmentSuffix"), outcome.cluster, header.get("account"), ctx.region)
    report = rollback_report(outcome, where)
    emit(report, common.fmt, common.output)
    log.info("API calls: %s", ctx.recorder.summary())
    if outcome.failed or outcome.failed_files:
        return EXIT_PARTIAL
    return EXIT_CHANGES_PENDING if detailed_exitcode and report.document["changesPending"] else EXIT_OK


@cli.command("export-config")
@lever_options("export-config")
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
@command_body("export-config")
def export_config(
    common: Common,
    settings: LeverSettings,
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
        header = contents.header
        where = Where(suffix, header.get("cluster"), header.get("account"), common.region or header.get("region"))
    else:
        opts = run_options(settings)
        targets, ctx = resolve_targets(common, dry_run=True)
        fleet = plan_fleet(ctx, targets, opts)
        rows = [(n, p.before, p.after, p.alarm_thresholds, p.status == Status.PLANNED) for n, p in fleet.plans.items()]
        baselines = {n: p.baseline_size for n, p in fleet.plans.items()}
        run, suffix = applied_run(targets.tier, rows, baselines), targets.environment_suffix
        where = Where(suffix, targets.cluster_name, fleet.account, ctx.region)
    stack = config_stack or common.stack or suffix
    if not stack:
        raise BadInput("no stack to name in the commands: pass --config-stack NAME")
    emit(export_report(plan_keys(run), stack, stacks_dir, where), common.fmt, common.output)
    return EXIT_OK


cli.add_command(savings)
cli.add_command(verify)


def envvar_name(command: str, option: click.Option) -> str:
    """``ECS_OPTIMIZER_SAVINGS_SPOT_SHARE`` for ``savings --spot-share``: the command and the
    option's long name (not its Python name, so ``--format`` is ``..._FORMAT``)."""
    longest = max(option.opts, key=len).lstrip("-")
    return "_".join([ENVVAR_PREFIX, command, longest]).replace("-", "_").upper()


def name_envvars(group: click.Group) -> None:
    """Give every option of every command its ``ECS_OPTIMIZER_<COMMAND>_<OPTION>`` variable
    (an option with its own variable, such as --endpoint-url's AWS_ENDPOINT_URL, keeps it)."""
    for name, command in group.commands.items():
        for param in command.params:
            if isinstance(param, click.Option) and param.envvar is None and param.expose_value:
                param.envvar = envvar_name(name, param)


name_envvars(cli)


def main() -> None:
    STOP.install()  # SIGTERM and SIGINT stop the run cleanly (see ecs_optimizer.apply.stop)
    cli(prog_name=PROG)


if __name__ == "__main__":  # pragma: no cover
    main()
