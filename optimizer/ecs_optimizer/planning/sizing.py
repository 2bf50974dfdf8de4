"""What each service should become: task size, counts, Spot share, ECR retention, alarm thresholds.

Everything here is pure: no AWS calls, no clock. The engine reads the live state and the
CloudWatch series, calls :func:`plan_service` once per service and applies the difference.

Policies (docs/architecture.md, "The optimizer"):

``fixed``
    The documented baseline cut, applied without looking at utilization. Size: halve to the
    next smaller Fargate CPU and the valid memory nearest half the memory (dev 512/1024 ->
    256/512, prod 1024/2048 -> 512/1024), never below the tier's optimized size
    (:data:`task_sizes.FIXED_FLOOR`). Counts: the autoscaling minimum goes to 1 and the desired count to
    one task above it (3 -> 2, min 2 -> 1), never raising either; the maximum is kept (raised
    only by the alarm rule below) so the autoscaler can still absorb a burst. These are
    targets rather than "minus one" steps so that a second run finds the service at its
    target and changes nothing.
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

No alarm at the autoscaling maximum: where the service's autoscaling tracks CPU or memory,
the plan sets cpu-high / memory-high a margin above the target (``alarm_thresholds``), so the
alarm fires only when autoscaling cannot add a task. Under every policy that has history, the
busiest observed hour (highest hourly average CPU, highest memory) spread over the
autoscaling maximum the plan leaves must stay strictly below those thresholds. Where it would
not, the plan raises the maximum to the fewest tasks that keep it below (a higher maximum costs
nothing until used), unless growing the task size at today's maximum is cheaper with the
service at its top, in which case the size grows instead (:func:`alarm_safe_ceiling`).

OOM evidence wins over every cut: a service with an OOM stop in the lookback is
under-provisioned, its memory never shrinks and grows to at least 1.2x the peak it reached,
whatever the policy (``fixed`` included) and however short its history (:mod:`oom`).

Under every policy non-critical services get a FARGATE_SPOT share of at least
``spot_share`` (by default every task beyond the base) behind one on-demand base task, critical services keep their strategy, and
ECR retention drops to ``keep_images`` (never rises): the Spot and ECR retention levers' own
decisions (:func:`levers.spot.plan_strategy`, :func:`levers.ecr_retention.plan_keep_images`).

Idempotence: a planned state is a fixed point of the same policy. Counts, Spot weights and
retention are targets; metrics sizing depends only on the total need, which does not change
when the same need is re-expressed against the new size (:func:`rescale_usage`). The one
step that is relative by nature, ``fixed``'s halving, is anchored with ``baseline`` (the
declared, pre-optimization state) when the caller has it; without it a second run on a
service larger than the tier's optimized size halves it again, down to :data:`task_sizes.FIXED_FLOOR`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import List, Mapping, Optional, Sequence, Tuple

from ..core import facts
from ..core.fargate import check_size
from ..core.model import SPOT, ServiceState
from ..core.usage import Usage
from ..levers.ecr_retention import KEEP_IMAGES, plan_keep_images
from ..levers.spot import SPOT_SHARE, plan_strategy
from ..levers.task_size import HEADROOM, LOOKBACK_DAYS, POLICIES
from .alarm_ceiling import alarm_safe_ceiling
from .alarm_thresholds import CPU_HIGH
from .oom import OomEvidence, apply_oom_rule
from .task_sizes import Size, cheapest_covering, fixed_size, fmt_size, per_task_need, task_hourly

TIERS = facts.tiers()


#: The autoscaling minimum ``fixed`` targets; the desired count targets one more.
FIXED_MIN_CAPACITY = 1


@dataclass(frozen=True)
class SizingOptions:
    """Tunables of the policies. Defaults: 20% headroom, 7 days of history required of a
    14-day lookback, every task of a non-critical service beyond its on-demand base on Spot
    (the platform's greatest Spot share), keep 5 images."""

    headroom: float = HEADROOM.default
    min_history_days: float = 7.0
    spot_share: float = SPOT_SHARE.default
    keep_images: int = KEEP_IMAGES.default
    lookback_days: int = LOOKBACK_DAYS.default

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


# --------------------------------------------------------------------------- plan


def plan_service(
    current: ServiceState,
    tier: str,
    policy: str,
    usage: Optional[Usage],
    opts: SizingOptions,
    baseline: Optional[ServiceState] = None,
    autoscaling_targets: Optional[Mapping[str, float]] = None,
    oom: Optional[OomEvidence] = None,
) -> Decision:
    """Plan one service under ``policy`` (``fixed``, ``metrics`` or ``auto``).

    ``usage`` is what CloudWatch showed over the lookback window (None: no data).
    ``baseline``, when given, is the service as declared before any optimization (the
    compute stack's outputs): ``fixed`` halves that, not the current state, so a second run
    is a no-op for every size. A state already at or below the policy's target comes back
    with ``policy_used="unchanged"``. ``autoscaling_targets`` maps ``cpuHigh`` / ``memoryHigh``
    to the target-tracking value autoscaling holds that metric at (percent); with it, the
    plan keeps the busiest observed hour below the alarm at the autoscaling maximum
    (:func:`alarm_safe_ceiling`). ``oom``, the service's OOM stops in the lookback, makes it
    under-provisioned: the OOM rule (:func:`oom.apply_oom_rule`) applies last and wins.
    """
    if tier not in TIERS:
        raise ValueError(f"tier {tier!r} is not one of: {', '.join(TIERS)}")
    if policy not in POLICIES:
        raise ValueError(f"policy {policy!r} is not one of: {', '.join(POLICIES)}")
    check_size(current.cpu, current.memory, where=f"{current.service}: current task size")
    reference = baseline or current
    check_size(reference.cpu, reference.memory, where=f"{current.service}: baseline task size")

    enough_history = usage is not None and usage.days_covered >= opts.min_history_days and current.desired_count > 0
    if policy == "metrics" and not enough_history and oom is None:
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
    if policy == "metrics" and not enough_history:
        # OOM evidence needs no history: today's counts and CPU, the memory the rule sets
        policy_used = "metrics"
        notes.append(f"size otherwise kept: {_history_text(usage, opts, current)}")
        desired, min_capacity, size = current.desired_count, current.min_capacity, (current.cpu, current.memory)
    elif policy == "metrics" or (policy == "auto" and enough_history):
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

    max_capacity = current.max_capacity
    if usage is not None and desired > 0 and autoscaling_targets:
        size, max_capacity = alarm_safe_ceiling(current, usage, size, autoscaling_targets, notes)
        max_capacity = _p95_within_target(current, usage, size, max_capacity, autoscaling_targets, notes)
    if oom is not None:
        size = apply_oom_rule(current, size, max(desired, 1), usage, oom, notes)

    if policy == "metrics" and not enough_history:
        after = current.with_changes(cpu=size[0], memory=size[1])  # the OOM growth alone
    else:
        after = current.with_changes(
            cpu=size[0],
            memory=size[1],
            desired_count=desired,
            max_capacity=max_capacity,
            min_capacity=min_capacity,
            strategy=plan_strategy(current, opts.spot_share),
            ecr_keep_images=plan_keep_images(current.ecr_keep_images, opts.keep_images),
        )
    if after == current:
        return Decision(
            after=current,
            policy_used="unchanged",
            reason="; ".join(notes) if oom is not None else f"already at or below the {policy_used} target",
        )
    return Decision(
        after=after,
        policy_used=policy_used,
        reason="; ".join(notes + _describe_changes(current, after)),
    )


def _p95_within_target(
    current: ServiceState,
    usage: Usage,
    size: Size,
    max_capacity: int,
    autoscaling_targets: Mapping[str, float],
    notes: List[str],
) -> int:
    """The autoscaling maximum, raised where p95 CPU spread over it would sit above the CPU
    target-tracking value: there the autoscaler is pinned at its maximum most busy hours and
    the service is under-provisioned (``planning.findings``). The fewest tasks of ``size``
    that hold p95 at the target; a higher maximum costs nothing until the load uses it."""
    target = autoscaling_targets.get(CPU_HIGH)
    if target is None or target <= 0:
        return max_capacity
    demand = usage.cpu_p95_pct / 100.0 * current.cpu * current.desired_count
    needed = math.ceil(demand / (size[0] * target / 100.0) - 1e-9)
    if needed <= max_capacity:
        return max_capacity
    notes.append(
        f"autoscaling maximum raised from {max_capacity} to {needed} so that p95 CPU stays at or below "
        f"the CPU target of {target:g}% with autoscaling at its maximum"
    )
    return needed


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
    # every count from fixed's target to today's: a coarse Fargate size can make one more,
    # smaller task cheaper than fewer large ones
    counts = [target_desired, *range(target_desired + 1, current.desired_count + 1), current.desired_count]
    cover = _cheapest_cover(current, usage, counts, opts.headroom)
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
            f"under-sized: grows from {fmt_size(current_size)} to {fmt_size(cover.size)} "
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
            f"{evidence} shows the fixed cut to {desired} x {fmt_size(size)} is too "
            "small; count and size left as they are"
            + (" until there is enough history" if evidence == "the partial history" else "")
        )
        return current.desired_count, current_size
    notes.append(
        f"raised from {desired} x {fmt_size(size)} to {cover.count} x {fmt_size(cover.size)} to cover {evidence}: "
        + _need_text(usage, cover, opts.headroom)
    )
    return cover.count, cover.size


def _describe_changes(before: ServiceState, after: ServiceState) -> List[str]:
    parts: List[str] = []
    if (before.cpu, before.memory) != (after.cpu, after.memory):
        parts.append(
            f"task size {fmt_size((before.cpu, before.memory))} -> "
            f"{fmt_size((after.cpu, after.memory))} ({after.architecture})"
        )
    if before.desired_count != after.desired_count:
        parts.append(f"desired {before.desired_count} -> {after.desired_count}")
    if before.min_capacity != after.min_capacity:
        parts.append(f"min {before.min_capacity} -> {after.min_capacity}")
    if before.max_capacity != after.max_capacity:
        parts.append(f"max {before.max_capacity} -> {after.max_capacity}")
    if before.strategy != after.strategy:
        s = after.strategy
        parts.append(
            f"{SPOT} {s.spot_share:.0%} of tasks beyond {s.base} on-demand base "
            f"(weights {s.on_demand_weight}:{s.spot_weight})"
        )
    if before.ecr_keep_images != after.ecr_keep_images:
        was = "all" if before.ecr_keep_images is None else before.ecr_keep_images
        parts.append(f"ECR keep {was} -> {after.ecr_keep_images} images")
    return parts
