"""What the CLI's commands share to reach AWS: the settings and context, resolving the targets, run options, pricing a plan, and running a job on every account of an organization."""

from __future__ import annotations

import dataclasses
import logging
import os
from fractions import Fraction
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ..core.errors import EXIT_OK, EXIT_PARTIAL, BadInput
from ..core.model import NetworkState, ServiceState
from ..live import discovery
from ..live import targets as tg
from ..live.aws import AwsContext, AwsSettings, Backoff, make_session, open_context
from ..network import inputs as network_inputs
from ..output.models import ORGANIZATION, organization_report
from ..output.registry import formats
from ..planning.oom import OomEvidence, growth_cost, growth_note
from ..planning.plan import RunOptions, plan_fleet
from ..planning.sizing import SizingOptions
from ..pricing.commitments import load_commitment_rates
from ..pricing.costs import money
from ..pricing.prices import PriceTable, load_prices
from ..pricing.savings import ReportContext, SavingsReport, compute_savings
from . import org
from .console import emit
from .options import Common, exit_code_for

log = logging.getLogger("ecs_optimizer")


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
    settings: Mapping[str, Any],
    wait_timeout: Optional[float] = None,
    poll_interval: float = 15,
    concurrency: int = 4,
    max_risk: Optional[str] = None,
) -> RunOptions:
    """The run's options from the levers' settings (``cli/lever_options.py``) and the
    execution options."""
    try:
        sizing = SizingOptions(
            headroom=settings["headroom"],
            spot_share=settings["spot_share"],
            keep_images=settings["keep_images"],
            lookback_days=settings["lookback_days"],
            min_history_days=min(SizingOptions.min_history_days, settings["lookback_days"]),
        )
    except ValueError as exc:
        raise BadInput(str(exc)) from exc
    allow_arm64 = bool(settings.get("allow_arm64", False))
    return RunOptions(settings["policy"], sizing, wait_timeout, poll_interval, concurrency, allow_arm64, max_risk)


#: One OOM-grown service: its name, the stops, and its state before and after.
Grown = Tuple[str, OomEvidence, ServiceState, ServiceState]


def with_growth_costs(
    report: SavingsReport, grown: Sequence[Grown], prices: PriceTable, spot_discount: Fraction
) -> Tuple[SavingsReport, Dict[str, float]]:
    """``report`` with a note per OOM-grown service pricing its memory growth (a cost, beside
    the savings rather than netted into them), and those costs by service, to the cent."""
    notes: List[str] = []
    costs: Dict[str, float] = {}
    for name, evidence, before, after in grown:
        if after.memory <= before.memory:
            continue
        cost = growth_cost(before, after, prices, spot_discount)
        costs[name] = float(money(cost))
        notes.append(growth_note(name, evidence, before, after, cost))
    if not notes:
        return report, costs
    return dataclasses.replace(report, notes=tuple(report.notes) + tuple(notes)), costs


def price(
    before: dict,
    after: dict,
    region: str,
    source: str,
    session: Any,
    network: Optional[NetworkState] = None,
    spot_discount: float = 0.70,
    context: Optional[ReportContext] = None,
    findings: Optional[dict] = None,
    grown: Sequence[Grown] = (),
) -> SavingsReport:
    try:
        prices = load_prices(region, source, session, warn=log.warning)
    except ValueError as exc:
        raise BadInput(str(exc)) from exc
    commitments = load_commitment_rates(region, source, session, warn=log.warning)
    report = compute_savings(
        before, after, prices, network, spot_discount, context, findings=findings, commitments=commitments
    )
    return with_growth_costs(report, grown, prices, Fraction(str(spot_discount)))[0]


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
    grown = [(n, p.oom, p.before, p.after) for n, p in fleet.plans.items() if p.oom is not None]
    context = ReportContext.now(targets.environment_suffix, targets.cluster_name, ctx.region, fleet.account)
    findings = {n: p.finding.to_dict() for n, p in fleet.plans.items() if p.finding is not None}
    return price(before, after, ctx.region, pricing, ctx.session, network, spot_discount, context, findings, grown)


def run_org(
    common: Common,
    accounts_file: str,
    regions: Optional[str],
    concurrency: int,
    job: Callable[[AwsContext, tg.Targets], dict],
) -> int:
    """Run ``job`` on the fleet of every account and region of ``accounts_file`` (see org.py),
    print one aggregated report; exit 4 when some accounts failed, 0 when all finished."""
    if common.fmt not in formats(ORGANIZATION):
        raise BadInput(
            f"--format {common.fmt} is for one environment; an organization-wide run prints "
            f"{', '.join(formats(ORGANIZATION))}"
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
    emit(organization_report(org.aggregate(results, stamp)), common.fmt, common.output)
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


def load_network(path: str, aws_traffic_gb: float) -> NetworkState:
    """Network stack outputs -> NetworkState (see network_inputs.network_state)."""
    return network_inputs.network_state(tg.read_json_file(path), path, aws_traffic_gb)
