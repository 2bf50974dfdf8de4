"""The write-ahead record of a run: JSON lines, each fsynced before the next step starts.

Line kinds:

* ``run``: the first line; run id, cluster, region, account, endpoint, policy, tool version.
* ``snapshot``: a service's full cost-relevant state before its first change, so ``savings
  --journal`` can price a finished run without asking AWS what it looked like before.
* ``intent``: written and made durable *before* a mutating AWS call: the call's operation and
  id, and the fields it changes, each with service, resource, field, before, after and
  ``target`` (the identifiers a restore needs: cluster and service name, task-definition
  family, scalable-target resource id, repository name, alarm name).
* ``outcome``: written after the call: ``applied`` (with values only AWS knew, such as the
  ARN of a registered revision) or ``failed``.
* ``change``: one field already applied (a stack file the write-back edited).

An intent with no outcome (the process was killed, or the response was lost) means "maybe
applied": ``rollback`` reads the live value and restores it when it differs, and a failed
call is treated the same way, since a lost response retried by the SDK may have been
applied before it failed. Pricing and the config export count only applied changes.

Restoring (``rollback``, and the engine's own per-service rollback) uses, for every field,
the *earliest* ``before`` in the journal and restores resources in the reverse order of their
first change. That is correct however often a field changed during the run (a deployment that
failed and was put back is simply two lines), and makes a second restore change nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Dict, List, Optional, TypeVar

from .. import __version__
from ..core.changes import Change
from ..core.errors import BadInput
from ..core.model import CapacityStrategy, ServiceState, TextEnum

T = TypeVar("T")


class LineKind(TextEnum):
    """A journal line's ``kind`` (see the module docstring)."""

    RUN = "run"
    SNAPSHOT = "snapshot"
    INTENT = "intent"
    OUTCOME = "outcome"
    CHANGE = "change"


class CallResult(TextEnum):
    """An ``outcome`` line's ``result``: the guarded call answered, or raised."""

    APPLIED = "applied"
    FAILED = "failed"


KINDS = tuple(LineKind)


CHANGE_KEYS = ("time", "service", "resource", "field", "before", "after", "target")


def _change_record(change: Change) -> Dict[str, Any]:
    record = {k: getattr(change, k) for k in CHANGE_KEYS}
    record["time"] = iso(utc_now())
    return record


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def iso(ts: dt.datetime) -> str:
    return ts.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def default_path(now: Optional[dt.datetime] = None) -> Path:
    """``.ecs-optimizer/journal-<UTC yyyymmddThhmmssZ>.jsonl``, with ``-2``, ``-3``... when two
    runs start in the same second."""
    stamp = (now or utc_now()).strftime("%Y%m%dT%H%M%SZ")
    path = Path(".ecs-optimizer") / f"journal-{stamp}.jsonl"
    n = 2
    while path.exists():
        path = path.with_name(f"journal-{stamp}-{n}.jsonl")
        n += 1
    return path


def state_to_dict(state: ServiceState) -> Dict[str, Any]:
    data = dataclasses.asdict(state)
    data["ecr_image_bytes"] = list(state.ecr_image_bytes)
    return data


def state_from_dict(data: Dict[str, Any]) -> ServiceState:
    values = dict(data)
    values["strategy"] = CapacityStrategy(**values.get("strategy", {}))
    values["ecr_image_bytes"] = tuple(values.get("ecr_image_bytes", ()))
    return ServiceState(**values)


class Journal:
    """Appends lines; each is flushed and fsynced before :meth:`change` returns, so it is on disk
    before the caller starts the next mutation. Thread-safe."""

    def __init__(self, path: Path, header: Optional[Dict[str, Any]]) -> None:
        """A new journal at ``path`` starting with ``header``; with ``header=None`` append to
        the existing journal at ``path`` (``rollback`` records its restoring writes there)."""
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._snapshotted: set = set()
        self._ops = 0
        if header is None:
            # op ids stay unique: every earlier intent took a line
            self._ops = len(self.path.read_text(encoding="utf-8").splitlines())
            self._file: IO[str] = open(self.path, "a", encoding="utf-8")
            return
        try:
            # never append to another run's journal: its rollback would undo both runs
            self._file = open(self.path, "x", encoding="utf-8")
        except FileExistsError as exc:
            raise BadInput(f"--journal {self.path}: the file exists; pass a new path") from exc
        self._write({"kind": LineKind.RUN, "time": iso(utc_now()), "version": __version__, **header})

    def _write(self, record: Dict[str, Any]) -> None:
        with self._lock:
            self._file.write(json.dumps(record, sort_keys=True, default=str) + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())

    def snapshot(self, state: ServiceState) -> None:
        """The service's state before its first change (written once per service)."""
        with self._lock:
            if state.service in self._snapshotted:
                return
            self._snapshotted.add(state.service)
        self._write(
            {"kind": LineKind.SNAPSHOT, "time": iso(utc_now()), "service": state.service, "state": state_to_dict(state)}
        )

    def change(self, change: Change) -> None:
        """An already applied change (no AWS call to guard)."""
        self._write({"kind": LineKind.CHANGE, **_change_record(change)})

    def intent(self, operation: str, changes: List[Change]) -> int:
        """Record a write before it is sent; returns the id its :meth:`outcome` names."""
        with self._lock:
            self._ops += 1
            op = self._ops
        self._write(
            {
                "kind": LineKind.INTENT,
                "op": op,
                "operation": operation,
                "time": iso(utc_now()),
                "changes": [_change_record(c) for c in changes],
            }
        )
        return op

    def outcome(self, op: int, applied: bool, after: Optional[Dict[str, Any]] = None, error: str = "") -> None:
        record: Dict[str, Any] = {
            "kind": LineKind.OUTCOME,
            "op": op,
            "time": iso(utc_now()),
            "result": CallResult.APPLIED if applied else CallResult.FAILED,
        }
        if after:
            record["after"] = after
        if error:
            record["error"] = error
        self._write(record)

    def guarded(
        self,
        operation: str,
        changes: List[Change],
        call: Callable[[], T],
        after_of: Optional[Callable[[T], Dict[str, Any]]] = None,
    ) -> T:
        """Intent, then ``call``, then its outcome: the write-ahead protocol in one place."""
        op = self.intent(operation, changes)
        try:
            result = call()
        except BaseException as exc:
            self.outcome(op, False, error=f"{type(exc).__name__}: {exc}"[:500])
            raise
        self.outcome(op, True, after_of(result) if after_of else None)
        return result

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.close()


@dataclass
class JournalContents:
    path: str
    header: Dict[str, Any]
    snapshots: Dict[str, ServiceState] = field(default_factory=dict)
    #: Every write the run made or may have made (intents without an applied outcome
    #: included), in journal order: what ``rollback`` restores.
    restorable: List[Change] = field(default_factory=list)

    @property
    def changes(self) -> List[Change]:
        """The writes AWS confirmed: what pricing and the config export count."""
        return [c for c in self.restorable if c.confirmed]

    @property
    def unconfirmed(self) -> List[Change]:
        return [c for c in self.restorable if not c.confirmed]

    def for_services(self, names: List[str]) -> "JournalContents":
        if not names:
            return self
        unknown = sorted(set(names) - set(self.snapshots) - {c.service for c in self.restorable})
        if unknown:
            raise BadInput(f"{self.path}: --service {', '.join(unknown)} does not appear in the journal")
        keep = set(names)
        return JournalContents(
            self.path,
            self.header,
            {k: v for k, v in self.snapshots.items() if k in keep},
            [c for c in self.restorable if c.service in keep],
        )
