"""Small helpers shared by the test modules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

from ecs_optimizer.live import aws as aws_mod
from plan_snapshots import FLEET

#: Fast waits for the patched moto (deployments settle at once).
FAST = ["--wait-timeout", "5", "--poll-interval", "0.01"]

#: Seed the plan's fleet as it was before any Spot share (the case the Spot lever changes;
#: the plan runs its non-critical services on Spot already).
ON_DEMAND_FLEET = pytest.mark.parametrize("fleet", [FLEET.on_demand()], ids=["on-demand"])


#: Alarm fields a threshold update changes (the threshold, and the state and timestamps CloudWatch
#: sets on every PutMetricAlarm); every other field must come back as it was.
ALARM_VOLATILE_FIELDS = frozenset(
    {
        "Threshold",
        "AlarmConfigurationUpdatedTimestamp",
        "StateUpdatedTimestamp",
        "StateValue",
        "StateReason",
        "StateReasonData",
        "StateTransitionedTimestamp",
    }
)


def write_json(path: Path, data: Any) -> str:
    path.write_text(json.dumps(data, indent=2))
    return str(path)


def mutating(ctxs: List[aws_mod.AwsContext]) -> Dict[str, int]:
    """Mutating calls per IAM action across every context a test opened."""
    total: Dict[str, int] = {}
    for ctx in ctxs:
        for op, n in ctx.recorder.mutating().items():
            total[op] = total.get(op, 0) + n
    return total
