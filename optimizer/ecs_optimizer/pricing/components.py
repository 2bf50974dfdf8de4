"""Monthly cost as quantity x unit price, per billed component: what the savings model sums.

A service's month is its on-demand and Spot vCPU-hours and GB-hours plus the GB-months its
images occupy in ECR; the network's is NAT gateway hours and data processing plus interface
endpoint hours and data processing. Each :class:`Component` is one line of that bill, so a
reader can check every figure by hand, and the savings model prices a state as the exact sum
of its components (one formula, no second path that could disagree).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Iterable, List

from ..core.model import NetworkState, ServiceState
from .prices import HOURS_PER_MONTH, PriceTable

_HOURS = Fraction(HOURS_PER_MONTH)
_BYTES_PER_GB = 1024**3
_UNITS_PER_VCPU = 1024
_MIB_PER_GB = 1024


@dataclass(frozen=True)
class Component:
    """One billed line: ``quantity`` ``unit`` a month at ``unit_price`` dollars each."""

    scope: str  # a service's catalog name, or "network"
    item: str
    unit: str
    quantity: Fraction
    unit_price: Fraction

    @property
    def monthly(self) -> Fraction:
        return self.quantity * self.unit_price


def service_components(state: ServiceState, prices: PriceTable, spot_discount: Fraction) -> List[Component]:
    """The Fargate and ECR lines of ``state`` for a month (zero-quantity lines left out)."""
    vcpu_rate, gb_rate = (Fraction(r) for r in prices.fargate_rates(state.architecture))
    spot_tasks = state.strategy.spot_task_fraction(state.desired_count)
    on_demand_tasks = state.desired_count - spot_tasks
    vcpu = Fraction(state.cpu, _UNITS_PER_VCPU)
    gb = Fraction(state.memory, _MIB_PER_GB)
    arch = state.architecture
    spot = 1 - spot_discount
    lines = [
        Component(
            state.service, f"Fargate vCPU, on-demand, {arch}", "vCPU-hour", on_demand_tasks * vcpu * _HOURS, vcpu_rate
        ),
        Component(
            state.service, f"Fargate memory, on-demand, {arch}", "GB-hour", on_demand_tasks * gb * _HOURS, gb_rate
        ),
        Component(
            state.service, f"Fargate vCPU, Spot, {arch}", "vCPU-hour", spot_tasks * vcpu * _HOURS, vcpu_rate * spot
        ),
        Component(state.service, f"Fargate memory, Spot, {arch}", "GB-hour", spot_tasks * gb * _HOURS, gb_rate * spot),
    ]
    kept = state.ecr_image_bytes
    if state.ecr_keep_images is not None:
        kept = kept[: state.ecr_keep_images]
    lines.append(
        Component(
            state.service,
            "ECR image storage",
            "GB-month",
            Fraction(sum(kept), _BYTES_PER_GB),
            Fraction(prices.ecr_gb_month),
        )
    )
    return [line for line in lines if line.quantity]


def network_components(
    nat_gateways: int,
    interface_endpoints: int,
    availability_zones: int,
    aws_gb: Fraction,
    internet_gb: Fraction,
    prices: PriceTable,
) -> List[Component]:
    """NAT and interface-endpoint lines of a network design for a month.

    AWS-bound traffic goes through the interface endpoints when there are any, else through
    NAT; internet-bound traffic always goes through NAT.
    """
    nat_gb = Fraction(prices.nat_gateway_gb)
    endpoint_gb = Fraction(prices.interface_endpoint_gb)
    via_endpoints = interface_endpoints > 0 or nat_gateways == 0
    lines = [
        Component("network", "NAT gateway", "gateway-hour", nat_gateways * _HOURS, Fraction(prices.nat_gateway_hour)),
        Component(
            "network", "NAT data processing, internet-bound", "GB", internet_gb if nat_gateways else Fraction(0), nat_gb
        ),
        Component("network", "NAT data processing, AWS-bound", "GB", Fraction(0) if via_endpoints else aws_gb, nat_gb),
        Component(
            "network",
            "interface endpoint",
            "endpoint-AZ-hour",
            interface_endpoints * availability_zones * _HOURS,
            Fraction(prices.interface_endpoint_az_hour),
        ),
        Component(
            "network", "interface endpoint data processing", "GB", aws_gb if via_endpoints else Fraction(0), endpoint_gb
        ),
    ]
    return [line for line in lines if line.quantity]


def network_state_components(network: NetworkState, prices: PriceTable) -> List[Component]:
    """Today's network design, from the network layer's outputs and the measured traffic."""
    return network_components(
        network.nat_gateway_count,
        network.interface_endpoint_count,
        network.availability_zones,
        Fraction(str(network.aws_traffic_gb_month)),
        Fraction(str(network.internet_traffic_gb_month)),
        prices,
    )


def total(components: Iterable[Component]) -> Fraction:
    return sum((c.monthly for c in components), Fraction(0))
