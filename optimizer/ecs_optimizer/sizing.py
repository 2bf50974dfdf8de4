"""What each service should become: task size, counts, Spot share, ECR retention, alarm thresholds.

Everything here is pure: no AWS calls, no clock. The engine reads the live state and the
CloudWatch series, calls :func:`plan_service` once per service and applies the difference.

Policies (docs/architecture.md, "The optimizer"):

``fixed``
    The documented baseline cut, applied without looking at utilization. Size: halve to the
    next smaller Fargate CPU and the valid memory nearest half the memory (dev 512/1024 ->
    256/512, prod 1024/2048 -> 512/1024), never below the tier's optimized size
    (:data:`FIXED_FLOOR`). Counts: the autoscaling minimum goes to 1 and the desired count to
    one task above it (3 -> 2, min 2 -> 1), never raising either; the maximum is kept so the
    autoscaler can still absorb a burst. These are targets rather than "minus one" steps so
    that a second run finds the service at its target and changes nothing.
``metrics``
    Size from observed use: the service's total need (p95 CPU and peak memory, as a share of
    the current reservation, times the current size and count) is spread over the new count,
    padded by the headroom, and the cheapest valid Fargate pair that covers it is chosen,
    which may be larger than today's when the service is under-sized. The new count is
    ``fixed``'s target, or today's count when fewer, larger tasks would cost more (Fargate
    sizes are coarse: 2 vCPU starts at 4 GB). Services with less history than
    ``min_history_days`` are skipped.
``auto``
    ``metrics`` where the history is long enough, ``fixed`` elsewhere; when there is some
    history, ``fixed`` is raised to cover what it shows, so a blind cut never goes below
    observed need (short history may stop a cut, never grow a service).

Under every policy non-critical services get a FARGATE_SPOT share of at least
``spot_share`` behind one on-demand base task, critical services keep their strategy, and
ECR retention drops to ``keep_images`` (never rises).

Idempotence: a planned state is a fixed point of the same policy. Counts, Spot weights and
retention are targets; metrics sizing depends only on the total need, which does not change
when the same need is re-expressed against the new size (:func:`rescale_usage`). The one
step that is relative by nature, ``fixed``'s halving, is anchored with ``baseline`` (the
declared, pre-optimization state) when the caller has it; without it a second run on a
service larger than the tier's optimized size halves it again, down to :data:`FIXED_FLOOR`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import List, Optional, Sequence, Tuple

from .fargate import FARGATE_SIZES, all_pairs, check_size, valid_memories
from .model import CapacityStrategy, ServiceState
from .pricing import PRICE_TABLES, PriceTable, fargate_task_hourly

POLICIES = ("fixed", "metrics", "auto")
TIERS = ("dev", "prod")
ALARM_KINDS = ("cpuHigh", "memoryHigh", "runningTasksLow", "unhealthyHosts", "http5xx")

#: The smallest (cpu, memory) the blind ``fixed`` policy cuts a tier to: the documented
#: optimized sizes. Production is not cut below 0.5 vCPU / 1 GB without evidence; ``metrics``
#: may go lower when the utilization shows it is safe.
FIXED_FLOOR = {"dev": (256, 512), "prod": (512, 1024)}

#: The autoscaling minimum ``fixed`` targets; the desired count targets one more.
FIXED_MIN_CAPACITY = 1

#: Alarm thresholds recomputed for a new task size stay inside this band (percent): below 50
#: an alarm would fire on ordinary load, above 95 it would fire too late to act on.
ALARM_THRESHOLD_BAND = (50.0, 95.0)

#: Percentage points a cpu-high / memory-high alarm sits above the service's autoscaling
#: target-tracking value for the same metric. Autoscaling holds the metric at its target, so an
#: alarm at or below it would fire whenever the service is simply busy; 10 points above, it
#: fires when autoscaling can no longer hold the target (at its maximum, or scaling too slowly).
ALARM_TARGET_MARGIN = 10.0

#: Sizing compares pairs by us-east-1 list price. Regional prices differ by a factor that is
#: nearly the same for vCPU and memory, so the cheapest covering pair is the same everywhere.
_SIZING_PRICES: PriceTable = PRICE_TABLES["us-east-1"]

Size = Tuple[int, int]


@dataclass(frozen=True)
class Usage:
    """Observed utilization, in percent of the CURRENT task reservation.

    ``AWS/ECS`` ``CPUUtilization`` and ``MemoryUtilization`` are service-wide averages across
    the running tasks, as a percentage of what each task reserves.
    """

    cpu_p95_pct: float
    mem_peak_pct: float
    datapoints: int
    days_covered: float
    #: The busiest period's average CPU; None when unknown (then the p95 stands in for it).
    cpu_peak_pct: Optional[float] = None


def usage_from_series(cpu_series: Sequence[float], mem_series: Sequence[float], period_seconds: int) -> Optional[Usage]:
    """Reduce per-period CloudWatch series to a :class:`Usage`; None when there is no data.

    ``cpu_series`` holds the per-period Averages, ``mem_series`` the per-period Maxima.
    CPU uses the 95th percentile by the nearest-rank method (the smallest observed value
    with at least 95% of the periods at or below it): it is always a value that actually
    occurred, never an interpolation, and is the same whichever order the periods come in.
    Memory uses the peak, because running out of memory kills a task while running out of
    CPU only slows it. Percentiles are computed here rather than asked of CloudWatch so that
    the result does not depend on extended-statistics support.

    ``days_covered`` counts the periods that have both metrics, so gaps in the data shorten
    the history rather than being bridged.
    """
    if period_seconds <= 0:
        raise ValueError(f"period_seconds must be positive, got {period_seconds}")
    cpu = sorted(float(v) for v in cpu_series if math.isfinite(v))
    mem = [float(v) for v in mem_series if math.isfinite(v)]
    if not cpu or not mem:
        return None
    rank = math.ceil(0.95 * len(cpu))  # 1-based nearest rank
    datapoints = min(len(cpu), len(mem))
    return Usage(
        cpu_p95_pct=cpu[rank - 1],
        mem_peak_pct=max(mem),
        datapoints=datapoints,
        days_covered=datapoints * period_seconds / 86400.0,
        cpu_peak_pct=cpu[-1],
    )


def rescale_usage(usage: Usage, before: ServiceState, after: ServiceState) -> Usage:
    """The same absolute need, as a percentage of ``after``'s total reservation.

    What a fresh reading would show once ``after`` is running the same load; used to check
    that a plan is a fixed point, and by callers that hold readings taken before a change.
    """
    cpu_ratio = (before.cpu * before.desired_count) / (after.cpu * after.desired_count)
    mem_ratio = (before.memory * before.desired_count) / (after.memory * after.desired_count)
    return Usage(
        cpu_p95_pct=usage.cpu_p95_pct * cpu_ratio,
        mem_peak_pct=usage.mem_peak_pct * mem_ratio,
        datapoints=usage.datapoints,
        days_covered=usage.days_covered,
        cpu_peak_pct=None if usage.cpu_peak_pct is None else usage.cpu_peak_pct * cpu_ratio,
    )


@dataclass(frozen=True)
class SizingOptions:
    """Tunables of the policies. Defaults: 20% headroom, 7 days of history required of a
    14-day lookback, 70% Spot, keep 5 images."""

    headroom: float = 0.20
    min_history_days: float = 7.0
    spot_share: float = 0.70
    keep_images: int = 5
    lookback_days: int = 14

    def __post_init__(self) -> None:
        if not 0.0 <= self.headroom <= 1.0:
            raise ValueError(f"headroom must be between 0 and 1, got {self.headroom}")
        if not 0.0 <= self.spot_share <= 1.0:
            raise ValueError(f"spot_share must be between 0 and 1, got {self.spot_share}")
        if self.min_history_days < 0:
            raise ValueError(f"min_history_days must not be negative, got {self.min_history_days}")
        if self.keep_images < 1:
            raise ValueError(f"keep_images must be at least 1, got {self.keep_images}")
        if self.lookback_days < 1:
            raise ValueError(f"lookback_days must be at least 1, got {self.lookback_days}")
        if self.lookback_days < self.min_history_days:
            raise ValueError(
                f"lookback_days ({self.lookback_days}) is shorter than min_history_days "
                f"({self.min_history_days}), so no service could ever have enough history"
            )


@dataclass(frozen=True)
class Decision:
    """The planned state of one service and why.

    ``policy_used`` is ``fixed``, ``metrics`` or ``unchanged``; ``skipped`` marks a service
    the policy declined to plan (``after`` is then the current state).
    """

    after: ServiceState
    policy_used: str
    reason: str
    skipped: bool = False


# --------------------------------------------------------------------------- sizes


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


def _fmt_size(size: Size) -> str:
    return f"{size[0]}/{size[1]}"


# --------------------------------------------------------------------------- counts


def fixed_counts(reference: ServiceState, current: ServiceState) -> Tuple[int, int]:
    """(desired, min) ``fixed`` targets: min 1, desired one above it, neither ever raised.

    One task above the minimum keeps a task running through a single task failure or a
    deployment; the autoscaler (max kept) adds tasks under load. While the autoscaler has
    scaled out (live desired above the declared one) the live count is kept: lowering it
    would cut capacity in the middle of a load peak, and the autoscaler scales in to the new
    minimum by itself once the load is gone.
    """
    new_min = min(reference.min_capacity, current.min_capacity, FIXED_MIN_CAPACITY)
    if scaled_out(reference, current):
        return current.desired_count, new_min
    new_desired = max(new_min, min(reference.desired_count, current.desired_count, new_min + 1))
    return new_desired, new_min


def scaled_out(reference: ServiceState, current: ServiceState) -> bool:
    """Whether autoscaling runs more tasks than declared (then it owns the desired count)."""
    return current.desired_count > reference.desired_count


# --------------------------------------------------------------------------- spot


def spot_weights(share: Fraction) -> Tuple[int, int]:
    """(on-demand, spot) weights: the share rounded UP to a whole percent, as a reduced fraction.

    Rounding up keeps the share at or above what was asked (0.7 -> 3:7, 0.8 -> 1:4,
    2/3 -> 33:67, 1 -> 0:1).
    """
    percent = math.ceil(share * 100)
    if not 0 <= percent <= 100:
        raise ValueError(f"spot share must be between 0 and 1, got {float(share)}")
    divisor = math.gcd(percent, 100) or 1
    return (100 - percent) // divisor, percent // divisor


def plan_strategy(current: ServiceState, opts: SizingOptions) -> CapacityStrategy:
    """The capacity-provider strategy for ``current``.

    Critical services keep theirs (on-demand). Others run one on-demand base task, so a
    Spot reclaim never takes the service to zero, and at least ``opts.spot_share`` of the
    rest on FARGATE_SPOT; a share already higher is kept, never lowered.
    """
    if current.critical:
        return current.strategy
    share = max(Fraction(str(opts.spot_share)), current.strategy.spot_fraction)
    if share == 0:
        return current.strategy
    on_demand, spot = spot_weights(share)
    return CapacityStrategy(base=1, on_demand_weight=on_demand, spot_weight=spot)


def plan_keep_images(current: Optional[int], keep_images: int) -> int:
    """ECR "keep last N": ``keep_images``, but never more than is kept today."""
    return keep_images if current is None else min(current, keep_images)


# --------------------------------------------------------------------------- plan


def plan_service(
    current: ServiceState,
    tier: str,
    policy: str,
    usage: Optional[Usage],
    opts: SizingOptions,
    baseline: Optional[ServiceState] = None,
) -> Decision:
    """Plan one service under ``policy`` (``fixed``, ``metrics`` or ``auto``).

    ``usage`` is what CloudWatch showed over the lookback window (None: no data).
    ``baseline``, when given, is the service as declared before any optimization (the
    compute stack's outputs): ``fixed`` halves that, not the current state, so a second run
    is a no-op for every size. A state already at or below the policy's target comes back
    with ``policy_used="unchanged"``.
    """
    if tier not in TIERS:
        raise ValueError(f"tier {tier!r} is not one of: {', '.join(TIERS)}")
    if policy not in POLICIES:
        raise ValueError(f"policy {policy!r} is not one of: {', '.join(POLICIES)}")
    check_size(current.cpu, current.memory, where=f"{current.service}: current task size")
    reference = baseline or current
    check_size(reference.cpu, reference.memory, where=f"{current.service}: baseline task size")

    enough_history = usage is not None and usage.days_covered >= opts.min_history_days and current.desired_count > 0
    if policy == "metrics" and not enough_history:
        return Decision(
            after=current,
            policy_used="metrics",
            reason=f"skipped: {_history_text(usage, opts, current)}",
            skipped=True,
        )

    notes: List[str] = []
    target_desired, min_capacity = fixed_counts(reference, current)
    if scaled_out(reference, current):
        notes.append(
            f"desired count {current.desired_count} kept: autoscaling has scaled out above the "
            f"declared {reference.desired_count} and scales in to the new minimum by itself"
        )
    if policy == "metrics" or (policy == "auto" and enough_history):
        assert usage is not None
        policy_used = "metrics"
        desired, size = _metrics_plan(current, usage, target_desired, opts, notes)
    else:
        policy_used = "fixed"
        desired = target_desired
        size = fixed_size(
            (reference.cpu, reference.memory),
            (current.cpu, current.memory),
            tier,
            current.architecture,
        )
        if policy == "auto":
            notes.append(f"fixed because {_history_text(usage, opts, current)}")
            if usage is not None and desired > 0:
                desired, size = _raise_to_cover(current, usage, desired, size, opts, notes)
        elif usage is not None and desired > 0:
            # A blind cut never goes below what the history shows: the peak memory and the
            # busiest hour's CPU, without headroom (fixed is the policy that adds none).
            desired, size = _raise_to_cover(
                current, usage, desired, size, replace(opts, headroom=0.0), notes, "the observed peak"
            )

    after = current.with_changes(
        cpu=size[0],
        memory=size[1],
        desired_count=desired,
        min_capacity=min_capacity,
        strategy=plan_strategy(current, opts),
        ecr_keep_images=plan_keep_images(current.ecr_keep_images, opts.keep_images),
    )
    if after == current:
        return Decision(
            after=current,
            policy_used="unchanged",
            reason=f"already at or below the {policy_used} target",
        )
    return Decision(
        after=after,
        policy_used=policy_used,
        reason="; ".join(notes + _describe_changes(current, after)),
    )


def _history_text(usage: Optional[Usage], opts: SizingOptions, current: ServiceState) -> str:
    if current.desired_count == 0:
        return "the service runs no tasks to measure"
    if usage is None:
        return "there is no CloudWatch utilization history"
    return f"only {usage.days_covered:.1f} days of utilization history (needs {opts.min_history_days:g})"


@dataclass(frozen=True)
class _Cover:
    count: int
    size: Size
    cpu_need: float
    memory_need: float
    hourly: float  # all tasks


def _cheapest_cover(current: ServiceState, usage: Usage, counts: Sequence[int], headroom: float) -> Optional[_Cover]:
    """The cheapest (count, size) among ``counts`` that carries the observed load.

    Fargate's price is linear in vCPU and GB, but its sizes are coarse (2 vCPU starts at
    4 GB), so spreading the same load over fewer tasks can cost more; each candidate count
    is priced as a whole. Equal totals go to the earlier count in ``counts``.
    """
    best: Optional[_Cover] = None
    for count in dict.fromkeys(counts):  # de-duplicated, order kept
        cpu_need, memory_need = per_task_need(current, usage, count, headroom)
        size = cheapest_covering(cpu_need, memory_need, current.architecture)
        if size is None:
            continue
        cover = _Cover(count, size, cpu_need, memory_need, count * task_hourly(size, current.architecture))
        if best is None or cover.hourly < best.hourly:
            best = cover
    return best


def _need_text(usage: Usage, cover: _Cover, headroom: float) -> str:
    return (
        f"p95 CPU {usage.cpu_p95_pct:.1f}% (peak {usage.cpu_peak_pct if usage.cpu_peak_pct is not None else usage.cpu_p95_pct:.1f}%) "
        f"and peak memory {usage.mem_peak_pct:.1f}% over "
        f"{usage.days_covered:.1f} days need {cover.cpu_need:.0f} CPU units / "
        f"{cover.memory_need:.0f} MiB per task at {cover.count} task(s) with "
        f"{headroom:.0%} headroom"
    )


def _metrics_plan(
    current: ServiceState,
    usage: Usage,
    target_desired: int,
    opts: SizingOptions,
    notes: List[str],
) -> Tuple[int, Size]:
    """(desired, size) under ``metrics``: the cheapest cover at ``fixed``'s count or today's."""
    current_size = (current.cpu, current.memory)
    cover = _cheapest_cover(current, usage, [target_desired, current.desired_count], opts.headroom)
    if cover is None:
        cpu_need, mem_need = per_task_need(current, usage, current.desired_count, opts.headroom)
        notes.append(
            f"the observed use needs {cpu_need:.0f} CPU units / {mem_need:.0f} MiB per task, "
            "more than the largest Fargate size: size and count left as they are; raise the "
            "task count or split the service"
        )
        return current.desired_count, current_size
    notes.append(_need_text(usage, cover, opts.headroom))
    if cover.count != target_desired:
        notes.append(f"count kept at {cover.count}: fewer tasks would cost more for the same capacity")
    if task_hourly(cover.size, current.architecture) > task_hourly(current_size, current.architecture):
        notes.append(
            f"under-sized: grows from {_fmt_size(current_size)} to {_fmt_size(cover.size)} "
            "because the observed use needs it"
        )
    return cover.count, cover.size


def _raise_to_cover(
    current: ServiceState,
    usage: Usage,
    desired: int,
    size: Size,
    opts: SizingOptions,
    notes: List[str],
    evidence: str = "the partial history",
) -> Tuple[int, Size]:
    """``fixed``'s (desired, size), raised until it carries what the short history shows.

    Short history justifies not cutting; it does not justify growing: if covering the need
    would cost more than the service costs today, the count and size stay as they are.
    """
    cpu_need, mem_need = per_task_need(current, usage, desired, opts.headroom)
    if size[0] >= cpu_need and size[1] >= mem_need:
        return desired, size
    current_size = (current.cpu, current.memory)
    current_hourly = current.desired_count * task_hourly(current_size, current.architecture)
    cover = _cheapest_cover(current, usage, [desired, current.desired_count], opts.headroom)
    if cover is None or cover.hourly > current_hourly:
        notes.append(
            f"{evidence} shows the fixed cut to {desired} x {_fmt_size(size)} is too "
            "small; count and size left as they are"
            + (" until there is enough history" if evidence == "the partial history" else "")
        )
        return current.desired_count, current_size
    notes.append(
        f"raised from {desired} x {_fmt_size(size)} to {cover.count} x {_fmt_size(cover.size)} to cover {evidence}: "
        + _need_text(usage, cover, opts.headroom)
    )
    return cover.count, cover.size


def _describe_changes(before: ServiceState, after: ServiceState) -> List[str]:
    parts: List[str] = []
    if (before.cpu, before.memory) != (after.cpu, after.memory):
        parts.append(
            f"task size {_fmt_size((before.cpu, before.memory))} -> "
            f"{_fmt_size((after.cpu, after.memory))} ({after.architecture})"
        )
    if before.desired_count != after.desired_count:
        parts.append(f"desired {before.desired_count} -> {after.desired_count}")
    if before.min_capacity != after.min_capacity:
        parts.append(f"min {before.min_capacity} -> {after.min_capacity}")
    if before.strategy != after.strategy:
        s = after.strategy
        parts.append(
            f"FARGATE_SPOT {s.spot_share:.0%} of tasks beyond {s.base} on-demand base "
            f"(weights {s.on_demand_weight}:{s.spot_weight})"
        )
    if before.ecr_keep_images != after.ecr_keep_images:
        was = "all" if before.ecr_keep_images is None else before.ecr_keep_images
        parts.append(f"ECR keep {was} -> {after.ecr_keep_images} images")
    return parts


# --------------------------------------------------------------------------- alarms


def alarm_threshold(
    kind: str,
    old_threshold: float,
    before: ServiceState,
    after: ServiceState,
    autoscaling_target: Optional[float] = None,
) -> float:
    """The threshold an alarm of ``kind`` needs once ``before`` has become ``after``.

    ``cpuHigh`` / ``memoryHigh`` are percentages of the task reservation. When the service
    has a target-tracking policy on the same metric (``autoscaling_target``, percent), the
    alarm is set to that target plus :data:`ALARM_TARGET_MARGIN`, whatever the task size:
    autoscaling keeps the metric near its target, so only a load it cannot absorb crosses the
    alarm. The value depends on nothing the run changes, so a re-run after an interrupted run
    sets exactly what an uninterrupted one does.

    Without such a policy, a smaller task reaches a given absolute load at a higher
    percentage, so the alarm keeps the same absolute spare capacity:
    ``100 - (100 - old) x old_size / new_size`` (80% of 512 units -> 60% of 256). Both are
    clamped to :data:`ALARM_THRESHOLD_BAND` and rounded to 0.1.

    ``runningTasksLow`` watches for the service falling below its floor, so it is the
    autoscaling minimum the run leaves (also when an interrupted run already set that
    minimum). ``unhealthyHosts`` and ``http5xx`` count hosts and responses, which a task size
    does not change. Whatever did not change keeps its threshold exactly, so a re-run
    rewrites nothing.
    """
    if kind not in ALARM_KINDS:
        raise ValueError(f"alarm kind {kind!r} is not one of: {', '.join(ALARM_KINDS)}")
    if kind == "runningTasksLow":
        return float(after.min_capacity)
    if kind in ("unhealthyHosts", "http5xx"):
        return old_threshold
    low, high = (Decimal(str(bound)) for bound in ALARM_THRESHOLD_BAND)
    if autoscaling_target is not None:
        wanted = Decimal(str(autoscaling_target)) + Decimal(str(ALARM_TARGET_MARGIN))
    else:
        old_size, new_size = (before.cpu, after.cpu) if kind == "cpuHigh" else (before.memory, after.memory)
        if old_size == new_size:
            return old_threshold
        # Decimal so that a threshold like 80.95 rounds up as written, not down as its float does.
        hundred = Decimal(100)
        wanted = hundred - (hundred - Decimal(str(old_threshold))) * old_size / new_size
    clamped = min(high, max(low, wanted))
    return float(clamped.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
