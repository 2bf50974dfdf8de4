"""Plain data shared by the optimizer engine, the sizing policies and the savings model."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from fractions import Fraction
from typing import List, Optional, Tuple

from . import facts
from .fargate import X86_64

ON_DEMAND, SPOT = facts.capacity_providers()


class TextEnum(str, Enum):
    """An enum whose members read as their values in text, f-strings and JSON."""

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


class Status(TextEnum):
    """A service's status in a run's report (its JSON value is the lower-case name)."""

    PLANNED = "planned"
    APPLIED = "applied"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"


@dataclass(frozen=True)
class CapacityStrategy:
    """An ECS capacity-provider strategy reduced to what cost depends on.

    ``base`` tasks run on FARGATE; the rest split by weight. ``spot_weight`` 0 means on-demand only.
    """

    base: int = 0
    on_demand_weight: int = 1
    spot_weight: int = 0

    @property
    def spot_share(self) -> float:
        """Share of the tasks beyond the base that run on Spot."""
        return float(self.spot_fraction)

    @property
    def spot_fraction(self) -> Fraction:
        """``spot_share`` exactly, so shares compare and money adds up without float error."""
        total = self.on_demand_weight + self.spot_weight
        return Fraction(self.spot_weight, total) if total else Fraction(0)

    def spot_tasks(self, desired: int) -> float:
        """Expected number of Spot tasks for ``desired`` tasks (weights split what the base leaves)."""
        return float(self.spot_task_fraction(desired))

    def spot_task_fraction(self, desired: int) -> Fraction:
        """``spot_tasks`` as an exact fraction."""
        return max(0, desired - self.base) * self.spot_fraction

    def to_aws(self) -> List[dict]:
        """The ``capacityProviderStrategy`` list ECS takes."""
        items = [{"capacityProvider": ON_DEMAND, "base": self.base, "weight": self.on_demand_weight}]
        if self.spot_weight:
            items.append({"capacityProvider": SPOT, "base": 0, "weight": self.spot_weight})
        return items

    @classmethod
    def from_aws(cls, items: Optional[List[dict]]) -> "CapacityStrategy":
        """Read ECS's strategy list; an absent strategy (launch type FARGATE) is on-demand only."""
        if not items:
            return cls(base=0, on_demand_weight=1, spot_weight=0)
        base = od = spot = 0
        for item in items:
            if item.get("capacityProvider") == SPOT:
                spot += int(item.get("weight", 0))
                base += int(item.get("base", 0))
            else:
                od += int(item.get("weight", 0))
                base += int(item.get("base", 0))
        return cls(base=base, on_demand_weight=od, spot_weight=spot)


@dataclass(frozen=True)
class ServiceState:
    """One service's cost-relevant state, before or after optimizing."""

    service: str  # catalog name, e.g. "frontend"
    cpu: int  # CPU units
    memory: int  # MiB
    desired_count: int
    min_capacity: int
    max_capacity: int
    critical: bool = True
    architecture: str = X86_64  # or ARM64
    strategy: CapacityStrategy = field(default_factory=CapacityStrategy)
    ecr_keep_images: Optional[int] = None  # lifecycle "keep last N"; None when there is no rule
    ecr_image_bytes: tuple = ()  # sizes of the repository's images, newest first

    def with_changes(self, **changes) -> "ServiceState":
        return replace(self, **changes)


@dataclass(frozen=True)
class NetworkState:
    """What the network layer's outputs say about egress cost."""

    nat_gateway_count: int
    availability_zones: int
    interface_endpoint_count: int
    gateway_endpoint_count: int = 0
    #: GB a month of AWS-bound traffic (ECR, logs, Secrets Manager, SSM) through the VPC's egress
    #: today; 0 when unknown, which prices hourly charges only.
    aws_traffic_gb_month: float = 0.0
    #: GB a month of other (internet-bound) traffic the NAT gateways process; it stays on NAT.
    internet_traffic_gb_month: float = 0.0
    #: Names of the interface endpoints configured today (e.g. ``ecr.api``), when known.
    interface_endpoints: Tuple[str, ...] = ()
    #: Where the traffic figures came from, for the report.
    traffic_source: str = ""
