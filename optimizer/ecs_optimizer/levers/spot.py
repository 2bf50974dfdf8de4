"""Spot: the service's capacity-provider strategy (the FARGATE_SPOT share above the on-demand
base), one field of the service update. A strategy change needs a new deployment to move the
running tasks, so its request forces one; an empty strategy returns the service to its
launch type."""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple

from ..core import facts
from ..core.changes import Resource
from ..core.model import SPOT, CapacityStrategy, ServiceState
from ..live import resources as res
from ..planning.spot_weights import spot_weights
from ..writeback.keys import SPOT_SHARE_KEY, SPOT_SHARE_RANGE
from ..writeback.setting import Setting, layer_wide, plain_number
from .base import FieldSpec, Lever, PlannedChange, SavingsStep
from .options import LeverOption
from .service_update import SERVICE_UPDATE_ACTIONS

if TYPE_CHECKING:  # pragma: no cover
    from ..live.inventory import Inventory, LiveService
    from ..writeback.applied_values import AppliedRun
    from .ports import ServicePlanView, ServiceRunView


def _is_strategy(value: Any) -> bool:
    return value is None or (
        isinstance(value, list)
        and all(isinstance(i, dict) and isinstance(i.get("capacityProvider"), str) for i in value)
    )


def _share_text(value: Any) -> str:
    return f"{float(value):g}"


#: The Spot share a non-critical service runs with, within the compute layer's range; by
#: default every task beyond the on-demand base (the range's top).
SPOT_SHARE = LeverOption(
    "spot_share",
    default=facts.spot_share_range()[1],
    low=facts.spot_share_range()[0],
    high=facts.spot_share_range()[1],
    help=f"Share of a non-critical service's tasks beyond its one on-demand base task that run on "
    f"{facts.capacity_providers()[1]} (at least {facts.spot_share_range()[0]:g}, the compute layer's range; default: all of them). "
    "A higher share already set is kept. Critical services stay on-demand.",
)


def plan_strategy(current: ServiceState, spot_share: float) -> CapacityStrategy:
    """The Spot lever's decision: the capacity-provider strategy for ``current``.

    Critical services keep theirs (on-demand). Others run one on-demand base task, so a
    Spot reclaim never takes the service to zero, and at least ``spot_share`` of the rest on
    FARGATE_SPOT; a share already higher is kept, never lowered.
    """
    if current.critical:
        return current.strategy
    share = max(Fraction(str(spot_share)), current.strategy.spot_fraction)
    if share == 0:
        return current.strategy
    on_demand, spot = spot_weights(share)
    return CapacityStrategy(base=1, on_demand_weight=on_demand, spot_weight=spot)


class Spot(Lever):
    name = "Spot"
    label = "Spot"
    iam_actions = SERVICE_UPDATE_ACTIONS
    options = (SPOT_SHARE,)
    savings_steps = (SavingsStep("spot", "Fargate Spot", ("strategy",)),)
    service_field = "capacityProviderStrategy"
    service_field_label = "capacity-provider strategy"
    journal_fields = {
        (Resource.SERVICE, "capacityProviderStrategy"): FieldSpec(
            "a capacity-provider strategy list or null", _is_strategy, "strategy", CapacityStrategy.from_aws
        )
    }

    def hold_back(
        self, before: ServiceState, after: ServiceState, live: "LiveService", inventory: "Inventory"
    ) -> Tuple[ServiceState, Optional[str]]:
        if after.strategy == before.strategy or not after.strategy.spot_weight or SPOT in inventory.capacity_providers:
            return after, None
        return after.with_changes(
            strategy=before.strategy
        ), f"capacity strategy kept: cluster has no {SPOT} capacity provider"

    def changes(self, plan: "ServicePlanView") -> List[PlannedChange]:
        value = self._value(plan)
        return [PlannedChange(Resource.SERVICE, str(self.service_field), *value)] if value else []

    @staticmethod
    def _value(plan: "ServicePlanView") -> Optional[Tuple[Any, Any]]:
        live, wanted = plan.live.strategy_items, plan.strategy_items()
        return (live, wanted) if live != wanted else None

    def service_value(self, run: "ServiceRunView") -> Optional[Tuple[Any, Any]]:
        return self._value(run.plan)

    def service_request(self, value: Any) -> Dict[str, Any]:
        return {str(self.service_field): value or [], "forceNewDeployment": True}

    def normalize(self, value: Any) -> Any:
        return res.normalize_strategy(value)

    def shown(self, field: str, value: Any) -> Optional[str]:
        """A strategy as ``FARGATE base 1 weight 1, FARGATE_SPOT weight 3``."""
        if not isinstance(value, list):
            return None
        return ", ".join(
            f"{i.get('capacityProvider')}"
            + (f" base {i['base']}" if i.get("base") else "")
            + f" weight {i.get('weight', 0)}"
            for i in value
        )

    def applied(
        self, before: ServiceState, after: ServiceState, thresholds: Mapping[str, float], baseline: Tuple[int, int]
    ) -> Dict[str, Any]:
        moved = after.strategy != before.strategy and not after.critical and after.strategy.spot_weight
        return {"spot_share": after.strategy.spot_fraction if moved else None}

    def settings(self, run: "AppliedRun", notes: List[str]) -> List[Setting]:
        changed = {n: s.spot_share for n, s in run.services.items() if s.spot_share is not None}
        others = {n: st.strategy.spot_fraction for n, st in run.final.items() if not st.critical and n not in changed}
        share = layer_wide(SPOT_SHARE_KEY, "Spot shares", changed, others, _share_text, notes)
        if share is None:
            return []
        low, high = SPOT_SHARE_RANGE
        if not low <= share <= high:
            notes.append(
                f"{SPOT_SHARE_KEY} not written: {_share_text(share)} is outside the compute layer's range "
                f"{_share_text(low)}-{_share_text(high)}"
            )
            return []
        return [Setting("compute", (SPOT_SHARE_KEY,), plain_number(share))]
