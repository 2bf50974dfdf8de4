"""The network layer's outputs as the savings report's network inputs (NAT gateways, Availability
Zones, VPC endpoints)."""

from __future__ import annotations

from typing import Any

from ..core import facts
from ..core.errors import BadInput
from ..core.model import NetworkState
from ..live.targets import require_keys

#: Endpoint services AWS offers as (free) gateway endpoints; the rest are interface endpoints.
GATEWAY_ENDPOINT_SERVICES = facts.gateway_endpoint_services()


def network_state(data: Any, where: str, aws_traffic_gb_month: float = 0.0) -> NetworkState:
    """The network layer's outputs (natGatewayCount, availabilityZones, vpcEndpoints) as a
    NetworkState; ``where`` names the source in errors."""
    require_keys(data, {"natGatewayCount": int}, where)
    azs = data.get("availabilityZones")
    endpoints = data.get("vpcEndpoints") or {}
    if not isinstance(azs, list) or not azs:
        raise BadInput(f"{where}: availabilityZones: expected a non-empty list")
    if not isinstance(endpoints, dict):
        raise BadInput(f"{where}: vpcEndpoints: expected an object of service -> endpoint id")
    if aws_traffic_gb_month < 0:
        raise BadInput(f"{where}: AWS-bound traffic must not be negative, got {aws_traffic_gb_month}")
    gateway = sum(1 for name in endpoints if name in GATEWAY_ENDPOINT_SERVICES)
    return NetworkState(
        nat_gateway_count=data["natGatewayCount"],
        availability_zones=len(azs),
        interface_endpoint_count=len(endpoints) - gateway,
        gateway_endpoint_count=gateway,
        aws_traffic_gb_month=aws_traffic_gb_month,
        interface_endpoints=tuple(sorted(n for n in endpoints if n not in GATEWAY_ENDPOINT_SERVICES)),
        traffic_source="given: --aws-traffic-gb" if aws_traffic_gb_month else "",
    )
