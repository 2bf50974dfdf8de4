"""Sizing policies, Spot weights, retention and alarm thresholds. Expected values are worked by hand."""

import math
from typing import List

import pytest

from ecs_optimizer.core import usage as usage_mod
from ecs_optimizer.core.fargate import all_pairs
from ecs_optimizer.core.model import CapacityStrategy, ServiceState
from ecs_optimizer.core.usage import Usage, rescale_usage, usage_from_series
from ecs_optimizer.planning import alarm_ceiling, alarm_thresholds, sizing, task_sizes
from ecs_optimizer.planning.alarm_thresholds import alarm_threshold
from ecs_optimizer.planning.sizing import Decision, SizingOptions, plan_service
from ecs_optimizer.planning.task_sizes import cheapest_covering, halve_size

OPTS = SizingOptions()
ON_DEMAND = CapacityStrategy(base=0, on_demand_weight=1, spot_weight=0)


def svc(
    cpu=512,
    memory=1024,
    desired=3,
    min_capacity=2,
    max_capacity=6,
    critical=False,
    arch="X86_64",
    strategy=ON_DEMAND,
    keep=10,
):
    return ServiceState(
        service="worker",
        cpu=cpu,
        memory=memory,
        desired_count=desired,
        min_capacity=min_capacity,
        max_capacity=max_capacity,
        critical=critical,
        architecture=arch,
        strategy=strategy,
        ecr_keep_images=keep,
    )


def long_usage(cpu, mem):
    return Usage(cpu_p95_pct=cpu, mem_peak_pct=mem, datapoints=4032, days_covered=14.0)


def size(state):
    return (state.cpu, state.memory)


# ----------------------------------------------------------------- usage


def test_cpu_p95_is_nearest_rank_and_memory_is_the_peak():
    cpu = [float(v) for v in range(100, 0, -1)]  # 100..1, out of order on purpose
    mem = [10.0, 55.5, 30.0]
    usage = usage_from_series(cpu, mem, 300)
    assert usage.cpu_p95_pct == 95.0
    assert usage.mem_peak_pct == 55.5
    assert usage.datapoints == 3
    assert usage.days_covered == pytest.approx(3 * 300 / 86400)


def test_p95_of_twenty_points_is_the_nineteenth():
    usage = usage_from_series([float(v) for v in range(1, 21)], [1.0] * 20, 3600)
    assert usage.cpu_p95_pct == 19.0  # ceil(0.95 * 20) = 19
    assert usage.days_covered == pytest.approx(20 / 24)


def test_a_single_spike_above_p95_is_ignored_but_not_for_memory():
    cpu = [10.0] * 99 + [100.0]
    mem = [20.0] * 99 + [90.0]
    usage = usage_from_series(cpu, mem, 300)
    assert usage.cpu_p95_pct == 10.0
    assert usage.mem_peak_pct == 90.0


def test_empty_or_non_finite_series_give_none():
    assert usage_from_series([], [1.0], 300) is None
    assert usage_from_series([1.0], [], 300) is None
    assert usage_from_series([float("nan")], [1.0], 300) is None
    with pytest.raises(ValueError, match="period_seconds"):
        usage_from_series([1.0], [1.0], 0)


# ----------------------------------------------------------------- options


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"headroom": -0.1}, "headroom"),
        ({"headroom": 1.5}, "headroom"),
        ({"spot_share": 1.2}, "spot_share"),
        ({"spot_share": -0.1}, "spot_share"),
        ({"keep_images": 0}, "keep_images"),
        ({"min_history_days": -1}, "min_history_days"),
        ({"lookback_days": 0}, "lookback_days"),
        ({"lookback_days": 5, "min_history_days": 7}, "lookback_days"),
    ],
)
def test_bad_options_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        SizingOptions(**kwargs)


def test_bad_policy_and_tier_are_rejected():
    with pytest.raises(ValueError, match="aggressive"):
        plan_service(svc(), "dev", "aggressive", None, OPTS)
    with pytest.raises(ValueError, match="staging"):
        plan_service(svc(), "staging", "fixed", None, OPTS)


# ----------------------------------------------------------------- fixed


@pytest.mark.parametrize(
    "before,after",
    [
        ((256, 512), (256, 512)),
        ((256, 2048), (256, 1024)),
        ((512, 1024), (256, 512)),
        ((512, 4096), (256, 2048)),
        ((1024, 2048), (512, 1024)),
        ((2048, 4096), (1024, 2048)),
        ((4096, 30720), (2048, 15360)),
        ((8192, 16384), (4096, 8192)),
        ((16384, 32768), (8192, 16384)),
        ((16384, 122880), (8192, 61440)),
    ],
)
def test_halving_edge_sizes(before, after):
    assert halve_size(*before) == after


def test_halving_rejects_a_size_that_is_not_fargate():
    with pytest.raises(ValueError, match="not valid"):
        halve_size(512, 512)


def test_fixed_dev_baseline():
    decision = plan_service(svc(512, 1024), "dev", "fixed", None, OPTS)
    after = decision.after
    assert decision.policy_used == "fixed" and not decision.skipped
    assert size(after) == (256, 512)
    assert (after.desired_count, after.min_capacity, after.max_capacity) == (2, 1, 6)
    assert after.ecr_keep_images == 5
    assert "512/1024 -> 256/512" in decision.reason


def test_fixed_prod_baseline():
    after = plan_service(svc(1024, 2048, critical=True), "prod", "fixed", None, OPTS).after
    assert size(after) == (512, 1024)
    assert (after.desired_count, after.min_capacity, after.max_capacity) == (2, 1, 6)
    assert after.strategy == ON_DEMAND


@pytest.mark.parametrize(
    "before,after",
    [((2048, 4096), (1024, 2048)), ((16384, 122880), (8192, 61440)), ((16384, 32768), (8192, 16384))],
)
def test_fixed_large_sizes(before, after):
    assert size(plan_service(svc(*before), "prod", "fixed", None, OPTS).after) == after


def test_fixed_keeps_the_smallest_size_and_prod_floor():
    dev_small = plan_service(svc(256, 512), "dev", "fixed", None, OPTS).after
    assert size(dev_small) == (256, 512)
    # production is not blind-cut below its documented optimized size of 512/1024
    prod_floor = plan_service(svc(512, 1024), "prod", "fixed", None, OPTS).after
    assert size(prod_floor) == (512, 1024)
    # and a prod service already below that floor is never raised to it
    prod_small = plan_service(svc(256, 512), "prod", "fixed", None, OPTS).after
    assert size(prod_small) == (256, 512)


def test_fixed_keeps_arm():
    after = plan_service(svc(1024, 2048, arch="ARM64"), "dev", "fixed", None, OPTS).after
    assert after.architecture == "ARM64"
    assert size(after) == (512, 1024)


@pytest.mark.parametrize(
    "counts,expected",
    [((3, 2, 6), (2, 1)), ((1, 1, 2), (1, 1)), ((2, 1, 4), (2, 1)), ((6, 4, 10), (2, 1)), ((0, 0, 2), (0, 0))],
)
def test_fixed_counts_target_min_one_and_one_spare_never_raised(counts, expected):
    desired, min_capacity, max_capacity = counts
    after = plan_service(
        svc(desired=desired, min_capacity=min_capacity, max_capacity=max_capacity), "dev", "fixed", None, OPTS
    ).after
    assert (after.desired_count, after.min_capacity) == expected
    assert after.max_capacity == max_capacity


@pytest.mark.parametrize("policy", ["fixed", "auto"])
def test_fixed_counts_leave_a_scale_out_to_autoscaling(policy):
    """Autoscaling runs 6 tasks where 3 are declared: the run lowers min (and the size), not
    the live count; the autoscaler scales in to the new minimum by itself."""
    declared = svc(desired=3, min_capacity=2, max_capacity=10)
    live = declared.with_changes(desired_count=6)
    decision = plan_service(live, "dev", policy, None, OPTS, baseline=declared)
    assert (decision.after.desired_count, decision.after.min_capacity, decision.after.max_capacity) == (6, 1, 10)
    assert size(decision.after) == (256, 512)
    assert "desired count 6 kept: autoscaling has scaled out above the declared 3" in decision.reason
    # not scaled out (at or below the declared count): lowered as before
    calm = plan_service(declared, "dev", policy, None, OPTS, baseline=declared)
    assert calm.after.desired_count == 2 and "kept: autoscaling" not in calm.reason


@pytest.mark.parametrize("keep,expected", [(10, 5), (None, 5), (3, 3), (5, 5)])
def test_ecr_retention_never_increases(keep, expected):
    assert plan_service(svc(keep=keep), "dev", "fixed", None, OPTS).after.ecr_keep_images == expected


# ----------------------------------------------------------------- spot


@pytest.mark.parametrize(
    "share,weights",
    [(0.7, (3, 7)), (0.8, (1, 4)), (0.75, (1, 3)), (1.0, (0, 1)), (0.5, (1, 1)), (0.71, (29, 71))],
)
def test_spot_share_as_reduced_whole_percent_weights(share, weights):
    opts = SizingOptions(spot_share=share)
    strategy = plan_service(svc(), "dev", "fixed", None, opts).after.strategy
    assert strategy == CapacityStrategy(base=1, on_demand_weight=weights[0], spot_weight=weights[1])


def test_a_higher_current_spot_share_is_kept():
    current = CapacityStrategy(base=0, on_demand_weight=1, spot_weight=9)
    strategy = plan_service(svc(strategy=current), "dev", "fixed", None, OPTS).after.strategy
    assert strategy == CapacityStrategy(base=1, on_demand_weight=1, spot_weight=9)


def test_a_current_share_of_two_thirds_is_kept_exactly_not_lowered():
    current = CapacityStrategy(base=1, on_demand_weight=1, spot_weight=2)
    strategy = plan_service(svc(strategy=current), "dev", "fixed", None, SizingOptions(spot_share=0.5)).after.strategy
    assert strategy == CapacityStrategy(base=1, on_demand_weight=1, spot_weight=2)
    assert strategy.spot_share >= 2 / 3


def test_a_current_share_is_never_rounded_down():
    current = CapacityStrategy(base=1, on_demand_weight=42, spot_weight=83)  # 66.4% Spot
    strategy = plan_service(svc(strategy=current), "dev", "fixed", None, SizingOptions(spot_share=0.5)).after.strategy
    assert strategy == CapacityStrategy(base=1, on_demand_weight=33, spot_weight=67)


def test_critical_services_keep_their_strategy():
    mixed = CapacityStrategy(base=2, on_demand_weight=1, spot_weight=1)
    for strategy in (ON_DEMAND, mixed):
        after = plan_service(svc(critical=True, strategy=strategy), "prod", "fixed", None, OPTS).after
        assert after.strategy == strategy


def test_no_spot_requested_and_none_today_leaves_the_strategy():
    after = plan_service(svc(), "dev", "fixed", None, SizingOptions(spot_share=0.0)).after
    assert after.strategy == ON_DEMAND


# ----------------------------------------------------------------- metrics


def test_metrics_picks_the_cheapest_covering_pair():
    # need per task at 2 tasks: cpu 20% x 512 x 3/2 x 1.2 = 184.3 units, memory
    # 30% x 1024 x 3/2 x 1.2 = 553 MiB -> 256 CPU with 1024 MiB (512 MiB is too small).
    # At 3 tasks 256/1024 would also cover, and 3 x 256/1024 costs more than 2 x 256/1024.
    decision = plan_service(svc(512, 1024), "dev", "metrics", long_usage(20, 30), OPTS)
    assert decision.policy_used == "metrics"
    assert size(decision.after) == (256, 1024)
    assert decision.after.desired_count == 2
    assert "p95 CPU 20.0%" in decision.reason


def test_metrics_memory_heavy_service_gets_the_cheapest_pair_with_enough_memory():
    # 1 task of 1024/8192 at 10% CPU / 50% memory, count kept at 1 (desired 1, min 1):
    # need 122.9 units and 4915.2 MiB. 512 CPU stops at 4096 MiB, so the cheapest cover is
    # 1024/5120 ($0.062705/h), cheaper than 2048/5120 and than today's 1024/8192.
    state = svc(1024, 8192, desired=1, min_capacity=1)
    after = plan_service(state, "prod", "metrics", long_usage(10, 50), OPTS).after
    assert size(after) == (1024, 5120)


def test_metrics_grows_an_under_sized_service_and_says_so():
    # 2 x 256/512 at 90% CPU: need 0.9 x 256 x 2/2 x 1.2 = 276.5 units per task -> 512 CPU.
    state = svc(256, 512, desired=2, min_capacity=1)
    decision = plan_service(state, "dev", "metrics", long_usage(90, 50), OPTS)
    assert size(decision.after) == (512, 1024)
    assert "under-sized" in decision.reason and "grows" in decision.reason


def test_metrics_keeps_the_count_when_fewer_tasks_cost_more():
    # 3 x 1024/2048 at 30% CPU / 30% memory. At 2 tasks each needs 553 units / 1106 MiB ->
    # 1024/2048 (2 x $0.04937); at 3 tasks 369 units / 737 MiB -> 512/1024 (3 x $0.024685).
    state = svc(1024, 2048, critical=True)
    decision = plan_service(state, "prod", "metrics", long_usage(30, 30), OPTS)
    assert size(decision.after) == (512, 1024)
    assert decision.after.desired_count == 3
    assert decision.after.min_capacity == 1
    assert "count kept at 3" in decision.reason


def test_metrics_never_picks_above_the_current_size_without_need():
    # A quiet service never grows, whatever its size.
    for cpu, memory in all_pairs():
        after = plan_service(svc(cpu, memory), "dev", "metrics", long_usage(1, 1), OPTS).after
        assert after.cpu <= cpu and after.memory <= memory


def test_metrics_beyond_the_largest_size_leaves_size_and_count():
    state = svc(16384, 122880, desired=2, min_capacity=1)
    decision = plan_service(state, "prod", "metrics", long_usage(100, 100), OPTS)
    assert size(decision.after) == (16384, 122880)
    assert decision.after.desired_count == 2
    assert "largest Fargate size" in decision.reason


@pytest.mark.parametrize("usage", [None, Usage(50, 50, 100, 3.0)])
def test_metrics_skips_services_short_of_history(usage):
    state = svc()
    decision = plan_service(state, "dev", "metrics", usage, OPTS)
    assert decision == Decision(after=state, policy_used="metrics", reason=decision.reason, skipped=True)
    assert decision.reason.startswith("skipped:")
    assert ("3.0 days" in decision.reason) if usage else ("no CloudWatch" in decision.reason)


def test_cheapest_covering_returns_none_past_the_largest_size():
    assert cheapest_covering(16385, 512, "X86_64") is None
    assert cheapest_covering(0, 0, "X86_64") == (256, 512)


# ----------------------------------------------------------------- auto


def test_auto_uses_metrics_with_enough_history():
    decision = plan_service(svc(512, 1024), "dev", "auto", long_usage(20, 30), OPTS)
    assert decision.policy_used == "metrics"
    assert size(decision.after) == (256, 1024)


def test_auto_falls_back_to_fixed_without_history():
    decision = plan_service(svc(512, 1024), "dev", "auto", None, OPTS)
    assert decision.policy_used == "fixed"
    assert size(decision.after) == (256, 512)
    assert "no CloudWatch" in decision.reason


def test_auto_with_short_history_raises_fixed_to_cover_it():
    # fixed would give 2 x 512/1024; three days show 30% / 30% of 3 x 1024/2048, which
    # 2 x 512/1024 cannot carry (553 units needed each). The cheapest cover is 3 x 512/1024.
    short = Usage(30, 30, 864, 3.0)
    decision = plan_service(svc(1024, 2048, critical=True), "prod", "auto", short, OPTS)
    assert decision.policy_used == "fixed"
    assert size(decision.after) == (512, 1024)
    assert decision.after.desired_count == 3
    assert "raised" in decision.reason


def test_auto_with_short_history_never_grows_the_service():
    # 60% CPU of 3 x 1024/2048: covering it costs no less than today, so nothing is cut.
    short = Usage(60, 40, 864, 3.0)
    after = plan_service(svc(1024, 2048, critical=True), "prod", "auto", short, OPTS).after
    assert size(after) == (1024, 2048)
    assert after.desired_count == 3


def test_auto_with_short_but_quiet_history_applies_fixed():
    short = Usage(5, 5, 864, 3.0)
    after = plan_service(svc(1024, 2048), "prod", "auto", short, OPTS).after
    assert size(after) == (512, 1024)
    assert after.desired_count == 2


# ----------------------------------------------------------------- idempotence


def replan(state, tier, policy, usage, baseline=None):
    first = plan_service(state, tier, policy, usage, OPTS, baseline=baseline)
    again_usage = rescale_usage(usage, state, first.after) if usage else None
    second = plan_service(first.after, tier, policy, again_usage, OPTS, baseline=baseline)
    return first, second


@pytest.mark.parametrize(
    "tier,cpu,memory", [("dev", 512, 1024), ("prod", 1024, 2048), ("dev", 256, 512), ("prod", 512, 1024)]
)
@pytest.mark.parametrize("critical", [True, False])
def test_fixed_rerun_of_the_documented_fleet_is_a_no_op(tier, cpu, memory, critical):
    first, second = replan(svc(cpu, memory, critical=critical), tier, "fixed", None)
    assert second.after == first.after
    assert second.policy_used == "unchanged"


@pytest.mark.parametrize("cpu,memory", all_pairs())
def test_fixed_rerun_anchored_on_the_baseline_is_a_no_op_for_every_size(cpu, memory):
    baseline = svc(cpu, memory)
    first, second = replan(baseline, "prod", "fixed", None, baseline=baseline)
    assert second.after == first.after
    assert second.policy_used == "unchanged"


@pytest.mark.parametrize(
    "cpu,memory,usage",
    [
        (512, 1024, (20, 30)),
        (1024, 2048, (30, 30)),
        (256, 512, (90, 50)),
        (4096, 16384, (35, 70)),
        (1024, 8192, (10, 50)),
        (2048, 4096, (5, 95)),
    ],
)
@pytest.mark.parametrize("policy", ["metrics", "auto"])
def test_metrics_rerun_on_the_same_load_is_a_no_op(cpu, memory, usage, policy):
    first, second = replan(svc(cpu, memory), "prod", policy, long_usage(*usage))
    assert first.policy_used == "metrics"
    assert second.after == first.after
    assert second.policy_used == "unchanged"


def test_auto_short_history_rerun_is_a_no_op():
    state = svc(1024, 2048)
    first, second = replan(state, "prod", "auto", Usage(30, 30, 864, 3.0), baseline=state)
    assert second.after == first.after
    assert second.policy_used == "unchanged"


# ----------------------------------------------------------------- alarms


def test_cpu_alarm_keeps_the_same_absolute_spare_capacity():
    before, after = svc(512, 1024), svc(256, 512)
    # 20% of 512 units spare = 102.4 units = 40% of 256 -> alarm at 60%
    assert alarm_threshold("cpuHigh", 80.0, before, after) == 60.0
    assert alarm_threshold("memoryHigh", 85.0, before, after) == 70.0


def test_alarm_threshold_for_uneven_ratios_rounds_to_a_tenth():
    # 3072 -> 2048 MiB: 100 - 20 x 1.5 = 70
    before, after = svc(512, 3072), svc(512, 2048)
    assert alarm_threshold("memoryHigh", 80.0, before, after) == 70.0
    before, after = svc(1024, 3072), svc(512, 2048)
    assert alarm_threshold("cpuHigh", 85.0, before, after) == 70.0
    assert alarm_threshold("memoryHigh", 87.3, before, after) == 81.0  # 100 - 12.7 x 1.5 = 80.95


def test_alarm_threshold_is_clamped():
    before, after = svc(1024, 2048), svc(256, 512)
    assert alarm_threshold("cpuHigh", 80.0, before, after) == 50.0  # 100 - 20 x 4 = 20
    # a task that grows could push the threshold up to 97.5: capped at 95
    assert alarm_threshold("cpuHigh", 90.0, svc(256, 512), svc(1024, 2048)) == 95.0


def test_alarm_thresholds_that_do_not_depend_on_size():
    before, after = svc(512, 1024), svc(256, 512)
    assert alarm_threshold("unhealthyHosts", 1.0, before, after) == 1.0
    assert alarm_threshold("http5xx", 10.0, before, after) == 10.0
    assert alarm_threshold("runningTasksLow", 2.0, before, svc(256, 512, min_capacity=1)) == 1.0


def test_unchanged_size_keeps_the_threshold_exactly():
    state = svc(512, 1024)
    for kind, old in [("cpuHigh", 97.0), ("memoryHigh", 42.0), ("runningTasksLow", 2.0)]:
        assert alarm_threshold(kind, old, state, state) == old


def test_running_tasks_low_follows_the_minimum_even_when_it_was_already_set():
    # an interrupted run set min 1 but not the alarm: the re-run still moves the alarm
    halved = svc(256, 512, min_capacity=1)
    assert alarm_threshold("runningTasksLow", 2.0, halved, halved) == 1.0


def test_thresholds_sit_a_margin_above_the_autoscaling_target_whatever_the_size():
    before, after = svc(1024, 2048), svc(512, 1024)
    for target in (50.0, 70.0, 75.0):
        want = target + alarm_thresholds.ALARM_TARGET_MARGIN
        assert alarm_threshold("cpuHigh", 80.0, before, after, target) == want
        assert alarm_threshold("memoryHigh", 80.0, after, after, target) == want  # a re-run: same value
    assert alarm_threshold("cpuHigh", 80.0, before, after, 90.0) == alarm_thresholds.ALARM_THRESHOLD_BAND[1]


def _held_at_target_trace(target: float, hours: int, swing: float) -> List[float]:
    """Hourly utilization of a service autoscaling holds at ``target``: it oscillates around
    the target by up to ``swing`` points (scale-out lag, then scale-in)."""
    return [target + swing * math.sin(2 * math.pi * h / 24) for h in range(hours)]


def _hours_firing(threshold: float, trace: List[float]) -> int:
    return sum(1 for value in trace if value > threshold)


def test_replayed_load_held_at_the_target_never_fires_the_new_alarms():
    """Two weeks of hourly load held at the autoscaling targets (CPU 70, memory 75): the
    retuned alarms never fire; the old size-only rule's thresholds fire most of the time."""
    before, after = svc(1024, 2048), svc(512, 1024)
    for kind, target in (("cpuHigh", 70.0), ("memoryHigh", 75.0)):
        trace = _held_at_target_trace(target, 14 * 24, swing=alarm_thresholds.ALARM_TARGET_MARGIN * 0.8)
        new = alarm_threshold(kind, 80.0, before, after, target)
        assert _hours_firing(new, trace) == 0, kind
        size_only = alarm_threshold(kind, 80.0, before, after)  # no target known: 80 -> 60
        assert _hours_firing(size_only, trace) == len(trace), kind


def test_fixed_never_cuts_below_the_observed_peak_when_history_exists():
    current = svc(2048, 4096, desired=3, min_capacity=2)
    # peak memory 1,497 MiB per task at 3 tasks: 36.5% of 4096; busiest hour 40% CPU
    usage = Usage(cpu_p95_pct=20.0, mem_peak_pct=36.5, datapoints=336, days_covered=14.0, cpu_peak_pct=40.0)
    decision = sizing.plan_service(current, "dev", "fixed", usage, SizingOptions())
    cpu_need, mem_need = task_sizes.per_task_need(current, usage, decision.after.desired_count, 0.0)
    assert decision.after.memory >= mem_need and decision.after.cpu >= cpu_need
    assert decision.after.memory > 1024  # the blind halving would have been 1024 MiB
    assert "the observed peak" in decision.reason
    # without history fixed halves as before
    blind = sizing.plan_service(current, "dev", "fixed", None, SizingOptions())
    assert (blind.after.cpu, blind.after.memory) == (1024, 2048)


def test_unknown_alarm_kind_is_rejected():
    with pytest.raises(ValueError, match="diskFull"):
        alarm_threshold("diskFull", 80.0, svc(), svc())


def test_per_task_need_covers_the_busiest_hour_unpadded():
    """A bursty service: p95 with headroom is below its peak hour, so the peak decides."""
    current = ServiceState(service="bursty", cpu=1024, memory=2048, desired_count=2, min_capacity=1, max_capacity=6)
    steady = Usage(cpu_p95_pct=20.0, mem_peak_pct=30.0, datapoints=336, days_covered=14.0)
    bursty = Usage(cpu_p95_pct=20.0, mem_peak_pct=30.0, datapoints=336, days_covered=14.0, cpu_peak_pct=60.0)
    cpu_steady, _ = task_sizes.per_task_need(current, steady, 2, 0.2)
    cpu_bursty, _ = task_sizes.per_task_need(current, bursty, 2, 0.2)
    assert cpu_steady == pytest.approx(0.20 * 1.2 * 1024)
    assert cpu_bursty == pytest.approx(0.60 * 1024)


def test_usage_from_series_reports_the_peak_and_rescale_keeps_it():
    usage = usage_mod.usage_from_series([10.0] * 95 + [90.0] * 5, [40.0] * 100, 3600)
    assert usage.cpu_p95_pct == 10.0 and usage.cpu_peak_pct == 90.0
    before = ServiceState(service="s", cpu=1024, memory=2048, desired_count=2, min_capacity=1, max_capacity=4)
    after = before.with_changes(cpu=512, memory=1024)
    assert usage_mod.rescale_usage(usage, before, after).cpu_peak_pct == pytest.approx(180.0)


# ----------------------------------------------------------------- alarms at the autoscaling maximum

#: The bench fleets' target-tracking values: CPU held at 70%, memory at 75% (alarms at 80 / 85).
TRACKING = {"cpuHigh": 70.0, "memoryHigh": 75.0}


def test_tasks_below_alarm_is_strictly_below():
    # 1600 units over tasks of 1000 at an 80% alarm: 2 tasks sit exactly at 80% -> 3 needed
    assert alarm_ceiling.tasks_below_alarm(1600.0, 1000, 80.0) == 3
    assert alarm_ceiling.tasks_below_alarm(1599.0, 1000, 80.0) == 2
    assert alarm_ceiling.tasks_below_alarm(0.0, 1000, 80.0) == 1


def test_metrics_raises_the_maximum_so_the_busiest_hour_stays_below_the_cpu_alarm():
    # 3 x 2048/4096, max 3, busiest hour 45% CPU = 2764.8 units. At 2 tasks each needs
    # 67.5% x 2048 = 1382 units -> 2048/4096; at 3 tasks 921.6 -> 1024/2048, cheaper
    # (3 vCPU + 6 GB against 4 vCPU + 8 GB). At max 3 the busiest hour is 921.6 / 1024 = 90%
    # per task, above the 80% alarm (70 + 10): the old rule left max 3 and the alarm firing.
    state = svc(2048, 4096, desired=3, min_capacity=3, max_capacity=3)
    usage = Usage(cpu_p95_pct=30.0, mem_peak_pct=20.0, datapoints=336, days_covered=14.0, cpu_peak_pct=45.0)
    decision = plan_service(state, "prod", "metrics", usage, OPTS, autoscaling_targets=TRACKING)
    after = decision.after
    assert (size(after), after.desired_count) == ((1024, 2048), 3)
    # floor(2764.8 / 819.2) + 1 = 4 tasks keep it below 80%. At the top, 4 x (1 vCPU + 2 GB)
    # costs less than growing to the next CPU at max 3: 3 x 2048/4096 (6 vCPU + 12 GB).
    assert after.max_capacity == 4
    assert 2764.8 / (after.max_capacity * after.cpu) * 100 < 80.0
    assert "autoscaling maximum raised from 3 to 4" in decision.reason and "max 3 -> 4" in decision.reason
    # without target tracking nothing ties the alarm to the maximum: the old plan
    without = plan_service(state, "prod", "metrics", usage, OPTS)
    assert (size(without.after), without.after.max_capacity) == ((1024, 2048), 3)


def test_the_size_grows_where_that_is_cheaper_at_the_top_than_a_higher_maximum():
    # 1 x 512/4096, min = max = 1, busiest hour 90% CPU = 460.8 units, peak memory 80%.
    # The cheapest cover of one task is 512/4096 again (460.8 units, 3932 MiB with headroom),
    # 90% of its CPU at max 1, above the 80% alarm. Raising the maximum takes
    # floor(460.8 / 409.6) + 1 = 2 x 512/4096 = 1 vCPU + 8 GB at the top; growing to a CPU
    # above 460.8 / 0.8 = 576 -> 1024/4096 = 1 vCPU + 4 GB, cheaper: the size grows.
    state = svc(512, 4096, desired=1, min_capacity=1, max_capacity=1)
    usage = Usage(cpu_p95_pct=30.0, mem_peak_pct=80.0, datapoints=336, days_covered=14.0, cpu_peak_pct=90.0)
    decision = plan_service(state, "prod", "metrics", usage, OPTS, autoscaling_targets=TRACKING)
    after = decision.after
    assert (size(after), after.desired_count, after.max_capacity) == ((1024, 4096), 1, 1)
    assert 460.8 / after.cpu * 100 < 80.0
    assert "grown from 512/4096 to 1024/4096" in decision.reason
    old_rule = plan_service(state, "prod", "metrics", usage, OPTS)
    assert (size(old_rule.after), old_rule.after.max_capacity) == ((512, 4096), 1)  # 90% CPU at its maximum


def test_memory_alarm_at_the_maximum_looks_at_memory_only():
    # Peak memory 90% of 3 x 2048 = 5529.6 MiB; alarm 85% (75 + 10): 90% per task at max 3.
    # Raise: floor(5529.6 / 1740.8) + 1 = 4 x 1024/2048 = 4 vCPU + 8 GB at the top. Grow: the
    # cheapest pair above 5529.6 / (3 x 0.85) = 2168.5 MiB with at least 1024 CPU, 1024/3072,
    # 3 vCPU + 9 GB, cheaper (9 GB cost less than 1 vCPU): the memory grows.
    state = svc(1024, 2048, desired=3, min_capacity=3, max_capacity=3)
    usage = long_usage(10, 90)
    notes: List[str] = []
    grown, high = alarm_ceiling.alarm_safe_ceiling(state, usage, (1024, 2048), {"memoryHigh": 75.0}, notes)
    assert (grown, high) == ((1024, 3072), 3)
    assert "memoryHigh 85%" in notes[0]
    # a CPU target alone does not look at memory
    assert alarm_ceiling.alarm_safe_ceiling(state, usage, (1024, 2048), {"cpuHigh": 70.0}, []) == ((1024, 2048), 3)


@pytest.mark.parametrize(
    "current,max_capacity,peak,mem",
    [((2048, 4096), 3, 45.0, 20.0), ((1024, 2048), 3, 90.0, 20.0), ((512, 4096), 1, 90.0, 80.0)],
)
def test_alarm_safe_plan_rerun_is_a_no_op(current, max_capacity, peak, mem):
    state = svc(*current, desired=max_capacity, min_capacity=max_capacity, max_capacity=max_capacity)
    usage = Usage(cpu_p95_pct=30.0, mem_peak_pct=mem, datapoints=336, days_covered=14.0, cpu_peak_pct=peak)
    first = plan_service(state, "prod", "metrics", usage, OPTS, autoscaling_targets=TRACKING)
    assert first.after != state
    again = rescale_usage(usage, state, first.after)
    second = plan_service(first.after, "prod", "metrics", again, OPTS, autoscaling_targets=TRACKING)
    assert second.after == first.after
    assert second.policy_used == "unchanged"
