"""``ecs-optimizer savings``: the savings report, an organization-wide report, or one network migration step."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import click

from ..apply.journal_reader import read_journal
from ..core.errors import EXIT_OK, EXIT_PARTIAL, BadInput
from ..live import targets as tg
from ..live.aws import AwsContext
from ..network.lever import STEP_NAMES, measured_network_state
from ..network.steps import run_step
from ..output.models import MIGRATION_STEP, Where, migration_step_report, savings_report
from ..output.registry import formats
from ..planning.plan import RunOptions
from ..pricing.realised import realised_states
from ..pricing.savings import REALISED, ReportContext
from ..writeback.stack_file import check_against_targets, load_stack_file
from . import context as cli_context
from .console import emit
from .context import aws_settings, load_network, price, price_plan, resolve_targets, run_options, run_org
from .lever_options import LeverSettings, lever_options
from .options import ORG_OPTIONS, Common, command_body, with_options

log = logging.getLogger("ecs_optimizer")


@click.command()
@lever_options("savings")
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
@command_body("savings")
def savings(
    common: Common,
    settings: LeverSettings,
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
) -> int:
    """Estimate the monthly savings (the live state against what optimize would do), or, with
    --journal, price what a finished run realised.

    Prices Fargate vCPU and GB hours (on-demand, Spot, ARM), task counts, ECR storage and,
    with --network-outputs, NAT gateways against VPC endpoints; 730 hours a month, levers
    applied in sequence so nothing is counted twice. Adds a Compute Savings Plan
    recommendation for the on-demand floor left (reported, never applied). Reads only:
    never changes anything. Formats: table, markdown (a pull-request comment with a hidden
    marker), json (schemas/savings-report.schema.json), csv and html.

    With --migration-step, takes one step of the network migration instead (docs/savings.md):
    the only change savings makes is that step's key in the network stack file.
    """
    opts = run_options(settings)
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
            settings["lookback_days"],
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
            ctx = cli_context.open_aws(aws_settings(common, region, True))
        session = ctx.session if ctx is not None else None
        if not region:
            raise BadInput("no region to price: pass --region")
        if network is not None and aws_traffic_gb is None and ctx is not None:
            network = measured_network_state(
                ctx, network, network_data, network_outputs or "", settings["lookback_days"]
            )
        account = contents.header.get("account")
        context = ReportContext.now(environment, cluster, region, account, REALISED)
        report = price(before, after, region, pricing, session, network, spot_discount, context)
    else:
        targets, ctx = resolve_targets(common, dry_run=True)
        if network is not None and aws_traffic_gb is None:
            network = measured_network_state(
                ctx, network, network_data, network_outputs or "", settings["lookback_days"]
            )
        report = price_plan(ctx, targets, opts, pricing, spot_discount, network)
    emit(savings_report(report), common.fmt, common.output)
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
    if common.fmt not in formats(MIGRATION_STEP):
        raise BadInput(f"--migration-step prints {' or '.join(formats(MIGRATION_STEP))}, not {common.fmt}")
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
    where = Where(targets.environment_suffix, targets.cluster_name, report.context.account, ctx.region)
    emit(migration_step_report(result, where), common.fmt, common.output)
    if result.verification is not None and not result.verification.passed:
        log.error("verification failed: %s", result.verification.failures())
        return EXIT_PARTIAL
    if result.file is not None and result.file.status == "failed":
        log.error("writing %s failed: %s", result.file.path, result.file.error)
        return EXIT_PARTIAL
    return EXIT_OK
