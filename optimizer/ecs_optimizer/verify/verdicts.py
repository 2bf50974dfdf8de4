"""Each service's signals before and after a run, judged against thresholds, and its verdict.

Signals (``Signal``):

* ``5xx rate``: the target groups' ``HTTPCode_Target_5XX_Count`` over their ``RequestCount``,
  summed over the window (a blue/green pair of target groups is summed, as traffic moves
  between them). Regressed when it rose by more than ``max_5xx_increase`` percentage points
  AND to more than ``max_5xx_ratio`` times the rate before (a rate of 0 before: the points
  alone). Not judged with fewer than ``min_requests`` requests after the run.
* ``p99 response time``: the nearest-rank 99th percentile of the per-period average
  ``TargetResponseTime`` (weighted by requests across target groups). Regressed when it grew
  more than ``max_p99_ratio`` times AND by more than ``min_p99_increase`` seconds. Not judged
  with fewer than ``min_datapoints`` periods with requests on either side.
* ``peak CPU`` / ``peak memory``: the busiest period's ``CPUUtilization`` Average and
  ``MemoryUtilization`` Maximum, in percent of what the service reserves. A cut raises them
  by design (the same load on smaller tasks), so a rise alone is not a regression: it is one
  when the peak after is above ``max_peak_cpu`` / ``max_peak_memory`` AND rose by more than
  ``min_peak_increase`` points.
* ``OOM stops``: tasks stopped for memory after the run; any is a regression.
* ``alarms``: the service's alarms that went to ALARM after the run; any is a regression.

Verdicts: ``regressed`` when an event signal (OOM stops, alarms) regressed, or when a metric
signal did and there is enough data after the run; ``too early`` when the after window holds
fewer than ``min_datapoints`` periods of the service's CPU and memory series (never
``healthy`` then); ``healthy`` otherwise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from ..core.model import TextEnum
from .signals import nearest_rank


class Verdict(TextEnum):
    HEALTHY = "healthy"
    REGRESSED = "regressed"
    TOO_EARLY = "too early"


class Judgement(TextEnum):
    OK = "ok"
    REGRESSED = "regressed"
    #: Measured, but not enough to judge (too few requests or periods), or not measurable here.
    NOT_JUDGED = "not judged"


class Signal(TextEnum):
    ERROR_RATE = "5xx rate"
    P99 = "p99 response time"
    PEAK_CPU = "peak CPU"
    PEAK_MEMORY = "peak memory"
    OOM_STOPS = "OOM stops"
    ALARMS = "alarms"


#: Signals that are events: they count even while there is too little metric data.
EVENT_SIGNALS = (Signal.OOM_STOPS, Signal.ALARMS)


@dataclass(frozen=True)
class Thresholds:
    """What counts as a regression; each is a ``verify`` option (defaults documented there)."""

    max_5xx_increase: float = 1.0
    max_5xx_ratio: float = 2.0
    min_requests: int = 100
    max_p99_ratio: float = 1.5
    min_p99_increase: float = 0.05
    max_peak_cpu: float = 90.0
    max_peak_memory: float = 90.0
    min_peak_increase: float = 5.0
    min_datapoints: int = 10

    def to_dict(self) -> Dict[str, Any]:
        return {_camel(k): v for k, v in asdict(self).items()}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() if not part[0].isdigit() else part for part in rest)


@dataclass(frozen=True)
class SignalResult:
    signal: Signal
    judgement: Judgement
    before: Optional[float]
    after: Optional[float]
    unit: str
    detail: str = ""

    def shown(self, value: Optional[float]) -> str:
        if value is None:
            return "n/a"
        if self.unit == "%":
            return f"{value:.2f}%"
        if self.unit == "s":
            return f"{value * 1000:.0f} ms"
        return f"{value:g}"

    @property
    def change(self) -> str:
        """``before -> after`` as the report shows it."""
        return f"{self.shown(self.before)} -> {self.shown(self.after)}"

    def to_dict(self) -> Dict[str, Any]:
        return {
            "signal": self.signal,
            "judgement": self.judgement,
            "before": self.before,
            "after": self.after,
            "unit": self.unit,
            "detail": self.detail,
        }


@dataclass
class ServiceVerdict:
    service: str
    verdict: Verdict
    signals: List[SignalResult] = field(default_factory=list)
    #: Datapoints of the service's CPU and memory series in the after window (the fewer of the two).
    datapoints_after: int = 0
    notes: List[str] = field(default_factory=list)

    @property
    def regressions(self) -> List[SignalResult]:
        return [s for s in self.signals if s.judgement == Judgement.REGRESSED]

    @property
    def reason(self) -> str:
        if self.verdict == Verdict.REGRESSED:
            return "; ".join(
                f"{s.signal} {s.change}" + (f" ({s.detail})" if s.detail else "") for s in self.regressions
            )
        if self.verdict == Verdict.TOO_EARLY:
            return self.notes[0] if self.notes else "too little data after the run"
        return "no signal regressed"

    def to_dict(self) -> Dict[str, Any]:
        return {
            "service": self.service,
            "verdict": self.verdict,
            "reason": self.reason,
            "datapointsAfter": self.datapoints_after,
            "signals": [s.to_dict() for s in self.signals],
            "notes": list(self.notes),
        }


def error_rate(
    errors_before: float, requests_before: float, errors_after: float, requests_after: float, t: Thresholds
) -> SignalResult:
    before = 100.0 * errors_before / requests_before if requests_before > 0 else None
    after = 100.0 * errors_after / requests_after if requests_after > 0 else None
    counts = f"{errors_before:g}/{requests_before:g} -> {errors_after:g}/{requests_after:g} requests"
    if requests_after < t.min_requests or after is None:
        return SignalResult(
            Signal.ERROR_RATE,
            Judgement.NOT_JUDGED,
            before,
            after,
            "%",
            f"{requests_after:g} requests after the run, fewer than {t.min_requests}",
        )
    base = before or 0.0
    rose = after - base > t.max_5xx_increase and (base == 0 or after > base * t.max_5xx_ratio)
    return SignalResult(Signal.ERROR_RATE, Judgement.REGRESSED if rose else Judgement.OK, before, after, "%", counts)


def p99(before: Sequence[float], after: Sequence[float], t: Thresholds) -> SignalResult:
    b = nearest_rank(before, 0.99) if before else None
    a = nearest_rank(after, 0.99) if after else None
    if len(before) < t.min_datapoints or len(after) < t.min_datapoints or a is None or b is None:
        return SignalResult(
            Signal.P99,
            Judgement.NOT_JUDGED,
            b,
            a,
            "s",
            f"{len(before)} and {len(after)} periods with requests before and after, fewer than {t.min_datapoints}",
        )
    rose = a > b * t.max_p99_ratio and a - b > t.min_p99_increase
    return SignalResult(Signal.P99, Judgement.REGRESSED if rose else Judgement.OK, b, a, "s")


def peak(signal: Signal, before: Sequence[float], after: Sequence[float], limit: float, t: Thresholds) -> SignalResult:
    b = max(before) if before else None
    a = max(after) if after else None
    if a is None:
        return SignalResult(signal, Judgement.NOT_JUDGED, b, a, "%", "no datapoints after the run")
    rose = a > limit and (b is None or a - b > t.min_peak_increase)
    detail = f"above {limit:g}%" if rose else ""
    return SignalResult(signal, Judgement.REGRESSED if rose else Judgement.OK, b, a, "%", detail)


def events(signal: Signal, before: Optional[int], after: int, detail: str) -> SignalResult:
    judgement = Judgement.REGRESSED if after > 0 else Judgement.OK
    return SignalResult(signal, judgement, None if before is None else float(before), float(after), "", detail)


def verdict_of(signals: Sequence[SignalResult], datapoints_after: int, t: Thresholds) -> Verdict:
    regressed = [s for s in signals if s.judgement == Judgement.REGRESSED]
    if any(s.signal in EVENT_SIGNALS for s in regressed):
        return Verdict.REGRESSED
    if datapoints_after < t.min_datapoints:
        return Verdict.TOO_EARLY
    return Verdict.REGRESSED if regressed else Verdict.HEALTHY
