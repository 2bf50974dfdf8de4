"""Monthly cost of one service or of the network, and the states the savings levers are priced
at, one lever after another (see :mod:`savings`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import List, Sequence, Tuple

from ..core.model import NetworkState, ServiceState
from ..levers import registry
from ..network.lever import REQUIRED_INTERFACE_ENDPOINTS, MigrationStep, migration_plan
from .components import (
    Component,
    network_components,
    network_state_components,
    service_components,
    total,
)
from .prices import PriceTable

#: Interface endpoints the recommended network design adds so that image pulls, logs,
#: secrets and parameters stop flowing through NAT (S3, for image layers, is a free gateway
#: endpoint and costs nothing either way).
RECOMMENDED_INTERFACE_ENDPOINTS = REQUIRED_INTERFACE_ENDPOINTS


def round_half_up(value: Fraction, places: int) -> Decimal:
    """``value`` rounded half away from zero to ``places`` decimals, exactly."""
    scale = 10**places
    magnitude = (abs(value) * scale + Fraction(1, 2)).__floor__()
    sign = -1 if value < 0 else 1
    return Decimal(sign * magnitude).scaleb(-places)


def money(value: Fraction) -> Decimal:
    """An exact amount rounded to the cent."""
    return round_half_up(value, 2)


def apportion_cents(values: Sequence[Fraction], total: Decimal) -> List[Decimal]:
    """``values`` (exact dollars) in whole cents that add up to ``total`` (a cent amount):
    the largest-remainder method. Each value is first rounded down to the cent; the cents
    the floors leave over (or take too many) go, one each, to the values with the largest
    (or smallest) remainders. A value that is exactly zero stays zero, so a lever that
    changes nothing never shows a cent."""
    exact = [v * 100 for v in values]
    floors = [math.floor(v) for v in exact]
    rest = int(total * 100) - sum(floors)
    movable = [i for i, v in enumerate(exact) if v != 0]
    if rest and not movable:
        raise ValueError(f"cannot split {total} over values that are all zero")
    if rest > 0:
        order = sorted(movable, key=lambda i: (-(exact[i] - floors[i]), i))
    else:
        order = sorted(movable, key=lambda i: (exact[i] - floors[i], i))
    step = 1 if rest > 0 else -1
    for k in range(abs(rest)):
        floors[order[k % len(order)]] += step
    return [Decimal(c).scaleb(-2) for c in floors]


def service_monthly(state: ServiceState, prices: PriceTable, spot_discount: Fraction) -> Fraction:
    """The exact sum of ``state``'s billed components (:mod:`components`)."""
    return total(service_components(state, prices, spot_discount))


def lever_states(before: ServiceState, after: ServiceState) -> List[ServiceState]:
    """``before``, then ``before`` with each savings step of the levers (their fields of
    ``after``) applied in turn (:func:`levers.registry.savings_steps`).

    The last state prices exactly like ``after``.
    """
    states = [before]
    for step in registry.savings_steps():
        states.append(states[-1].with_changes(**{name: getattr(after, name) for name in step.fields}))
    return states


@dataclass(frozen=True)
class NetworkCosts:
    before_components: Tuple[Component, ...]
    recommended_components: Tuple[Component, ...]
    note: str
    steps: Tuple[MigrationStep, ...] = ()

    @property
    def before(self) -> Fraction:
        return total(self.before_components)

    @property
    def recommended(self) -> Fraction:
        return total(self.recommended_components)

    @property
    def adopted(self) -> bool:
        """Whether the recommendation is counted (it is unless it costs more than today)."""
        return self.recommended <= self.before

    @property
    def saving(self) -> Fraction:
        """What adopting the recommendation saves; zero (never negative) if it costs more."""
        return max(Fraction(0), self.before - self.recommended)

    @property
    def after(self) -> Fraction:
        """Counted after-cost: the recommended design's, or today's when that is cheaper."""
        return self.before - self.saving

    @property
    def after_components(self) -> Tuple[Component, ...]:
        return self.recommended_components if self.adopted else self.before_components


def network_costs(network: NetworkState, prices: PriceTable) -> NetworkCosts:
    """Monthly egress charges of the current design against the recommended one.

    Recommended: one NAT gateway instead of one per AZ, and interface endpoints for
    :data:`RECOMMENDED_INTERFACE_ENDPOINTS` in every AZ so AWS-bound traffic skips NAT. It
    is applied by the network layer (``natStrategy`` and ``interfaceEndpoints``), not by the
    optimizer: the saving shows what that change is worth, and :attr:`NetworkCosts.steps`
    the order to make it in. Existing endpoints are assumed to be among the recommended
    ones. AWS-bound traffic is priced at the NAT gateway's per-GB processing charge while
    there are no interface endpoints and at the endpoints' per-GB charge after; internet-bound
    traffic stays on NAT. Without traffic figures the result is a floor.
    """
    aws_gb = Fraction(str(network.aws_traffic_gb_month))
    internet_gb = Fraction(str(network.internet_traffic_gb_month))
    before = network_state_components(network, prices)
    endpoints_after = max(network.interface_endpoint_count, len(RECOMMENDED_INTERFACE_ENDPOINTS))
    nat_after = min(network.nat_gateway_count, 1)
    recommended = network_components(
        nat_after, endpoints_after, network.availability_zones, aws_gb, internet_gb, prices
    )
    design = f"{nat_after} NAT gateway and {endpoints_after} interface endpoints in {network.availability_zones} AZs"
    where = "the network layer's natStrategy set to single; a recommendation, not a live change"
    if aws_gb or internet_gb:
        priced = (
            f"{float(aws_gb):,.1f} GB a month of AWS-bound and {float(internet_gb):,.1f} GB of "
            "internet-bound traffic included"
        )
        if network.traffic_source:
            priced += f" ({network.traffic_source})"
    else:
        priced = "hourly charges only: pass the AWS-bound traffic to price NAT data processing"
    if total(recommended) > total(before):
        note = (
            f"network: the recommended design ({design}; {where}) costs "
            f"${money(total(recommended) - total(before))} a month more than today's "
            f"{network.nat_gateway_count} NAT gateways and {network.interface_endpoint_count} "
            f"interface endpoints, so no network saving is counted; {priced}"
        )
        steps: Tuple[MigrationStep, ...] = ()
    else:
        note = f"network: {design} ({where}); {priced}"
        steps = tuple(migration_plan(network.nat_gateway_count, network.interface_endpoints, nat_after))
    return NetworkCosts(tuple(before), tuple(recommended), note, steps)
