"""The basis of a service's cpu-high / memory-high thresholds: the task size they were set for.

Without a target-tracking policy on the metric, a threshold keeps the same absolute spare
capacity when the task size changes (:func:`alarm_thresholds.alarm_threshold`,
``100 - (100 - old) x old size / new size``). That rule needs the size the old threshold was
set for, and the live size is not it once a run has resized the task but was stopped (a
kill, a lost host) before it retuned the alarms: a re-run would compare the threshold with
the size already cut and keep it. So the threshold is always derived from one basis, the
size and thresholds the service had before the optimizer first resized it:

* a revision the optimizer registers records the basis in two tags, the size
  (``ecs-optimizer:alarm-basis-size``, ``CPU/MiB``) and the thresholds
  (``ecs-optimizer:alarm-basis-thresholds``, ``cpuHigh=80,memoryHigh=80``); the
  registration comes before every other write of the service, so no interrupted run can
  leave a resized service without it;
* a later revision the optimizer registers carries the same basis forward;
* a service running a revision without the tags (the stacks', or one deployed with
  ``pulumi up`` after a write-back) takes its basis from what runs now: the live size and the
  live thresholds, which the stacks declared together.

Every run then computes the same threshold for the same planned size, wherever an earlier
run stopped, and a finished run's thresholds come out unchanged. Reading the basis costs no
call: the inventory describes each live revision with its tags.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence

from .alarm_thresholds import CPU_HIGH, MEMORY_HIGH

SIZE_TAG = "ecs-optimizer:alarm-basis-size"
THRESHOLDS_TAG = "ecs-optimizer:alarm-basis-thresholds"
BASIS_TAGS = (SIZE_TAG, THRESHOLDS_TAG)
#: The alarm kinds whose thresholds follow the task size.
SIZED_KINDS = (CPU_HIGH, MEMORY_HIGH)


@dataclass(frozen=True)
class AlarmBasis:
    """The size (CPU units, MiB) the thresholds were set for, and those thresholds by kind."""

    cpu: int
    memory: int
    thresholds: Mapping[str, float]

    def threshold(self, kind: str, live_threshold: float) -> float:
        """The threshold an alarm of ``kind`` had at the basis size: the recorded one, or the
        live one for an alarm the basis does not list (another kind, or one added since)."""
        return float(self.thresholds.get(kind, live_threshold))

    def tags(self) -> List[Dict[str, str]]:
        """The basis as the revision tags that record it."""
        thresholds = ",".join(f"{k}={_number(v)}" for k, v in sorted(self.thresholds.items()))
        return [
            {"key": SIZE_TAG, "value": f"{self.cpu}/{self.memory}"},
            {"key": THRESHOLDS_TAG, "value": thresholds},
        ]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _tag(tags: Sequence[Mapping[str, str]], key: str) -> Optional[str]:
    return next((str(t.get("value")) for t in tags if t.get("key") == key), None)


def recorded_basis(tags: Sequence[Mapping[str, str]]) -> Optional[AlarmBasis]:
    """The basis a revision's tags record; None when they record none (or none readable:
    then the live state is the basis, as for a revision the optimizer did not register)."""
    size, thresholds = _tag(tags, SIZE_TAG), _tag(tags, THRESHOLDS_TAG)
    if size is None or thresholds is None:
        return None
    try:
        cpu, memory = (int(part) for part in size.split("/"))
        values = {}
        for item in filter(None, thresholds.split(",")):
            kind, value = item.split("=", 1)
            if kind in SIZED_KINDS:
                values[kind] = float(value)
    except ValueError:
        return None
    return AlarmBasis(cpu, memory, values)


def alarm_basis(
    task_definition: Mapping[str, object], tags: Sequence[Mapping[str, str]], alarms: Mapping[str, Mapping[str, object]]
) -> AlarmBasis:
    """The basis of a live service: the one its revision records, else its live size and
    its live cpu-high / memory-high thresholds."""
    recorded = recorded_basis(tags)
    if recorded is not None:
        return recorded
    live = {
        kind: float(alarm["Threshold"])  # type: ignore[arg-type]
        for kind, alarm in alarms.items()
        if kind in SIZED_KINDS and alarm.get("Threshold") is not None
    }
    return AlarmBasis(int(str(task_definition["cpu"])), int(str(task_definition["memory"])), live)


def with_basis(tags: Sequence[Mapping[str, str]], basis: AlarmBasis) -> List[Dict[str, str]]:
    """``tags`` with the basis tags set to ``basis`` (what a new revision is registered with)."""
    return [dict(t) for t in tags if t.get("key") not in BASIS_TAGS] + basis.tags()
