"""Which alarms went to ALARM in a time range: CloudWatch's alarm history, read in one listing.

``DescribeAlarmHistory`` takes one alarm name or none (then it returns every metric alarm's
history in the account and region); it has no name prefix. So the history is read once for
the whole range, ``HistoryItemType=StateUpdate``, 100 items a page (the API's most), oldest
first, and the items of the alarms asked about are kept here: one call per page rather than
one per alarm. A state update's ``HistoryData`` is JSON with ``oldState`` and ``newState``;
a transition counts when its ``newState.stateValue`` is ``ALARM``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any, Collection, Dict, List, Mapping, Optional

from .aws import AwsContext, paginate

log = logging.getLogger(__name__)

#: The IAM actions this module's AWS calls need (collected into iam_actions.json by
#: :mod:`ecs_optimizer.apply.permissions`).
IAM_ACTIONS = ("cloudwatch:DescribeAlarmHistory",)

#: DescribeAlarmHistory: the most items one page holds (the API's limit).
ALARM_HISTORY_PAGE = 100
ALARM = "ALARM"


@dataclass(frozen=True)
class AlarmTransition:
    """An alarm that went to ALARM: when, from which state, and CloudWatch's reason."""

    alarm: str
    at: dt.datetime
    previous: str
    reason: str

    def to_dict(self) -> Dict[str, Any]:
        return {"alarm": self.alarm, "at": _iso(self.at), "from": self.previous, "reason": self.reason}


def _iso(ts: dt.datetime) -> str:
    return ts.astimezone(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _states(item: Mapping[str, Any]) -> Optional[tuple]:
    """(old state, new state, reason) of a state update; None when it cannot be read."""
    try:
        data = json.loads(item.get("HistoryData") or "{}")
        old, new = data.get("oldState") or {}, data.get("newState") or {}
        return str(old.get("stateValue", "")), str(new["stateValue"]), str(new.get("stateReason", ""))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def transitions_to_alarm(
    ctx: AwsContext, alarm_names: Collection[str], start: dt.datetime, end: dt.datetime
) -> Dict[str, List[AlarmTransition]]:
    """Alarm name -> its transitions to ALARM in [start, end), oldest first (only the alarms
    of ``alarm_names``; none asked, no call)."""
    wanted = set(alarm_names)
    found: Dict[str, List[AlarmTransition]] = {}
    if not wanted or end <= start:
        return found
    unreadable = 0
    items = paginate(
        ctx.cloudwatch.describe_alarm_history,
        "AlarmHistoryItems",
        "NextToken",
        "NextToken",
        HistoryItemType="StateUpdate",
        AlarmTypes=["MetricAlarm"],
        StartDate=start,
        EndDate=end,
        MaxRecords=ALARM_HISTORY_PAGE,
        ScanBy="TimestampAscending",
    )
    for item in items:
        name = item.get("AlarmName")
        if name not in wanted:
            continue
        states = _states(item)
        if states is None:
            unreadable += 1
            continue
        old, new, reason = states
        at = item["Timestamp"]
        at = at if at.tzinfo else at.replace(tzinfo=dt.timezone.utc)
        if new == ALARM and old != ALARM and start <= at < end:
            found.setdefault(name, []).append(AlarmTransition(name, at, old, reason))
    if unreadable:
        log.warning("alarm history: %d state updates without readable HistoryData were skipped", unreadable)
    return found
