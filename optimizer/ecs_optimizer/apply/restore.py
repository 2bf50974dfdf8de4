"""Put resources back to what a journal says they were: ``rollback`` and the engine's own
per-service rollback after a failed deployment share this code; each resource is put back by
the lever that wrote it (:meth:`levers.base.Lever.restore`).

Each step compares the live value with the value to restore and only writes what differs,
so restoring twice changes nothing the second time, and a write the journal holds only as
an intent (maybe applied) is restored exactly when it was applied. Revisions the run
registered are deregistered once the service no longer runs them (task definitions cannot be
changed back, only retired): the ones the journal names and every ACTIVE one carrying the
run's tag, which covers a registration whose response never arrived. Every restoring write
is journalled write-ahead like the run's own writes. The ``rollback`` command
(:mod:`rollback`) also puts back the stack files the run's ``--write-config`` edited (see
:func:`writeback.files.restore_files`), before the AWS resources, as they were written after them.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from ..core.changes import Change, RestoreStep, restore_plan
from ..core.model import TextEnum
from ..levers import registry
from ..live.aws import AwsContext
from ..output.render import truncate
from .journal import Journal

log = logging.getLogger(__name__)


class RestoreStatus(TextEnum):
    """What a rollback did to a service or a stack file (its JSON value is the string)."""

    RESTORED = "restored"
    #: A dry run: it would be restored.
    PLANNED = "planned"
    UNCHANGED = "unchanged"
    FAILED = "failed"


@dataclass
class RestoreOutcome:
    step: RestoreStep
    changes: List[Change] = field(default_factory=list)
    error: Optional[str] = None
    #: What was deliberately left as it is, and why (for the report).
    notes: List[str] = field(default_factory=list)


@dataclass
class Restorer:
    """Applies restore steps, each by the lever that journalled its resource
    (:func:`levers.registry.restorer_for`). ``journal`` records each restoring write, intent
    first (the engine passes the run's journal, ``rollback`` appends to the one it restores, so
    a later ``rollback`` of the same journal sees the whole history)."""

    ctx: AwsContext
    wait_timeout: float
    poll_interval: float
    journal: Optional[Journal] = None
    #: Work out and report what would be restored, writing nothing.
    dry_run: bool = False

    def restore(self, steps: List[RestoreStep]) -> List[RestoreOutcome]:
        outcomes = []
        for step in steps:
            outcome = RestoreOutcome(step)
            try:
                outcome.changes = registry.restorer_for(step.resource).restore(self, step, outcome.notes)
            except Exception as exc:  # noqa: BLE001 - one stuck resource must not stop the others
                outcome.error = f"{step.resource}: {exc}"
                log.error("%s: restoring %s failed: %s", step.service, step.resource, exc)
            outcomes.append(outcome)
        return outcomes

    def guarded(self, operation: str, changes: List[Change], call: Callable[[], Any]) -> None:
        """Make a restoring ``call``, journalled write-ahead when there is a journal."""
        if self.journal is not None:
            self.journal.guarded(operation, changes, call)
        else:
            call()

    def write(
        self,
        step: RestoreStep,
        operation: str,
        fields: Dict[str, Any],
        current: Dict[str, Any],
        write: Callable[[], Any],
    ) -> List[Change]:
        """Run ``write`` (unless dry-run), journalled write-ahead, and log each restored field."""
        changes = [
            Change(step.service, step.resource, name, current[name], value, step.target)
            for name, value in fields.items()
        ]
        if self.dry_run:
            return changes
        self.guarded(operation, changes, write)
        for change in changes:
            log.info(
                "%s: %s.%s %s -> %s (restored)",
                change.service,
                change.resource,
                change.field,
                _short(change.before),
                _short(change.after),
            )
        return changes


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return truncate(text, 80)


def restore_changes(
    ctx: AwsContext,
    changes: List[Change],
    wait_timeout: float,
    poll_interval: float,
    concurrency: int = 1,
    journal: Optional[Journal] = None,
    dry_run: bool = False,
) -> List[RestoreOutcome]:
    """Restore every resource ``changes`` touched; services in parallel, each in reverse order."""
    steps = restore_plan(changes)
    per_service: Dict[str, List[RestoreStep]] = {}
    for step in steps:
        per_service.setdefault(step.service, []).append(step)
    restorer = Restorer(ctx, wait_timeout, poll_interval, journal, dry_run)
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        results = list(pool.map(restorer.restore, per_service.values()))
    return [outcome for outcomes in results for outcome in outcomes]
