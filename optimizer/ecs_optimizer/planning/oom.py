"""OOM evidence: a service whose tasks were killed for memory is under-provisioned.

What counts (decided once, in :mod:`ecs_optimizer.live.task_stops`): a stop in the lookback
window, not excluded (deployments, scale-in, Spot interruptions, Fargate retirement and
manual stops say nothing about the size), with a container stopped for memory
(``OutOfMemoryError`` in its reason, or exit code 137 with a reason naming memory).

The rule, applied by :func:`sizing.plan_service` after every policy's result, so it wins
over every cut (``fixed`` included) and over "not enough history":

* memory never shrinks: the planned memory is at least today's;
* it grows to at least :data:`OOM_GROWTH` x the peak the service reached, where the peak is
  the higher of the memory the metrics show per task (their peak share of today's task
  memory, spread over the planned count as sizing spreads it) and, when the killed task was
  at its limit, that limit: a task killed at its limit used all of it, whatever the
  metric's one-minute samples caught. A container with a hard memory limit of its own below
  the task's was killed at that limit, not the task's; the task's memory still never
  shrinks, and the reason says to raise the container's limit;
* the size is the cheapest valid Fargate pair with at least the planned CPU and that
  memory: the next valid pair, never one with less CPU.

A factor of 1.2 after an OOM is the Kubernetes Vertical Pod Autoscaler's. The growth is a
cost, stated beside the savings rather than netted into them: :func:`growth_cost` prices the
memory the rule adds and :func:`growth_note` says it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from ..core.fargate import all_pairs
from ..core.model import ServiceState
from ..core.usage import Usage
from ..live.task_stops import TaskStop
from ..pricing.costs import money, service_monthly
from ..pricing.prices import PriceTable
from .task_sizes import Size, fmt_size, task_hourly

#: Memory after an OOM: at least this many times the peak the service reached.
OOM_GROWTH = 1.2


@dataclass(frozen=True)
class OomEvidence:
    """The OOM stops of one service in the lookback, oldest first."""

    stops: Tuple[TaskStop, ...]
    #: Containers killed at a hard memory limit of their own (name -> MiB), below the task's.
    container_limits: Tuple[Tuple[str, int], ...] = ()

    @property
    def count(self) -> int:
        return len(self.stops)

    @property
    def last(self) -> TaskStop:
        return self.stops[-1]

    @property
    def containers(self) -> Tuple[str, ...]:
        """The containers killed for memory, in order of first appearance."""
        names: List[str] = []
        for stop in self.stops:
            names += [c.name for c in stop.oom_containers if c.name not in names]
        return tuple(names)

    @property
    def killed_at_limit_mib(self) -> Optional[int]:
        """The highest task memory a stop was killed at, counting only tasks whose killed
        containers had no hard limit of their own below the task's (those were at the task's
        limit); None when no such stop states its memory."""
        limited = {name for name, _ in self.container_limits}
        sizes = [
            s.memory_mib
            for s in self.stops
            if s.memory_mib is not None and any(c.name not in limited for c in s.oom_containers)
        ]
        return max(sizes) if sizes else None

    def text(self) -> str:
        """What the report and the log say: count, last time, containers and reason."""
        last = self.last
        when = last.stopped_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        killed = last.oom_containers
        reason = killed[0].reason or last.stopped_reason if killed else last.stopped_reason
        stops = "1 OOM stop" if self.count == 1 else f"{self.count} OOM stops"
        return f"{stops} in the lookback, last at {when} (container {', '.join(self.containers)}: {reason})"


def container_hard_limits(task_definition: Mapping[str, Any]) -> Dict[str, int]:
    """Container name -> its hard memory limit (MiB) where the task definition sets one."""
    out: Dict[str, int] = {}
    for container in task_definition.get("containerDefinitions") or []:
        if isinstance(container, Mapping) and isinstance(container.get("memory"), int):
            out[str(container.get("name"))] = int(container["memory"])
    return out


def oom_evidence(stops: Iterable[TaskStop], task_definition: Mapping[str, Any]) -> Optional[OomEvidence]:
    """The stops that count as OOM evidence (:attr:`TaskStop.is_oom`), with the containers
    killed at a hard limit of their own below the task's memory; None when none counts."""
    counted = tuple(sorted((s for s in stops if s.is_oom), key=lambda s: (s.stopped_at, s.task_arn)))
    if not counted:
        return None
    limits = container_hard_limits(task_definition)
    own = sorted(
        {
            (c.name, limits[c.name])
            for s in counted
            for c in s.oom_containers
            if c.name in limits and s.memory_mib is not None and limits[c.name] < s.memory_mib
        }
    )
    return OomEvidence(counted, tuple(own))


def observed_peak_mib(current: ServiceState, usage: Optional[Usage], new_count: int) -> Optional[float]:
    """The peak memory per task the metrics show, spread over ``new_count`` tasks as sizing
    spreads the need (None without metrics)."""
    if usage is None:
        return None
    spread = current.desired_count / new_count if current.desired_count > 0 and new_count > 0 else 1.0
    return usage.mem_peak_pct / 100.0 * current.memory * max(1.0, spread)


def memory_floor(current: ServiceState, usage: Optional[Usage], new_count: int, evidence: OomEvidence) -> float:
    """MiB each task needs after the OOM stops: :data:`OOM_GROWTH` x the peak (the metrics'
    and, for a task killed at its limit, that limit), never below today's memory."""
    peaks = [p for p in (observed_peak_mib(current, usage, new_count), evidence.killed_at_limit_mib) if p is not None]
    if not peaks:
        # No metric and no stated size: the killed task ran at today's size, at its limit.
        peaks = [float(current.memory)]
    return max(float(current.memory), OOM_GROWTH * max(peaks))


def grown_size(planned: Size, floor_mib: float, architecture: str) -> Optional[Size]:
    """The cheapest valid pair with at least the planned CPU and ``floor_mib`` MiB; None when
    no Fargate size has that much memory."""
    covering = [(c, m) for c, m in all_pairs() if c >= planned[0] and m >= floor_mib]
    if not covering:
        return None
    return min(covering, key=lambda s: (task_hourly(s, architecture), s[0], s[1]))


def apply_oom_rule(
    current: ServiceState,
    planned: Size,
    new_count: int,
    usage: Optional[Usage],
    evidence: OomEvidence,
    notes: List[str],
) -> Size:
    """The planned size with the OOM rule applied (see the module docstring); the reason
    that names the stops goes first in ``notes``."""
    floor = memory_floor(current, usage, new_count, evidence)
    peak = observed_peak_mib(current, usage, new_count)
    basis = []
    if peak is not None:
        basis.append(f"metrics peak {peak:.0f} MiB per task")
    if evidence.killed_at_limit_mib is not None:
        basis.append(f"killed at its limit of {evidence.killed_at_limit_mib} MiB")
    why = f"under-provisioned: {evidence.text()}"
    if planned[1] >= floor:
        notes.insert(
            0, f"{why}; memory kept at or above {OOM_GROWTH:g} x the peak ({', '.join(basis) or 'no metrics'})"
        )
        return planned
    size = grown_size(planned, floor, current.architecture)
    if size is None:
        largest = max(m for _, m in all_pairs())
        notes.insert(
            0,
            f"{why}; needs {floor:.0f} MiB per task, more than the largest Fargate size ({largest} MiB): "
            f"memory kept at {planned[1]} MiB; raise the task count or split the service",
        )
        return planned
    notes.insert(
        0,
        f"{why}; memory grows {current.memory} -> {size[1]} MiB per task (task size "
        f"{fmt_size((current.cpu, current.memory))} -> {fmt_size(size)}): at least {OOM_GROWTH:g} x the peak "
        f"({', '.join(basis) or 'no metrics'}) = {floor:.0f} MiB, at the next valid Fargate pair",
    )
    for name, limit in evidence.container_limits:
        notes.insert(
            1,
            f"container {name} was killed at its own hard memory limit of {limit} MiB: raise that limit in "
            "the task definition; the task size alone does not",
        )
    return size


def growth_cost(before: ServiceState, after: ServiceState, prices: PriceTable, spot_discount: Fraction) -> Fraction:
    """What the memory growth adds to the service's monthly cost: ``after`` priced with its
    own memory and with the memory it had (its other changes priced alike in both)."""
    if after.memory <= before.memory:
        return Fraction(0)
    return service_monthly(after, prices, spot_discount) - service_monthly(
        after.with_changes(memory=before.memory), prices, spot_discount
    )


def growth_note(service: str, evidence: OomEvidence, before: ServiceState, after: ServiceState, cost: Fraction) -> str:
    """The savings report's line for one grown service."""
    stops = "1 OOM stop" if evidence.count == 1 else f"{evidence.count} OOM stops"
    return (
        f"{service}: memory grows {before.memory} -> {after.memory} MiB per task after {stops} in the "
        f"lookback: costs ${money(cost):,.2f} a month more (a cost, not netted into the saving)"
    )
