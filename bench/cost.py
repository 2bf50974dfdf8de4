"""Cost benchmark: what the optimizer saves on the reference fleets, how close it gets to the
cheapest safe configuration, and whether any new size is too small for the load it carries.

For each fleet in ``bench/fleets`` and each utilization shape (steady, daily peak, bursty,
memory creeping), every service gets a 14-day trace generated from a fixed seed around the
mean load its fleet file gives. Then, with the optimizer's own modules:

* the service's usage is reduced from the trace exactly as the optimizer reduces CloudWatch
  history (hourly Average CPU, hourly Maximum memory: ``usage.usage_from_series``);
* ``sizing.plan_service`` (policy ``auto``, default options) plans the new state;
* ``savings.compute_savings`` prices before and after, lever by lever, from the embedded
  price table (network outputs included where the fleet has them).

The limit is found by exhaustive search: for each service, every valid Fargate size
(``fargate.all_pairs``) and every task count from 2 (one task may fail or be replaced while
the other serves) to the service's autoscaling maximum, keeping the optimizer's Spot strategy
and ECR retention so that only size and count differ, and priced with the same
``costs.service_monthly``. A configuration is safe when the trace never exceeds it:

* CPU: no hour's average CPU demand, spread over the tasks, is above a task's CPU;
* memory: no five-minute memory sample, spread over the tasks, is above a task's memory.

Neither check credits autoscaling, so both are stricter than production, where the
autoscaler adds tasks under load. The same checks count the optimizer's unsafe services.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ecs_optimizer.core import fargate
from ecs_optimizer.core.model import CapacityStrategy, NetworkState, ServiceState
from ecs_optimizer.core.usage import usage_from_series
from ecs_optimizer.network.inputs import network_state
from ecs_optimizer.planning import sizing
from ecs_optimizer.planning.alarm_thresholds import CPU_HIGH, MEMORY_HIGH, alarm_threshold
from ecs_optimizer.pricing.costs import network_costs, service_monthly
from ecs_optimizer.pricing.prices import HOURS_PER_MONTH, PriceTable, table_prices
from ecs_optimizer.pricing.savings import CATEGORIES, compute_savings
from ecs_optimizer_lab.synthetic import TRACE_KINDS, Trace, TraceSpec, generate_trace, repository_images

#: Every trace starts here, so results do not depend on the day the benchmark runs.
TRACE_START = dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc)
TRACE_DAYS = 14
#: The benchmark's fixed random seed (each fleet adds its own).
BENCH_SEED = 20261101
#: Fargate Spot's discount on on-demand (up to 70%; docs/pricing.md).
SPOT_DISCOUNT = 0.70
#: The fewest tasks a safe configuration runs: one can fail or be redeployed while one serves.
MIN_SAFE_TASKS = 2
#: The lever sets a fleet is run with: today's, and today's plus Graviton where the images allow.
LEVER_SETS = ("today", "with Graviton")


@dataclass(frozen=True)
class Fleet:
    name: str
    path: Path
    tier: str
    region: str
    description: str
    source: str
    seed: int
    services: Dict[str, Dict[str, Any]]  # compute-contract entries
    bench: Dict[str, Dict[str, Any]]  # per service: load, ecr, capacityProviderStrategy
    network: Optional[NetworkState]
    autoscaling: Tuple[float, float]  # target-tracking goals, percent: (CPU, memory)
    alarms: Tuple[float, float]  # cpu-high and memory-high thresholds today, percent


def nat_traffic_gb(network: Mapping[str, Any], prices: PriceTable) -> float:
    """GB a month of traffic the fleet's NAT gateways process, implied by its stated NAT bill.

    A fleet's source may state what its NAT gateways cost (the twelve-service fleet's: $500 a month); beyond the
    gateways' hourly charge, that bill is per-GB data processing at list price. As in that
    source, the traffic is taken to be AWS-bound, which VPC endpoints carry instead.
    """
    bill = network.get("natMonthlyBill")
    if bill is None:
        return 0.0
    hourly = Decimal(int(network["natGatewayCount"])) * prices.nat_gateway_hour * HOURS_PER_MONTH
    return float(max(Decimal(0), (Decimal(str(bill)) - hourly) / prices.nat_gateway_gb))


def load_fleet(path: Path) -> Fleet:
    data = json.loads(path.read_text(encoding="utf-8"))
    bench = data["bench"]
    net = bench.get("network")
    network = (
        network_state(net, f"{path}: bench.network", nat_traffic_gb(net, table_prices(data["region"]))) if net else None
    )
    return Fleet(
        name=path.stem,
        path=path,
        tier=data["tier"],
        region=data["region"],
        description=bench["description"],
        source=bench["source"],
        seed=int(bench["seed"]),
        services=data["services"],
        bench=bench["services"],
        network=network,
        autoscaling=(
            float(bench["autoscaling"]["cpuTargetPercent"]),
            float(bench["autoscaling"]["memoryTargetPercent"]),
        ),
        alarms=(float(bench["alarms"]["cpuHigh"]), float(bench["alarms"]["memoryHigh"])),
    )


def before_state(fleet: Fleet, name: str) -> ServiceState:
    """The service as its fleet file declares it, with generated ECR images (newest first)."""
    spec, extra = fleet.services[name], fleet.bench[name]
    images = repository_images(spec["repositoryName"], int(extra["ecr"]["images"]), f"{BENCH_SEED}:{fleet.seed}")
    return ServiceState(
        service=name,
        cpu=int(spec["cpu"]),
        memory=int(spec["memory"]),
        desired_count=int(spec["desiredCount"]),
        min_capacity=int(spec["minCapacity"]),
        max_capacity=int(spec["maxCapacity"]),
        critical=bool(spec["critical"]),
        strategy=CapacityStrategy.from_aws(extra.get("capacityProviderStrategy")),
        ecr_keep_images=extra["ecr"]["keepImages"],
        ecr_image_bytes=tuple(i.size for i in reversed(images)),
    )


def service_trace(fleet: Fleet, name: str, kind: str) -> Trace:
    load = fleet.bench[name]["load"]
    index = sorted(fleet.services).index(name)
    spec = TraceSpec(kind=kind, cpu=float(load["cpu"]), memory=float(load["memory"]), seed=index)
    return generate_trace(spec, TRACE_DAYS, TRACE_START, f"{BENCH_SEED}:{fleet.seed}")


@dataclass(frozen=True)
class Demand:
    """A trace's peaks in absolute units, for the whole service."""

    cpu_units: float  # the highest hourly-average CPU demand
    memory_mib: float  # the highest five-minute memory sample

    @classmethod
    def of(cls, trace: Trace, before: ServiceState) -> "Demand":
        cpu_reserved = before.cpu * before.desired_count
        mem_reserved = before.memory * before.desired_count
        return cls(
            cpu_units=max(trace.hourly_cpu_average()) / 100.0 * cpu_reserved,
            memory_mib=max(trace.memory) / 100.0 * mem_reserved,
        )

    def fits(self, cpu: int, memory: int, tasks: int) -> bool:
        return self.cpu_units / tasks <= cpu and self.memory_mib / tasks <= memory

    def headroom(self, state: ServiceState) -> Tuple[float, float]:
        """Peak per-task demand as a share of the task's CPU and memory (1.0 = full)."""
        return (
            self.cpu_units / state.desired_count / state.cpu,
            self.memory_mib / state.desired_count / state.memory,
        )


def tasks_in_hour(state: ServiceState, cpu_units: float, memory_mib: float, targets: Tuple[float, float]) -> int:
    """The tasks target tracking (``targets``: CPU and memory goals, percent) runs for an
    hour's demand, within the service's min..max.

    A simplification of the autoscaler: it reaches the count the hour needs within the hour
    (no scale-out lag, no cooldown)."""
    need = max(
        math.ceil(cpu_units / (targets[0] / 100 * state.cpu)),
        math.ceil(memory_mib / (targets[1] / 100 * state.memory)),
        1,
    )
    return max(state.min_capacity, min(state.max_capacity, need))


def hourly_demand(trace: Trace, reference: ServiceState) -> List[Tuple[float, float]]:
    """Per trace hour, the service's (CPU units, MiB): hourly average CPU and hourly maximum
    memory, as percentages of what ``reference`` reserves."""
    cpu_reserved = reference.cpu * reference.desired_count
    mem_reserved = reference.memory * reference.desired_count
    return [
        (cpu_pct / 100 * cpu_reserved, mem_pct / 100 * mem_reserved)
        for cpu_pct, mem_pct in zip(trace.hourly_cpu_average(), trace.hourly_memory_maximum())
    ]


def task_hours_above(state: ServiceState, trace: Trace, reference: ServiceState, targets: Tuple[float, float]) -> int:
    """Task-hours target tracking runs ``state`` above ``reference``'s maximum over the trace:
    what a raised autoscaling maximum is used for (the monthly totals price the desired count)."""
    return sum(
        max(0, tasks_in_hour(state, cpu_units, memory_mib, targets) - reference.max_capacity)
        for cpu_units, memory_mib in hourly_demand(trace, reference)
    )


def alarm_hours(
    state: ServiceState,
    trace: Trace,
    reference: ServiceState,
    thresholds: Tuple[float, float],
    targets: Tuple[float, float],
) -> List[bool]:
    """Per trace hour, whether cpu-high (hourly average CPU) or memory-high (hourly maximum
    memory) is above its threshold on ``state``'s tasks; ``reference`` is the state the
    trace's percentages are of."""
    firing = []
    for cpu_units, memory_mib in hourly_demand(trace, reference):
        tasks = tasks_in_hour(state, cpu_units, memory_mib, targets)
        cpu_util = cpu_units / (tasks * state.cpu) * 100
        mem_util = memory_mib / (tasks * state.memory) * 100
        firing.append(cpu_util > thresholds[0] or mem_util > thresholds[1])
    return firing


def new_alarm_hours(fleet: Fleet, before: ServiceState, after: ServiceState, trace: Trace) -> int:
    """Hours in which cpu-high or memory-high fires after the plan (at the thresholds the
    optimizer retunes the fleet's thresholds to) but did not fire before it.

    The optimizer reads each service's target-tracking goals from Application Auto Scaling and
    sets cpu-high and memory-high a margin above them; the fleet file's ``autoscaling`` goals
    are what it would read, and the replay scales the tasks to those same goals."""
    retuned = (
        alarm_threshold(CPU_HIGH, fleet.alarms[0], before, after, autoscaling_target=fleet.autoscaling[0]),
        alarm_threshold(MEMORY_HIGH, fleet.alarms[1], before, after, autoscaling_target=fleet.autoscaling[1]),
    )
    was = alarm_hours(before, trace, before, fleet.alarms, fleet.autoscaling)
    now = alarm_hours(after, trace, before, retuned, fleet.autoscaling)
    return sum(1 for w, n in zip(was, now) if n and not w)


def cheapest_safe(after: ServiceState, demand: Demand, prices: PriceTable) -> Tuple[ServiceState, Fraction]:
    """The cheapest (size, count) the trace never exceeds, all else as ``after``; the cost is
    exact (the savings model's own arithmetic), rounded only when reported."""
    discount = Fraction(str(SPOT_DISCOUNT))
    best: Optional[Tuple[Fraction, ServiceState]] = None
    top = max(after.max_capacity, after.desired_count, MIN_SAFE_TASKS)
    for tasks in range(MIN_SAFE_TASKS, top + 1):
        for cpu, memory in fargate.all_pairs():
            if not demand.fits(cpu, memory, tasks):
                continue
            state = after.with_changes(cpu=cpu, memory=memory, desired_count=tasks)
            cost = Fraction(service_monthly(state, prices, discount))
            if best is None or cost < best[0]:
                best = (cost, state)
    if best is None:
        raise ValueError(f"{after.service}: no Fargate size and count up to {top} tasks carries the trace")
    return best[1], best[0]


@dataclass
class ServiceResult:
    name: str
    before: ServiceState
    after: ServiceState
    limit: ServiceState
    policy: str
    cpu_peak: float  # peak per-task demand / task CPU, after, at the desired count
    memory_peak: float
    fits_at_max: bool  # the peaks fit when the autoscaler runs the service at its maximum
    new_alarm_hours: int = 0  # hours a cpu-high or memory-high alarm fires after but not before
    task_hours_above_max: int = 0  # task-hours the autoscaler runs above the old maximum

    @property
    def unsafe(self) -> bool:
        """The new size is exceeded by the trace at the new desired count (the benchmark's bar)."""
        return self.cpu_peak > 1.0 or self.memory_peak > 1.0


@dataclass
class FleetResult:
    fleet: Fleet
    kind: str
    before: float
    after: float
    percent: float
    limit: float
    breakdown: Dict[str, float]
    services: List[ServiceResult] = field(default_factory=list)
    notes: Tuple[str, ...] = ()
    levers: str = LEVER_SETS[0]
    savings_plan: Dict[str, float] = field(default_factory=dict)  # term -> monthly saving (not applied)

    @property
    def new_alarm_hours(self) -> int:
        return sum(s.new_alarm_hours for s in self.services)

    @property
    def task_hours_above_max(self) -> int:
        return sum(s.task_hours_above_max for s in self.services)

    @property
    def ratio(self) -> float:
        return self.after / self.limit if self.limit else 1.0

    @property
    def unsafe(self) -> int:
        return sum(1 for s in self.services if s.unsafe)

    @property
    def unsafe_at_max(self) -> int:
        """Services whose peaks exceed the new size even with the autoscaler at its maximum."""
        return sum(1 for s in self.services if not s.fits_at_max)


def run_fleet(fleet: Fleet, kind: str, levers: str = LEVER_SETS[0]) -> FleetResult:
    prices = table_prices(fleet.region)
    opts = sizing.SizingOptions()
    before: Dict[str, ServiceState] = {}
    after: Dict[str, ServiceState] = {}
    results: List[ServiceResult] = []
    limit_total = Fraction(0)
    # what the optimizer reads from each service's target-tracking policies
    targets = {CPU_HIGH: fleet.autoscaling[0], MEMORY_HIGH: fleet.autoscaling[1]}
    for name in sorted(fleet.services):
        b = before_state(fleet, name)
        trace = service_trace(fleet, name, kind)
        usage = usage_from_series(trace.hourly_cpu_average(), trace.hourly_memory_maximum(), 3600)
        decision = sizing.plan_service(b, fleet.tier, "auto", usage, opts, baseline=b, autoscaling_targets=targets)
        a = decision.after
        if levers == "with Graviton" and fleet.bench[name]["ecr"].get("multiArch"):
            # what --allow-arm64 does once ECR shows every image is multi-arch with linux/arm64
            a = a.with_changes(architecture="ARM64")
        demand = Demand.of(trace, b)
        limit_state, limit_cost = cheapest_safe(a, demand, prices)
        limit_total += limit_cost
        cpu_peak, memory_peak = demand.headroom(a)
        before[name], after[name] = b, a
        fits_at_max = demand.fits(a.cpu, a.memory, max(a.max_capacity, a.desired_count))
        results.append(
            ServiceResult(
                name,
                b,
                a,
                limit_state,
                decision.policy_used,
                cpu_peak,
                memory_peak,
                fits_at_max,
                new_alarm_hours(fleet, b, a, trace),
                task_hours_above(a, trace, b, fleet.autoscaling),
            )
        )
    report = compute_savings(before, after, prices, fleet.network, SPOT_DISCOUNT)
    data = report.to_dict()
    if fleet.network is not None:
        limit_total += Fraction(network_costs(fleet.network, prices).after)
    return FleetResult(
        fleet=fleet,
        kind=kind,
        before=data["before"]["monthly"],
        after=data["after"]["monthly"],
        percent=data["percent"],
        limit=round(float(limit_total), 2),
        breakdown={b["category"]: b["monthly"] for b in data["breakdown"]},
        services=results,
        notes=report.notes,
        levers=levers,
        savings_plan={t["term"]: t["monthlySavings"] for t in (data["savingsPlan"] or {}).get("terms", [])},
    )


def run(fleet_dir: Path, kinds: Sequence[str] = TRACE_KINDS) -> List[FleetResult]:
    fleets = [load_fleet(p) for p in sorted(fleet_dir.glob("*.json"))]
    return [run_fleet(f, kind, levers) for f in fleets for kind in kinds for levers in LEVER_SETS]


# ----------------------------------------------------------------------------- report


def _usd(value: float) -> str:
    return f"${value:,.2f}"


def _size(s: ServiceState) -> str:
    spot = f", Spot {s.strategy.spot_share:.0%}" if s.strategy.spot_weight else ""
    arm = ", ARM64" if s.architecture == "ARM64" else ""
    return f"{s.desired_count} x {s.cpu}/{s.memory}{arm}{spot}"


#: The monthly cut the twelve-service fleet is held to, on every load shape.
GOAL_PERCENT = 70.0


def markdown(results: Sequence[FleetResult]) -> str:
    lines = [
        f"| fleet | services | trace | levers | before / month | after / month | reduction | {GOAL_PERCENT:.0f}% goal | limit / month | after / limit "
        "| unsafe | unsafe at max capacity | new alarm hours | task-hours above the old max |",
        "|---|---:|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        goal = "met" if r.percent >= GOAL_PERCENT else "missed"
        lines.append(
            f"| {r.fleet.name} ({r.fleet.tier}) | {len(r.services)} | {r.kind} | {r.levers} | {_usd(r.before)} | {_usd(r.after)} | "
            f"{r.percent:.1f}% | {goal} | {_usd(r.limit)} | {r.ratio:.3f} | {r.unsafe} | {r.unsafe_at_max} | {r.new_alarm_hours} | {r.task_hours_above_max} |"
        )
    lines += ["", "Savings by lever (monthly, levers applied in order):", ""]
    lines.append("| fleet | trace | levers | " + " | ".join(CATEGORIES) + " |")
    lines.append("|---|---|---|" + "---:|" * len(CATEGORIES))
    for r in results:
        lines.append(
            f"| {r.fleet.name} | {r.kind} | {r.levers} | " + " | ".join(_usd(r.breakdown[c]) for c in CATEGORIES) + " |"
        )
    terms = sorted({t for r in results for t in r.savings_plan})
    lines += [
        "",
        "Compute Savings Plan on the on-demand floor left after the plan (reported separately, never applied, "
        "not in the totals above; monthly saving by term):",
        "",
    ]
    lines.append("| fleet | trace | levers | " + " | ".join(terms) + " |")
    lines.append("|---|---|---|" + "---:|" * len(terms))
    for r in results:
        lines.append(
            f"| {r.fleet.name} | {r.kind} | {r.levers} | "
            + " | ".join(_usd(r.savings_plan.get(t, 0.0)) for t in terms)
            + " |"
        )
    notes = sorted({n for r in results for n in r.notes})
    if notes:
        lines += [""] + [f"- {n}" for n in notes]
    return "\n".join(lines)


def _max_change(s: ServiceResult) -> str:
    was, now = s.before.max_capacity, s.after.max_capacity
    return f", max {was} -> {now}" if was != now else ""


def service_table(result: FleetResult) -> str:
    """Per service: before, the optimizer's choice, the limit, and the peak load on the new size."""
    lines = [
        "| service | critical | before | after (policy) | limit | peak CPU / task CPU | peak memory / task memory |",
        "|---|---|---|---|---|---:|---:|",
    ]
    for s in result.services:
        lines.append(
            f"| {s.name} | {'yes' if s.before.critical else 'no'} | {_size(s.before)} | {_size(s.after)}{_max_change(s)} ({s.policy}) | "
            f"{_size(s.limit)} | {s.cpu_peak:.0%} | {s.memory_peak:.0%} |"
        )
    return "\n".join(lines)


def fleets_summary(results: Sequence[FleetResult]) -> Mapping[Tuple[str, str], Any]:
    """Worst case per fleet and lever set across the traces: the lowest reduction, the most
    unsafe services and the new alarm hours."""
    out: Dict[Tuple[str, str], Any] = {}
    for r in results:
        entry = out.setdefault(
            (r.fleet.name, r.levers),
            {
                "minPercent": r.percent,
                "maxPercent": r.percent,
                "unsafe": {},
                "unsafeAtMax": {},
                "ratios": [],
                "alarmHours": {},
                "goalMissed": [],
            },
        )
        entry["alarmHours"][r.kind] = r.new_alarm_hours
        if r.percent < GOAL_PERCENT:
            entry["goalMissed"].append(r.kind)
        entry["minPercent"] = min(entry["minPercent"], r.percent)
        entry["maxPercent"] = max(entry["maxPercent"], r.percent)
        entry["unsafe"][r.kind] = r.unsafe
        entry["unsafeAtMax"][r.kind] = r.unsafe_at_max
        entry["ratios"].append(r.ratio)
    return out
