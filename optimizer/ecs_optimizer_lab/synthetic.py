"""Deterministic synthetic workload data: utilization traces and container images.

The local demo and the benchmarks need a fleet that behaves like a real one: CPU that follows
the working day, bursts that an hourly average hides, memory that creeps until the next
deployment restarts the tasks, and ECR repositories whose images grow a little with every
build. Everything here is generated from a seed (Python's ``random.Random`` seeded with a
string is stable across runs and platforms), so a demo or benchmark run can be repeated and
compared figure for figure.

Traces are in percent of the service's CURRENT reservation, the unit of the ``AWS/ECS``
``CPUUtilization`` and ``MemoryUtilization`` metrics (service-wide averages over the running
tasks), sampled every five minutes. :meth:`Trace.hours` aggregates them per hour the way
CloudWatch does for an hourly period, which is what the optimizer reads back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import random
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Sequence, Tuple

#: The seed of every generated image and trace unless a caller picks another.
DEFAULT_SEED = 20261101

#: The trace shapes the benchmarks and the demo use.
TRACE_KINDS = ("steady", "daily", "bursty", "memoryCreep")

#: Five-minute samples: fine enough that a 10-minute burst is visible in an hour's Maximum.
SAMPLE_MINUTES = 5
SAMPLES_PER_HOUR = 60 // SAMPLE_MINUTES

#: A task cannot use more than its reservation: CPU is throttled at 100%, and memory above
#: 100% means the task was killed, which a trace of a running service does not show.
UTILIZATION_CEILING = 100.0

_MIB = 1024 * 1024


def _rng(*parts: object) -> random.Random:
    """A generator seeded by ``parts``; string seeds are hashed (SHA-512) by ``random``,
    so the stream is the same on every run and every platform."""
    return random.Random(":".join(str(p) for p in parts))


# --------------------------------------------------------------------------- traces


@dataclass(frozen=True)
class TraceSpec:
    """How one service uses its tasks.

    ``cpu`` and ``memory`` are the MEAN utilization over the trace, in percent of the current
    reservation; ``kind`` sets the shape around that mean (the peak of a daily trace is about
    1.7 times its mean, a bursty trace's five-minute peaks about three times). ``seed``
    varies services of the same kind.
    """

    kind: str
    cpu: float
    memory: float
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in TRACE_KINDS:
            raise ValueError(f"trace kind {self.kind!r} is not one of: {', '.join(TRACE_KINDS)}")
        for name in ("cpu", "memory"):
            value = getattr(self, name)
            if not 0 < value < UTILIZATION_CEILING:
                raise ValueError(f"trace {name} mean must be between 0 and 100 percent, got {value}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TraceSpec":
        return cls(
            kind=str(data["kind"]),
            cpu=float(data["cpu"]),
            memory=float(data["memory"]),
            seed=int(data.get("seed", 0)),
        )

    def to_dict(self) -> Dict[str, Any]:
        return {"kind": self.kind, "cpu": self.cpu, "memory": self.memory, "seed": self.seed}


@dataclass(frozen=True)
class HourStats:
    """One metric's statistics over one hour, as PutMetricData ``StatisticValues`` takes them."""

    sample_count: int
    total: float
    minimum: float
    maximum: float

    @property
    def average(self) -> float:
        return self.total / self.sample_count

    def statistic_values(self) -> Dict[str, float]:
        return {
            "SampleCount": float(self.sample_count),
            "Sum": self.total,
            "Minimum": self.minimum,
            "Maximum": self.maximum,
        }


@dataclass(frozen=True)
class TraceHour:
    start: dt.datetime
    cpu: HourStats
    memory: HourStats


@dataclass(frozen=True)
class Trace:
    """Five-minute CPU and memory samples from ``start`` (an hour boundary, UTC)."""

    start: dt.datetime
    cpu: Tuple[float, ...]
    memory: Tuple[float, ...]

    @property
    def hour_count(self) -> int:
        return len(self.cpu) // SAMPLES_PER_HOUR

    def hours(self) -> List[TraceHour]:
        """Per-hour statistics, oldest first: what CloudWatch holds for a 1-hour period."""
        out = []
        for h in range(self.hour_count):
            span = slice(h * SAMPLES_PER_HOUR, (h + 1) * SAMPLES_PER_HOUR)
            out.append(
                TraceHour(
                    start=self.start + dt.timedelta(hours=h),
                    cpu=_stats(self.cpu[span]),
                    memory=_stats(self.memory[span]),
                )
            )
        return out

    def hourly_cpu_average(self) -> List[float]:
        """Per-hour Average CPU: the series the optimizer's percentile is taken over."""
        return [h.cpu.average for h in self.hours()]

    def hourly_memory_maximum(self) -> List[float]:
        """Per-hour Maximum memory: the series the optimizer takes the peak of."""
        return [h.memory.maximum for h in self.hours()]


def _stats(samples: Sequence[float]) -> HourStats:
    return HourStats(len(samples), float(sum(samples)), float(min(samples)), float(max(samples)))


def history_start(days: int, now: dt.datetime | None = None) -> dt.datetime:
    """The first hour of a ``days``-long history ending at the last full hour before ``now``."""
    now = now or dt.datetime.now(dt.timezone.utc)
    end = now.astimezone(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
    return end - dt.timedelta(days=days)


def generate_trace(spec: TraceSpec, days: int, start: dt.datetime, fleet_seed: int | str) -> Trace:
    """The five-minute trace of ``spec`` over ``days`` days from ``start``.

    Each shape is built around 1.0, scaled so that its mean over the trace is exactly the
    spec's mean, then clipped to the ceiling. Business hours are placed in a time zone drawn
    per service (UTC-8 to UTC+2), weekends run at 60% of a weekday.
    """
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    rng = _rng(fleet_seed, spec.kind, spec.seed)
    n = days * 24 * SAMPLES_PER_HOUR
    times = [start + dt.timedelta(minutes=SAMPLE_MINUTES * i) for i in range(n)]
    tz_offset = rng.randint(-8, 2)
    daily = [_business_day(t, tz_offset) for t in times]

    if spec.kind == "steady":
        cpu_shape = [1.0 + rng.gauss(0, 0.05) for _ in range(n)]
        mem_shape = [1.0 + rng.gauss(0, 0.015) for _ in range(n)]
    elif spec.kind == "daily":
        cpu_shape = [d * (1.0 + rng.gauss(0, 0.06)) for d in daily]
        # Memory follows load only partly: caches and connection pools fill with traffic.
        mem_shape = [(0.85 + 0.15 * d) * (1.0 + rng.gauss(0, 0.01)) for d in daily]
    elif spec.kind == "bursty":
        bursts = _bursts(rng, n, per_day=4.0)
        cpu_shape = [(0.8 + 0.2 * d) * (1.0 + rng.gauss(0, 0.08)) * b for d, b in zip(daily, bursts)]
        mem_shape = [(1.0 + 0.08 * (b - 1.0)) * (1.0 + rng.gauss(0, 0.01)) for b in bursts]
    else:  # memoryCreep
        cpu_shape = [(0.7 + 0.3 * d) * (1.0 + rng.gauss(0, 0.05)) for d in daily]
        mem_shape = _sawtooth(rng, n)

    return Trace(
        start=start,
        cpu=tuple(_scaled(cpu_shape, spec.cpu)),
        memory=tuple(_scaled(mem_shape, spec.memory)),
    )


def _business_day(t: dt.datetime, tz_offset: int) -> float:
    """Load relative to a quiet night: 0.35 at night, rising to 1.0 in the early afternoon."""
    local = t + dt.timedelta(hours=tz_offset)
    hour = local.hour + local.minute / 60.0
    level = 0.35
    if 7.0 <= hour <= 21.0:
        level += 0.65 * math.sin(math.pi * (hour - 7.0) / 14.0) ** 1.5
    if local.weekday() >= 5:
        level *= 0.6
    return level


def _bursts(rng: random.Random, n: int, per_day: float) -> List[float]:
    """Multipliers: 1.0 normally, 2.5x to 4x for 5 to 30 minutes at Poisson-spaced times."""
    factors = [1.0] * n
    mean_gap = SAMPLES_PER_HOUR * 24 / per_day
    i = int(rng.expovariate(1.0 / mean_gap))
    while i < n:
        length = rng.randint(1, 6)
        magnitude = rng.uniform(2.5, 4.0)
        for j in range(i, min(n, i + length)):
            factors[j] = magnitude
        i += length + int(rng.expovariate(1.0 / mean_gap))
    return factors


def _sawtooth(rng: random.Random, n: int) -> List[float]:
    """A leak: memory grows about 15% a day and drops back when a deployment restarts the
    tasks, every three to five days."""
    out = []
    i = 0
    while i < n:
        run = rng.randint(3, 5) * 24 * SAMPLES_PER_HOUR
        for k in range(min(run, n - i)):
            days_up = k / (24 * SAMPLES_PER_HOUR)
            out.append((0.75 + 0.15 * days_up) * (1.0 + rng.gauss(0, 0.01)))
        i += run
    return out


def _scaled(shape: Sequence[float], mean: float) -> List[float]:
    factor = mean / (sum(shape) / len(shape))
    return [min(UTILIZATION_CEILING, max(0.0, v * factor)) for v in shape]


# --------------------------------------------------------------------------- images


@dataclass(frozen=True)
class SyntheticImage:
    """One pushed build: its tag and its compressed layer sizes (base image first)."""

    tag: str
    layers: Tuple[int, ...]

    @property
    def size(self) -> int:
        """What ECR reports as ``imageSizeInBytes``: the sum of the compressed layers."""
        return sum(self.layers)

    def manifest(self) -> str:
        """A Docker image manifest v2 (schema 2) naming the layers by digest and size."""

        def digest(kind: str, index: int, size: int) -> str:
            return "sha256:" + hashlib.sha256(f"{self.tag}:{kind}:{index}:{size}".encode()).hexdigest()

        layers = [
            {
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "size": size,
                "digest": digest("layer", i, size),
            }
            for i, size in enumerate(self.layers)
        ]
        config_size = 1469 + 120 * len(self.layers)
        return json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {
                    "mediaType": "application/vnd.docker.container.image.v1+json",
                    "size": config_size,
                    "digest": digest("config", 0, config_size),
                },
                "layers": layers,
            },
            sort_keys=True,
        )


def repository_images(repository: str, count: int, seed: int | str) -> List[SyntheticImage]:
    """``count`` builds of one repository, oldest first.

    The base layers (OS and runtime, 40 to 600 MiB compressed depending on the stack: an
    nginx frontend is small, a JVM or Python data service large) are shared by every build;
    the application layers drift by a few percent from build to build.
    """
    if count < 0:
        raise ValueError(f"image count must not be negative, got {count}")
    rng = _rng(seed, "images", repository)
    total = math.exp(rng.uniform(math.log(40 * _MIB), math.log(600 * _MIB)))
    base_share = rng.uniform(0.55, 0.8)
    base_layers = _split(rng, total * base_share, rng.randint(2, 4))
    app_size = total * (1.0 - base_share)
    images = []
    for build in range(1, count + 1):
        app_size *= 1.0 + rng.gauss(0.004, 0.02)
        app_layers = _split(rng, app_size, rng.randint(2, 4))
        sha = hashlib.sha1(f"{repository}:{build}".encode()).hexdigest()[:7]
        images.append(SyntheticImage(tag=f"{build:04d}-{sha}", layers=tuple(base_layers + app_layers)))
    return images


def _split(rng: random.Random, total: float, parts: int) -> List[int]:
    weights = [rng.uniform(0.2, 1.0) for _ in range(parts)]
    scale = total / sum(weights)
    return [max(1, int(w * scale)) for w in weights]


def fleet_traces(services: Sequence[str], seed: int | str) -> Dict[str, TraceSpec]:
    """A trace for each of ``services`` (sorted), the kinds taken in turn starting with
    ``daily``, mean CPU drawn between 8% and 30% and mean memory between 25% and 55% of
    today's reservation: the lightly used, generously sized services a first optimization
    run typically finds."""
    rng = _rng(seed, "fleet-traces")
    out: Dict[str, TraceSpec] = {}
    for i, name in enumerate(sorted(services)):
        out[name] = TraceSpec(
            kind=TRACE_KINDS[(TRACE_KINDS.index("daily") + i) % len(TRACE_KINDS)],
            cpu=round(rng.uniform(8.0, 30.0), 1),
            memory=round(rng.uniform(25.0, 55.0), 1),
            seed=i,
        )
    return out
