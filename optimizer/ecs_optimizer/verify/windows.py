"""The windows ``verify`` compares: one after the run and one of the same length before it.

The run's start is its journal's header time, its end the time of the journal's last line
(the last write, outcome or deployment wait recorded). Both are aligned outward to whole
metric periods, so no period straddles the run:

* after:  [end rounded up, end rounded up + window], cut at the last whole period before now;
* before: [start rounded down - the after window's actual length, start rounded down].

While the after window is still filling, the before window is shortened to match it, so
the two always cover the same time and sums and peaks compare like for like. Events (an
alarm going to ALARM, a task stopped for memory) have no period: they count up to now.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from ..core.errors import BadInput

#: ``verify``'s default window length (each side of the run).
DEFAULT_WINDOW = dt.timedelta(hours=1)
#: The metric period the windows are read at: one minute, what ECS and the load balancer publish.
DEFAULT_PERIOD_SECONDS = 60

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "": 60}


def parse_duration(text: str, option: str = "--window") -> dt.timedelta:
    """``90`` (minutes), ``90m``, ``2h``, ``1d`` or ``3600s``; anything else is bad input."""
    match = _DURATION.match(text or "")
    if not match or int(match.group(1)) <= 0:
        raise BadInput(
            f"{option} {text!r}: expected a positive duration such as 30m, 2h or 1d (plain numbers are minutes)"
        )
    return dt.timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def floor_to(ts: dt.datetime, period: int) -> dt.datetime:
    epoch = int(ts.timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % period, dt.timezone.utc)


def ceil_to(ts: dt.datetime, period: int) -> dt.datetime:
    floored = floor_to(ts, period)
    return floored if floored == ts else floored + dt.timedelta(seconds=period)


@dataclass(frozen=True)
class Window:
    """[start, end) in UTC."""

    start: dt.datetime
    end: dt.datetime

    @property
    def length(self) -> dt.timedelta:
        return max(dt.timedelta(0), self.end - self.start)

    def holds(self, ts: dt.datetime) -> bool:
        return self.start <= ts < self.end


@dataclass(frozen=True)
class Windows:
    run_start: dt.datetime
    run_end: dt.datetime
    before: Window
    after: Window
    #: The length asked for (``--window``); the after window is shorter while it fills.
    requested: dt.timedelta
    period: int
    #: When verify looked: events (alarm transitions, task stops) count up to here.
    now: dt.datetime

    @property
    def periods_after(self) -> int:
        """Whole metric periods the after window spans so far."""
        return int(self.after.length.total_seconds()) // self.period

    @property
    def complete(self) -> bool:
        return self.after.length >= self.requested

    @property
    def events_after(self) -> Window:
        """Where events count after the run: up to now (not to the last whole period, as
        an event has no period), at most the requested length."""
        return Window(self.after.start, max(self.after.start, min(self.after.start + self.requested, self.now)))

    @property
    def events_before(self) -> Window:
        """As long before the run as :attr:`events_after` is after it."""
        return Window(self.before.end - self.events_after.length, self.before.end)

    @property
    def span(self) -> Window:
        """From the before window's start to the after window's end (the run included)."""
        return Window(self.before.start, self.after.end)


def windows_for(
    run_start: dt.datetime,
    run_end: dt.datetime,
    length: dt.timedelta,
    now: dt.datetime,
    period: int = DEFAULT_PERIOD_SECONDS,
) -> Windows:
    """The two windows of a run that went from ``run_start`` to ``run_end``, seen at ``now``."""
    if length.total_seconds() < period:
        raise BadInput(f"--window {length}: shorter than one metric period ({period} s)")
    after_start = ceil_to(run_end, period)
    after_end = max(after_start, min(after_start + length, floor_to(now, period)))
    before_end = floor_to(run_start, period)
    before_start = before_end - (after_end - after_start)
    return Windows(
        run_start=run_start,
        run_end=run_end,
        before=Window(before_start, before_end),
        after=Window(after_start, after_end),
        requested=length,
        period=period,
        now=now,
    )
