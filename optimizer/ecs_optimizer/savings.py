"""Monthly cost of the fleet before and after optimizing, and where the difference comes from.

The levers are applied one after another to the same state, so each category is the cost
difference its own change makes on top of the ones before it and nothing is counted twice:

1. ``rightsizing``  new task size (and architecture) at the old count and strategy
2. ``taskCount``    new desired count
3. ``spot``         new capacity-provider strategy (Spot tasks at ``1 - spot_discount``)
4. ``ecrStorage``   new image retention
5. ``network``      NAT gateways against VPC endpoints (with a :class:`NetworkState` only)

The categories therefore add up to the total saving exactly. Amounts are carried as exact
fractions (a Spot share of 2/3 or an image of 1,234,567 bytes has no exact decimal within
Decimal's default precision) and rounded to cents only in :meth:`SavingsReport.to_dict`,
where each category is the difference of the rounded running totals, so the rounded
categories still add up to the rounded total.

A lever can be negative (an under-sized service grows): it is reported as a cost, not hidden.
The network lever is the exception, because it is a recommendation rather than a change the
optimizer makes; see :func:`network_costs`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Dict, List, Mapping, Optional, Tuple

from .model import NetworkState, ServiceState
from .pricing import HOURS_PER_MONTH, PriceTable, fargate_task_hourly

CATEGORIES = ("rightsizing", "taskCount", "spot", "ecrStorage", "network")
FORMATS = ("table", "markdown", "json")

#: Interface endpoints the recommended network design adds so that image pulls, logs,
#: secrets and parameters stop flowing through NAT (S3, for image layers, is a free gateway
#: endpoint and costs nothing either way).
RECOMMENDED_INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm")

_HOURS = Fraction(HOURS_PER_MONTH)
_BYTES_PER_GB = 1024**3


def _round_half_up(value: Fraction, places: int) -> Decimal:
    """``value`` rounded half away from zero to ``places`` decimals, exactly."""
    scale = 10**places
    magnitude = (abs(value) * scale + Fraction(1, 2)).__floor__()
    sign = -1 if value < 0 else 1
    return Decimal(sign * magnitude).scaleb(-places)


def _money(value: Fraction) -> Decimal:
    return _round_half_up(value, 2)


def _out(value: Decimal) -> float:
    """A rounded amount as a JSON number, without a negative zero."""
    return float(value) if value != 0 else 0.0


# --------------------------------------------------------------------------- costs


def fargate_monthly(state: ServiceState, prices: PriceTable, spot_discount: Fraction) -> Fraction:
    """Monthly Fargate cost of ``state``'s desired tasks, Spot tasks at the discounted rate."""
    hourly = Fraction(fargate_task_hourly(state.cpu, state.memory, state.architecture, prices))
    spot_tasks = state.strategy.spot_task_fraction(state.desired_count)
    on_demand_tasks = state.desired_count - spot_tasks
    return hourly * _HOURS * (on_demand_tasks + spot_tasks * (1 - spot_discount))


def ecr_monthly(state: ServiceState, prices: PriceTable) -> Fraction:
    """Monthly ECR storage of the images the lifecycle rule keeps (all of them without a rule).

    ``ecr_image_bytes`` is newest first, the order "keep last N" keeps them in.
    """
    kept = state.ecr_image_bytes
    if state.ecr_keep_images is not None:
        kept = kept[: state.ecr_keep_images]
    return Fraction(sum(kept), _BYTES_PER_GB) * Fraction(prices.ecr_gb_month)


def service_monthly(state: ServiceState, prices: PriceTable, spot_discount: Fraction) -> Fraction:
    return fargate_monthly(state, prices, spot_discount) + ecr_monthly(state, prices)


def lever_states(before: ServiceState, after: ServiceState) -> List[ServiceState]:
    """``before``, then ``before`` with each lever of ``after`` applied in turn (ECR last).

    The last state prices exactly like ``after``.
    """
    sized = before.with_changes(
        cpu=after.cpu, memory=after.memory, architecture=after.architecture
    )
    counted = sized.with_changes(desired_count=after.desired_count)
    spotted = counted.with_changes(strategy=after.strategy)
    stored = spotted.with_changes(
        ecr_keep_images=after.ecr_keep_images, ecr_image_bytes=after.ecr_image_bytes
    )
    return [before, sized, counted, spotted, stored]


@dataclass(frozen=True)
class NetworkCosts:
    before: Fraction
    recommended: Fraction
    note: str

    @property
    def saving(self) -> Fraction:
        """What adopting the recommendation saves; zero (never negative) if it costs more."""
        return max(Fraction(0), self.before - self.recommended)

    @property
    def after(self) -> Fraction:
        """Counted after-cost: the recommended design's, or today's when that is cheaper."""
        return self.before - self.saving


def network_costs(network: NetworkState, prices: PriceTable) -> NetworkCosts:
    """Monthly egress charges of the current design against the recommended one.

    Recommended: one NAT gateway instead of one per AZ, and interface endpoints for
    :data:`RECOMMENDED_INTERFACE_ENDPOINTS` in every AZ so AWS-bound traffic skips NAT. It
    is applied by the network layer (``natStrategy: single`` in stacks/network), not by the
    optimizer: the saving shows what that change is worth. Existing endpoints are assumed to
    be among the recommended ones. Hourly charges are always priced; AWS-bound traffic
    (``aws_traffic_gb_month``) is priced at the NAT gateway's per-GB processing charge while
    there are no interface endpoints and at the endpoints' per-GB charge after. Without a
    traffic figure the result is a floor.
    """
    endpoint_month = (
        Fraction(prices.interface_endpoint_az_hour) * network.availability_zones * _HOURS
    )
    nat_month = Fraction(prices.nat_gateway_hour) * _HOURS
    traffic = Fraction(str(network.aws_traffic_gb_month))
    via_nat = network.interface_endpoint_count == 0 and network.nat_gateway_count > 0
    traffic_before = traffic * Fraction(prices.nat_gateway_gb if via_nat else prices.interface_endpoint_gb)
    traffic_after = traffic * Fraction(prices.interface_endpoint_gb)
    before = (
        network.nat_gateway_count * nat_month
        + network.interface_endpoint_count * endpoint_month
        + traffic_before
    )
    endpoints_after = max(network.interface_endpoint_count, len(RECOMMENDED_INTERFACE_ENDPOINTS))
    nat_after = min(network.nat_gateway_count, 1)
    recommended = nat_after * nat_month + endpoints_after * endpoint_month + traffic_after
    design = (
        f"{nat_after} NAT gateway and {endpoints_after} interface endpoints in "
        f"{network.availability_zones} AZs"
    )
    where = "natStrategy single in stacks/network; a recommendation, not a live change"
    priced = (
        f"{network.aws_traffic_gb_month:g} GB a month of AWS-bound traffic included"
        if traffic
        else "hourly charges only: pass the AWS-bound traffic to price NAT data processing"
    )
    if recommended > before:
        note = (
            f"network: the recommended design ({design}; {where}) costs "
            f"${_money(recommended - before)} a month more than today's "
            f"{network.nat_gateway_count} NAT gateways and {network.interface_endpoint_count} "
            f"interface endpoints, so no network saving is counted; {priced}"
        )
    else:
        note = f"network: {design} ({where}); {priced}"
    return NetworkCosts(before=before, recommended=recommended, note=note)


# --------------------------------------------------------------------------- report


@dataclass(frozen=True)
class ServiceSavings:
    service: str
    before: Fraction
    after: Fraction

    @property
    def monthly_savings(self) -> Fraction:
        return self.before - self.after


@dataclass(frozen=True)
class SavingsReport:
    """Before and after monthly cost, the saving by lever and by service.

    ``levels`` are the running monthly totals: before, then after each category in
    :data:`CATEGORIES` order; the last one is the after total. All amounts are exact
    fractions of a dollar; :meth:`to_dict` rounds them.
    """

    pricing_source: str
    pricing_region: str
    pricing_as_of: str
    levels: Tuple[Fraction, ...]
    services: Tuple[ServiceSavings, ...]
    notes: Tuple[str, ...] = field(default_factory=tuple)
    network: Optional[NetworkCosts] = None
    currency: str = "USD"
    hours_per_month: int = HOURS_PER_MONTH

    def __post_init__(self) -> None:
        if len(self.levels) != len(CATEGORIES) + 1:
            raise ValueError(
                f"levels needs {len(CATEGORIES) + 1} running totals, got {len(self.levels)}"
            )

    @property
    def before_monthly(self) -> Fraction:
        return self.levels[0]

    @property
    def after_monthly(self) -> Fraction:
        return self.levels[-1]

    @property
    def monthly_savings(self) -> Fraction:
        return self.before_monthly - self.after_monthly

    def breakdown(self) -> Dict[str, Fraction]:
        """Unrounded saving per category; the values sum to :attr:`monthly_savings`."""
        return {
            category: self.levels[i] - self.levels[i + 1]
            for i, category in enumerate(CATEGORIES)
        }

    @property
    def percent(self) -> Decimal:
        """Saving as a percentage of the before cost, to 0.1 (0 when nothing is spent)."""
        if self.before_monthly == 0:
            return Decimal(0)
        return _round_half_up(self.monthly_savings / self.before_monthly * 100, 1)

    def to_dict(self) -> dict:
        """The documented JSON shape; money rounded to cents, percent to 0.1."""
        rounded = [_money(level) for level in self.levels]
        return {
            "currency": self.currency,
            "hoursPerMonth": self.hours_per_month,
            "pricing": {
                "source": self.pricing_source,
                "region": self.pricing_region,
                "asOf": self.pricing_as_of,
            },
            "before": {"monthly": _out(rounded[0])},
            "after": {"monthly": _out(rounded[-1])},
            "monthlySavings": _out(rounded[0] - rounded[-1]),
            "percent": _out(self.percent),
            "breakdown": [
                {"category": category, "monthly": _out(rounded[i] - rounded[i + 1])}
                for i, category in enumerate(CATEGORIES)
            ],
            "services": [
                {
                    "service": s.service,
                    "before": _out(_money(s.before)),
                    "after": _out(_money(s.after)),
                    "monthlySavings": _out(_money(s.before) - _money(s.after)),
                }
                for s in self.services
            ],
        }


def compute_savings(
    before: Mapping[str, ServiceState],
    after: Mapping[str, ServiceState],
    prices: PriceTable,
    network: Optional[NetworkState] = None,
    spot_discount: float = 0.70,
) -> SavingsReport:
    """Price ``before`` and ``after`` (keyed by service) and split the difference by lever.

    A service missing from ``after`` is taken as unchanged (skipped or failed services);
    one in ``after`` but not in ``before`` is an error, since it could not be priced before.
    ``spot_discount`` is how much cheaper Fargate Spot is than on-demand (PRICING.md: about
    70%; the Price List does not carry a reliable Spot price).
    """
    if not 0 <= spot_discount <= 1:
        raise ValueError(f"spot_discount must be between 0 and 1, got {spot_discount}")
    unknown = sorted(set(after) - set(before))
    if unknown:
        raise ValueError(f"services planned but not in the current state: {', '.join(unknown)}")
    discount = Fraction(str(spot_discount))
    levels = [Fraction(0)] * (len(CATEGORIES) + 1)
    services: List[ServiceSavings] = []
    for name in sorted(before):
        chain = lever_states(before[name], after.get(name, before[name]))
        costs = [service_monthly(state, prices, discount) for state in chain]
        for i, cost in enumerate(costs):
            levels[i] += cost
        # the network lever does not touch services: their after total is the last lever's
        levels[len(costs)] += costs[-1]
        services.append(ServiceSavings(service=name, before=costs[0], after=costs[-1]))
    notes: List[str] = []
    net: Optional[NetworkCosts] = None
    if network is not None:
        net = network_costs(network, prices)
        levels = [level + net.before for level in levels[:-1]] + [
            levels[-1] + net.after
        ]
        notes.append(net.note)
    return SavingsReport(
        pricing_source=prices.source,
        pricing_region=prices.region,
        pricing_as_of=prices.as_of,
        levels=tuple(levels),
        services=tuple(services),
        notes=tuple(notes),
        network=net,
    )


# --------------------------------------------------------------------------- rendering


def render_savings(report: SavingsReport, fmt: str = "table") -> str:
    """The report as an aligned text table, a GitHub markdown table (for a PR comment) or JSON."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of: {', '.join(FORMATS)}")
    data = report.to_dict()
    if fmt == "json":
        return json.dumps(data, indent=2)
    services = [
        [s["service"], _usd(s["before"]), _usd(s["after"]), _usd(s["monthlySavings"])]
        for s in data["services"]
    ]
    if report.network is not None:
        net = report.network
        services.append(
            [
                "network (NAT, endpoints)",
                _usd(_out(_money(net.before))),
                _usd(_out(_money(net.after))),
                _usd(_out(_money(net.before) - _money(net.after))),
            ]
        )
    services.append(
        [
            "total",
            _usd(data["before"]["monthly"]),
            _usd(data["after"]["monthly"]),
            f"{_usd(data['monthlySavings'])} ({data['percent']:.1f}%)",
        ]
    )
    breakdown = [[b["category"], _usd(b["monthly"])] for b in data["breakdown"]]
    pricing = data["pricing"]
    source = (
        f"Prices: {pricing['source']}, {pricing['region']}, as of {pricing['asOf']}; "
        f"{data['hoursPerMonth']} hours a month; {data['currency']}."
    )
    markdown = fmt == "markdown"
    table = _markdown_table if markdown else _text_table
    lines = [
        "### Estimated monthly savings" if markdown else "Estimated monthly savings",
        "",
        table(["service", "before", "after", "saving"], services),
        "",
        table(["lever", "saving"], breakdown),
        "",
        f"_{source}_" if markdown else source,
    ]
    lines += [f"- {note}" if markdown else note for note in report.notes]
    return "\n".join(lines)


def _usd(value: float) -> str:
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def _text_table(header: List[str], rows: List[List[str]]) -> str:
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]

    def line(cells: List[str]) -> str:
        # first column left-aligned (names), the money columns right-aligned
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule] + [line(r) for r in rows])


def _markdown_table(header: List[str], rows: List[List[str]]) -> str:
    def escape(cell: str) -> str:
        return cell.replace("|", "\\|")

    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join([":---"] + ["---:"] * (len(header) - 1)) + "|",
    ]
    lines += ["| " + " | ".join(escape(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
