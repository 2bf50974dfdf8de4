"""Prices the savings model needs: an embedded, dated table per region, or the AWS Price List API.

Money is held as :class:`~decimal.Decimal` so that the worked checks in
docs/pricing.md come out exactly (0.5 x 0.04048 x 730 is 14.7752, not
14.775199999999998) and so that amounts are rounded to cents once, at output, never along
the way.

Only the four Fargate rates are read live: they are what rightsizing, task counts and Spot
move. NAT gateway, VPC endpoint, ECR and alarm prices always come from the table, because the
Price List spreads them over several service codes whose usage types differ by region and
are not worth a fragile parser for a lever that is a recommendation (see ``savings.py``).
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Callable, Dict, Iterable, Optional, Set, Tuple

from ..core.fargate import ARCHITECTURES, ARM64, X86_64

#: The IAM actions this module's AWS calls need (collected into iam_actions.json by
#: :mod:`ecs_optimizer.apply.permissions`).
IAM_ACTIONS = ("pricing:GetProducts",)

logger = logging.getLogger(__name__)

#: A month, in hours, as AWS's own calculators count it.
HOURS_PER_MONTH = 730

#: The date the embedded table was last checked against the published prices.
TABLE_AS_OF = "2026-11-01"

PRICING_SOURCES = ("table", "live")

#: The Price List API is served from a few endpoints only; us-east-1 answers for every region.
PRICE_LIST_ENDPOINT_REGION = "us-east-1"

_MIB_PER_GIB = Decimal(1024)
_UNITS_PER_VCPU = Decimal(1024)


@dataclass(frozen=True)
class PriceTable:
    """List prices for one region, in USD, on-demand.

    ``source`` says where the numbers came from and ``as_of`` when, so every report can
    print them next to its totals.
    """

    region: str
    source: str
    as_of: str
    fargate_vcpu_hour_x86: Decimal
    fargate_gb_hour_x86: Decimal
    fargate_vcpu_hour_arm: Decimal
    fargate_gb_hour_arm: Decimal
    nat_gateway_hour: Decimal
    nat_gateway_gb: Decimal
    interface_endpoint_az_hour: Decimal
    interface_endpoint_gb: Decimal
    ecr_gb_month: Decimal
    alarm_month: Decimal

    def fargate_rates(self, architecture: str) -> Tuple[Decimal, Decimal]:
        """(per vCPU-hour, per GB-hour) for ``architecture`` (``X86_64`` or ``ARM64``)."""
        if architecture == X86_64:
            return self.fargate_vcpu_hour_x86, self.fargate_gb_hour_x86
        if architecture == ARM64:
            return self.fargate_vcpu_hour_arm, self.fargate_gb_hour_arm
        raise ValueError(
            f"architecture {architecture!r} is not a Fargate Linux architecture (allowed: {', '.join(ARCHITECTURES)})"
        )


def _d(value: str) -> Decimal:
    return Decimal(value)


_USE1_LIST = "AWS public price list for us-east-1"
_SAME_AS_USE1 = "AWS public price list; Fargate, NAT gateway, VPC endpoint and ECR rates equal us-east-1"
_REGIONAL = "AWS public price list for {region}; not checked rate by rate, confirm with --pricing live"


def _table(
    region: str,
    source: str,
    vcpu_x86: str,
    gb_x86: str,
    vcpu_arm: str,
    gb_arm: str,
    nat: str,
    endpoint_az_hour: str,
) -> PriceTable:
    # NAT charges the same per GB processed as per hour in every region we list; interface
    # endpoints charge $0.01 per GB (first PB), ECR $0.10 per GB-month and a standard alarm
    # $0.10 a month in all of them.
    return PriceTable(
        region=region,
        source=source.format(region=region),
        as_of=TABLE_AS_OF,
        fargate_vcpu_hour_x86=_d(vcpu_x86),
        fargate_gb_hour_x86=_d(gb_x86),
        fargate_vcpu_hour_arm=_d(vcpu_arm),
        fargate_gb_hour_arm=_d(gb_arm),
        nat_gateway_hour=_d(nat),
        nat_gateway_gb=_d(nat),
        interface_endpoint_az_hour=_d(endpoint_az_hour),
        interface_endpoint_gb=_d("0.01"),
        ecr_gb_month=_d("0.10"),
        alarm_month=_d("0.10"),
    )


#: The embedded price table, keyed by region (docs/pricing.md); each other region's
#: ``source`` says how far it was checked, and ``--pricing live`` confirms the Fargate rates.
PRICE_TABLES: Dict[str, PriceTable] = {
    t.region: t
    for t in (
        _table("us-east-1", _USE1_LIST, "0.04048", "0.004445", "0.03238", "0.00356", "0.045", "0.01"),
        _table("us-east-2", _SAME_AS_USE1, "0.04048", "0.004445", "0.03238", "0.00356", "0.045", "0.01"),
        _table("us-west-2", _SAME_AS_USE1, "0.04048", "0.004445", "0.03238", "0.00356", "0.045", "0.01"),
        _table("eu-west-1", _REGIONAL, "0.04048", "0.004445", "0.03238", "0.00356", "0.048", "0.011"),
        _table("eu-central-1", _REGIONAL, "0.04656", "0.00511", "0.03725", "0.00409", "0.052", "0.012"),
        _table("ap-southeast-1", _REGIONAL, "0.05056", "0.00553", "0.04045", "0.00442", "0.059", "0.013"),
        _table("ap-northeast-1", _REGIONAL, "0.05056", "0.00553", "0.04045", "0.00442", "0.062", "0.014"),
    )
}

#: The region prefix the Price List puts in front of every usage type.
PRICE_LIST_PREFIX: Dict[str, str] = {
    "us-east-1": "USE1",
    "us-east-2": "USE2",
    "us-west-2": "USW2",
    "eu-west-1": "EU",
    "eu-central-1": "EUC1",
    "ap-southeast-1": "APS1",
    "ap-northeast-1": "APN1",
}

#: PriceTable field -> usage type suffix in the AmazonECS price list.
_FARGATE_USAGE_TYPES: Dict[str, str] = {
    "fargate_vcpu_hour_x86": "Fargate-vCPU-Hours:perCPU",
    "fargate_gb_hour_x86": "Fargate-GB-Hours",
    "fargate_vcpu_hour_arm": "Fargate-ARM-vCPU-Hours:perCPU",
    "fargate_gb_hour_arm": "Fargate-ARM-GB-Hours",
}


def table_prices(region: str) -> PriceTable:
    """The embedded prices for ``region``; ValueError naming the region and the known ones."""
    try:
        return PRICE_TABLES[region]
    except KeyError:
        raise ValueError(f"no embedded prices for region {region!r} (known: {', '.join(PRICE_TABLES)})") from None


def fargate_task_hourly(cpu_units: int, memory_mib: int, architecture: str, prices: PriceTable) -> Decimal:
    """On-demand hourly price of one Fargate task: cpu_units/1024 vCPU plus memory_mib/1024 GB.

    The one place a task is priced; sizing compares pairs with it and the savings model
    multiplies it by task-hours.
    """
    vcpu_rate, gb_rate = prices.fargate_rates(architecture)
    return (Decimal(cpu_units) / _UNITS_PER_VCPU) * vcpu_rate + (Decimal(memory_mib) / _MIB_PER_GIB) * gb_rate


def _warn_default(message: str) -> None:
    logger.warning(message)


def load_prices(
    region: str,
    source: str = "table",
    session: Any = None,
    warn: Optional[Callable[[str], None]] = None,
) -> PriceTable:
    """Prices for ``region`` from the embedded table or, with ``source="live"``, the Price List API.

    Live pricing replaces the four Fargate rates and keeps the table's other items. Any
    failure of the live read (no credentials, no network, throttling, an unexpected or
    ambiguous answer) falls back to the table with one warning: a savings estimate from a
    dated table is more useful than none. A region without a table entry is a ValueError in
    both modes, since the table supplies the items live pricing does not read.
    """
    if source not in PRICING_SOURCES:
        raise ValueError(f"pricing source {source!r} is not one of: {', '.join(PRICING_SOURCES)}")
    table = table_prices(region)
    if source == "table":
        return table
    warn = warn or _warn_default
    try:
        if session is None:
            import boto3  # imported here so the table path never needs boto3 configured

            session = boto3.Session()
        client = session.client("pricing", region_name=PRICE_LIST_ENDPOINT_REGION)
        prefix = PRICE_LIST_PREFIX[region]
        live: Dict[str, Any] = {
            field: _read_usage_type_price(client, f"{prefix}-{suffix}")
            for field, suffix in _FARGATE_USAGE_TYPES.items()
        }
    except Exception as exc:  # noqa: BLE001 - every failure has the same, documented answer
        warn(
            f"live pricing for {region} failed ({type(exc).__name__}: {exc}); "
            f"using the embedded table dated {table.as_of}"
        )
        return table
    today = _dt.datetime.now(_dt.timezone.utc).date().isoformat()
    return replace(
        table,
        source=(
            "AWS Price List API (Fargate); NAT gateway, VPC endpoint, ECR and alarm prices "
            f"from the embedded table dated {table.as_of}"
        ),
        as_of=today,
        **live,
    )


def _read_usage_type_price(client: Any, usage_type: str) -> Decimal:
    """The single on-demand USD price of ``usage_type`` in the AmazonECS price list.

    The filter is a TERM_MATCH, and every returned product's usagetype is checked again
    here: a near match ("vCPU" also names the ARM, Windows and ephemeral-storage rows) must
    never price an x86 task.
    """
    paginator = client.get_paginator("get_products")
    pages = paginator.paginate(
        ServiceCode="AmazonECS",
        Filters=[{"Type": "TERM_MATCH", "Field": "usagetype", "Value": usage_type}],
        FormatVersion="aws_v1",
    )
    prices: Set[Decimal] = set()
    for page in pages:
        for item in page.get("PriceList", []):
            product = json.loads(item) if isinstance(item, str) else item
            attributes = product.get("product", {}).get("attributes", {})
            if attributes.get("usagetype") != usage_type:
                continue
            prices.update(_on_demand_usd(product))
    positive = {p for p in prices if p > 0}
    if not positive:
        raise LookupError(f"the price list has no on-demand USD price for {usage_type}")
    if len(positive) > 1:
        listed = ", ".join(str(p) for p in sorted(positive))
        raise LookupError(f"the price list has several prices for {usage_type}: {listed}")
    return positive.pop()


def _on_demand_usd(product: dict) -> Iterable[Decimal]:
    """Every terms.OnDemand.*.priceDimensions.*.pricePerUnit.USD of one price-list product."""
    for term in product.get("terms", {}).get("OnDemand", {}).values():
        for dimension in term.get("priceDimensions", {}).values():
            usd = dimension.get("pricePerUnit", {}).get("USD")
            if usd is not None:
                yield Decimal(usd)
