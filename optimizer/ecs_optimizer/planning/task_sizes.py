"""Fargate task sizes: halving, the ``fixed`` policy's size, the cheapest size covering a need, and what each task must reserve."""

from __future__ import annotations

from typing import List, Optional, Tuple

from ..core import facts
from ..core.fargate import FARGATE_SIZES, all_pairs, check_size, valid_memories
from ..core.model import ServiceState
from ..core.usage import Usage
from ..pricing.prices import PRICE_TABLES, PriceTable, fargate_task_hourly

Size = Tuple[int, int]

#: The smallest (cpu, memory) the blind ``fixed`` policy cuts a tier to: the size a catalog
#: entry gets when it sets none (dev 0.25 vCPU / 0.5 GB, prod 0.5 vCPU / 1 GB). ``metrics`` may
#: go lower when the utilization shows it is safe.
FIXED_FLOOR = facts.default_task_sizes()

#: Sizing compares pairs by us-east-1 list price. Regional prices differ by a factor that is
#: nearly the same for vCPU and memory, so the cheapest covering pair is the same everywhere.
_SIZING_PRICES: PriceTable = PRICE_TABLES["us-east-1"]


def _cpus() -> List[int]:
    return sorted(FARGATE_SIZES)


def nearest_memory(cpu: int, memory: float) -> int:
    """The memory valid with ``cpu`` nearest ``memory``; a tie goes to the larger one."""
    return min(valid_memories(cpu), key=lambda m: (abs(m - memory), -m))


def halve_size(cpu: int, memory: int) -> Size:
    """The next smaller Fargate CPU and the valid memory nearest half the memory.

    The smallest CPU stays; the result is never below the smallest Fargate size (256/512).
    """
    check_size(cpu, memory, where="current task size")
    cpus = _cpus()
    new_cpu = cpus[max(0, cpus.index(cpu) - 1)]
    return new_cpu, nearest_memory(new_cpu, memory / 2)


def task_hourly(size: Size, architecture: str) -> float:
    """Hourly list price of one task of ``size`` (the price that orders sizes)."""
    return float(fargate_task_hourly(size[0], size[1], architecture, _SIZING_PRICES))


def fixed_size(reference: Size, current: Size, tier: str, architecture: str) -> Size:
    """``fixed``'s size: half of ``reference``, not below the tier floor nor above ``current``."""
    half_cpu, half_mem = halve_size(*reference)
    floor_cpu, floor_mem = FIXED_FLOOR[tier]
    cpu = max(half_cpu, floor_cpu)
    memory = nearest_memory(cpu, max(half_mem, floor_mem))
    target = (cpu, memory)
    # Anything the halving or the floor would make larger than what runs now stays as it is:
    # the blind policy only ever cuts.
    if target[0] > current[0] or target[1] > current[1]:
        if task_hourly(target, architecture) >= task_hourly(current, architecture):
            return current
        cpu = min(target[0], current[0])
        target = (cpu, nearest_memory(cpu, min(target[1], current[1])))
    return target


def cheapest_covering(cpu_need: float, memory_need: float, architecture: str) -> Optional[Size]:
    """The cheapest valid pair with cpu >= ``cpu_need`` units and memory >= ``memory_need`` MiB.

    Ties (equal price) go to the smaller CPU, then the smaller memory. None when even the
    largest Fargate size is too small.
    """
    covering = [(c, m) for c, m in all_pairs() if c >= cpu_need and m >= memory_need]
    if not covering:
        return None
    return min(covering, key=lambda s: (task_hourly(s, architecture), s[0], s[1]))


def per_task_need(current: ServiceState, usage: Usage, new_count: int, headroom: float) -> Tuple[float, float]:
    """(cpu units, MiB) each of ``new_count`` tasks must reserve to carry the observed load.

    The total need is the observed share times what the current tasks reserve in all
    (current size x current desired count, the count the percentages were averaged over);
    spread over the new count and padded by the headroom. The busiest period must also fit,
    unpadded: p95 plus headroom sizes the usual load, but a bursty service's peak hour can sit
    far above it, and a task that cannot carry its peak before the autoscaler reacts throttles.
    """
    spread = current.desired_count / new_count
    factor = spread * (1.0 + headroom)
    peak = usage.cpu_peak_pct if usage.cpu_peak_pct is not None else usage.cpu_p95_pct
    cpu = max(usage.cpu_p95_pct * factor, peak * spread) / 100.0 * current.cpu
    memory = usage.mem_peak_pct / 100.0 * current.memory * factor
    return cpu, memory


def fmt_size(size: Size) -> str:
    return f"{size[0]}/{size[1]}"
