"""``optimize --via-pulumi``, the Pulumi-first path (docs/pulumi-first.md): the plan a run would
make, written to the stack files with every mutating AWS call refused, and the pull-request
comment with what the next ``pulumi up`` is expected to change."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Optional, Tuple

from ..apply.engine import journal_header
from ..apply.journal import Journal, default_path
from ..core.errors import EXIT_OK, EXIT_PARTIAL, BadInput
from ..planning.plan import RunOptions, Status, plan_fleet
from ..pricing.prices import load_prices
from ..pricing.savings import ReportContext, SavingsReport, compute_savings
from ..writeback.applied import applied_run
from ..writeback.files import write_back
from ..writeback.keys import WRITABLE_LAYERS
from ..writeback.plan import plan_keys
from ..writeback.pull_request import PulumiFirstReport, render_pulumi_first
from ..writeback.pulumi_first import expected_preview
from ..writeback.stack_file import check_against_targets, load_stack_files
from .console import write_report
from .context import resolve_targets
from .options import Common

log = logging.getLogger("ecs_optimizer")


def run_via_pulumi(
    common: Common, opts: RunOptions, journal_path: Optional[str], write_config: Tuple[str, ...], dry_run: bool
) -> int:
    """``optimize --via-pulumi``: plan with every mutating AWS call refused, write the keys to the
    stack files (journalled in a local plan record unless ``dry_run``), print the PR comment."""
    if not write_config:
        raise BadInput(
            "--via-pulumi writes the plan to stack files: pass --write-config Pulumi.<stack>.yaml of the compute, registry and observability layers"
        )
    if journal_path and Path(journal_path).exists():
        raise BadInput(f"--journal {journal_path}: the file exists; pass a new path")
    stack_files = load_stack_files(write_config)  # bad files exit 2 before any AWS call
    targets, ctx = resolve_targets(common, dry_run=True)  # the guard refuses every mutating call
    check_against_targets(stack_files, targets.tier, targets.environment_suffix)
    fleet = plan_fleet(ctx, targets, opts)
    rows = [(n, p.before, p.after, p.alarm_thresholds, p.status == Status.PLANNED) for n, p in fleet.plans.items()]
    run = applied_run(targets.tier, rows, {n: p.baseline_size for n, p in fleet.plans.items()})
    keys = plan_keys(run)
    missing = [layer for layer in WRITABLE_LAYERS if keys.for_layer(layer) and layer not in stack_files]
    if missing:
        raise BadInput(
            f"--via-pulumi: the plan sets {', '.join(missing)} keys but no --write-config file of that layer was given; "
            "pass one stack file per layer the plan changes"
        )
    preview = expected_preview(fleet, keys, targets.cluster_name)
    record: Optional[Path] = None
    journal: Optional[Journal] = None
    if not dry_run and run.services:
        record = Path(journal_path) if journal_path else default_path()
        header = journal_header(uuid.uuid4().hex[:16], ctx, targets, opts, fleet.account, mode="via-pulumi")
        journal = Journal(record, header)
    try:
        writeback = write_back(stack_files, run, journal.change if journal else None, dry_run=dry_run)
    finally:
        if journal is not None:
            journal.close()
    try:
        context = ReportContext.now(targets.environment_suffix, targets.cluster_name, ctx.region)
        before = {n: p.before for n, p in fleet.plans.items()}
        after = {n: p.after if p.status == Status.PLANNED else p.before for n, p in fleet.plans.items()}
        savings: Optional[SavingsReport] = compute_savings(
            before, after, load_prices(ctx.region, "table"), context=context
        )
    except ValueError as exc:
        log.warning("savings not priced: %s", exc)
        savings = None
    report = PulumiFirstReport(
        stack=common.stack or targets.environment_suffix,
        cluster=targets.cluster_name,
        region=ctx.region,
        policy=opts.policy,
        preview=preview,
        writeback=writeback,
        savings=savings,
        record=str(record) if record else None,
        services={n: str(p.status) for n, p in fleet.plans.items()},
        reasons={n: p.reason for n, p in fleet.plans.items()},
    )
    write_report(render_pulumi_first(report, common.fmt), common.output)
    log.info("API calls: %s", ctx.recorder.summary())
    if writeback.failed:
        log.error("config write-back failed for %s", ", ".join(f.path for f in writeback.failed))
        return EXIT_PARTIAL
    return EXIT_OK
