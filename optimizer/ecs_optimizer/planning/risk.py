"""Performance risk and confidence of a recommendation: how likely the new configuration is to
hurt the service, and how much evidence the recommendation stands on.

Pure (no AWS call, no clock). The formula is documented in ``docs/recommendations.md``; the
tables below are that formula, and the tests build utilization traces that land in each band.

Risk adds points from six inputs (:data:`RISK_POINTS`), each read from the history and the
two states, then maps the sum to a level (:data:`RISK_BANDS`):

* coverage: the hours with utilization data over the hours of the lookback;
* variance: the coefficient of variation (standard deviation over mean) of hourly CPU;
* peak gap: how far the busiest hour's CPU is above the p95 the size is planned on;
* headroom: the spare capacity the new size leaves at p95 CPU and at peak memory;
* Spot share: the share of the service's tasks on Fargate Spot, which AWS can reclaim;
* critical: the service is marked critical in the platform's catalog.

A new size that cannot carry what the history shows (negative headroom) is ``high`` whatever
the other points say. Confidence is read from coverage alone and lowered one step by a noisy
history (:func:`confidence_of`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence, Tuple

from ..core.model import ServiceState
from ..core.usage import Usage

#: Risk levels, least first (the order ``--max-risk`` compares in).
RISK_LEVELS = ("very low", "low", "medium", "high")
#: Confidence levels, least first.
CONFIDENCE_LEVELS = ("low", "medium", "high")

#: Points per input: ``(bound, points)`` pairs tried in order; the first bound the value is
#: at or above (``coverage``, ``headroom``) or below (the others) gives the points.
COVERAGE_POINTS: Tuple[Tuple[float, int], ...] = ((0.9, 0), (0.5, 1), (0.0, 2))
#: No history at all (a blind ``fixed`` cut): the most coverage points.
NO_HISTORY_POINTS = 3
VARIANCE_POINTS: Tuple[Tuple[float, int], ...] = ((0.25, 0), (0.5, 1))
VARIANCE_MAX_POINTS = 2
PEAK_GAP_POINTS: Tuple[Tuple[float, int], ...] = ((0.25, 0), (0.5, 1))
PEAK_GAP_MAX_POINTS = 2
HEADROOM_POINTS: Tuple[Tuple[float, int], ...] = ((0.30, 0), (0.20, 1), (0.10, 2), (0.0, 3))
#: Headroom unknown (no history): as thin as the thinnest measured band.
UNKNOWN_HEADROOM_POINTS = 3
#: Some tasks on Spot: 1 point; more than half of them: 2.
SPOT_POINTS = (1, 2)
SPOT_MAJORITY = 0.5
CRITICAL_POINTS = 1

#: Highest point total of each level, in :data:`RISK_LEVELS` order (the last is open-ended).
RISK_BANDS = (1, 3, 5)

#: A coefficient of variation at or above this lowers confidence one step.
NOISY_VARIATION = 0.5
#: Coverage at or above these gives high, medium confidence (below: low).
CONFIDENCE_COVERAGE = (0.9, 0.5)


@dataclass(frozen=True)
class RiskInputs:
    """What the risk of one recommendation is computed from (all shares, 1.0 = 100%)."""

    coverage: Optional[float]  # None: no history
    cpu_variation: Optional[float]
    peak_gap: Optional[float]
    headroom: Optional[float]
    spot_share: float
    critical: bool

    def to_dict(self) -> Dict[str, Any]:
        def share(value: Optional[float]) -> Optional[float]:
            return None if value is None else round(value, 3)

        return {
            "coverage": share(self.coverage),
            "cpuVariation": share(self.cpu_variation),
            "peakGap": share(self.peak_gap),
            "headroom": share(self.headroom),
            "spotShare": share(self.spot_share),
            "critical": self.critical,
        }


@dataclass(frozen=True)
class Risk:
    """The performance risk of a recommendation, its confidence, and the points behind them."""

    level: str
    confidence: str
    score: int
    points: Dict[str, int]
    inputs: RiskInputs

    def to_dict(self) -> Dict[str, Any]:
        return {
            "level": self.level,
            "confidence": self.confidence,
            "score": self.score,
            "points": dict(self.points),
            "inputs": self.inputs.to_dict(),
        }


def risk_rank(level: str) -> int:
    """``level``'s place in :data:`RISK_LEVELS` (0 = very low); ValueError when unknown."""
    if level not in RISK_LEVELS:
        raise ValueError(f"risk level {level!r} is not one of: {', '.join(RISK_LEVELS)}")
    return RISK_LEVELS.index(level)


def _at_least(value: float, table: Sequence[Tuple[float, int]], otherwise: int) -> int:
    for bound, points in table:
        if value >= bound:
            return points
    return otherwise


def _below(value: float, table: Sequence[Tuple[float, int]], otherwise: int) -> int:
    for bound, points in table:
        if value < bound:
            return points
    return otherwise


def points_of(inputs: RiskInputs) -> Dict[str, int]:
    """The points each input adds (see the module docstring and the docs page)."""
    spot = 0
    if inputs.spot_share > 0:
        spot = SPOT_POINTS[1] if inputs.spot_share > SPOT_MAJORITY else SPOT_POINTS[0]
    return {
        "coverage": NO_HISTORY_POINTS
        if inputs.coverage is None
        else _at_least(inputs.coverage, COVERAGE_POINTS, NO_HISTORY_POINTS),
        "variance": 0
        if inputs.cpu_variation is None
        else _below(inputs.cpu_variation, VARIANCE_POINTS, VARIANCE_MAX_POINTS),
        "peakGap": 0 if inputs.peak_gap is None else _below(inputs.peak_gap, PEAK_GAP_POINTS, PEAK_GAP_MAX_POINTS),
        "headroom": UNKNOWN_HEADROOM_POINTS
        if inputs.headroom is None
        else _at_least(inputs.headroom, HEADROOM_POINTS, UNKNOWN_HEADROOM_POINTS + 1),
        "spot": spot,
        "critical": CRITICAL_POINTS if inputs.critical else 0,
    }


def level_of(score: int, headroom: Optional[float]) -> str:
    """The risk level of a point total; negative headroom is always ``high``."""
    if headroom is not None and headroom < 0:
        return RISK_LEVELS[-1]
    for level, top in zip(RISK_LEVELS, RISK_BANDS):
        if score <= top:
            return level
    return RISK_LEVELS[-1]


def confidence_of(coverage: Optional[float], cpu_variation: Optional[float]) -> str:
    """``high`` / ``medium`` / ``low`` from the history's coverage, one step lower when the
    hourly CPU varies by :data:`NOISY_VARIATION` of its mean or more."""
    if coverage is None:
        return CONFIDENCE_LEVELS[0]
    rank = 2 if coverage >= CONFIDENCE_COVERAGE[0] else 1 if coverage >= CONFIDENCE_COVERAGE[1] else 0
    if cpu_variation is not None and cpu_variation >= NOISY_VARIATION:
        rank = max(0, rank - 1)
    return CONFIDENCE_LEVELS[rank]


def risk_inputs(before: ServiceState, after: ServiceState, usage: Optional[Usage], lookback_days: int) -> RiskInputs:
    """The inputs of :func:`assess` for ``before`` becoming ``after`` under ``usage`` (a share
    of ``before``'s reservation, as the optimizer reads it)."""
    spot = (
        float(after.strategy.spot_task_fraction(after.desired_count) / after.desired_count)
        if after.desired_count
        else 0.0
    )
    if usage is None or before.desired_count == 0 or after.desired_count == 0:
        return RiskInputs(None, None, None, None, spot, after.critical)
    hours = max(1, lookback_days * 24)
    coverage = min(1.0, usage.datapoints / hours)
    variation = None
    if usage.cpu_mean_pct is not None and usage.cpu_stdev_pct is not None and usage.cpu_mean_pct > 0:
        variation = usage.cpu_stdev_pct / usage.cpu_mean_pct
    peak = usage.cpu_peak_pct if usage.cpu_peak_pct is not None else usage.cpu_p95_pct
    gap = (peak / usage.cpu_p95_pct - 1.0) if usage.cpu_p95_pct > 0 else 0.0
    cpu_demand = usage.cpu_p95_pct / 100.0 * before.cpu * before.desired_count
    mem_demand = usage.mem_peak_pct / 100.0 * before.memory * before.desired_count
    cpu_use = cpu_demand / (after.cpu * after.desired_count)
    mem_use = mem_demand / (after.memory * after.desired_count)
    return RiskInputs(coverage, variation, gap, 1.0 - max(cpu_use, mem_use), spot, after.critical)


def assess(inputs: RiskInputs) -> Risk:
    """Risk level, confidence and the points behind them."""
    points = points_of(inputs)
    score = sum(points.values())
    return Risk(
        level=level_of(score, inputs.headroom),
        confidence=confidence_of(inputs.coverage, inputs.cpu_variation),
        score=score,
        points=points,
        inputs=inputs,
    )
