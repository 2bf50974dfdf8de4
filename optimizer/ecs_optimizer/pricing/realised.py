"""What a journal says each service ended at: pricing a finished run (``savings --journal``)
and the config export (``export-config --journal``) read this instead of asking AWS."""

from __future__ import annotations

from typing import Dict, Tuple

from ..apply.journal import JournalContents
from ..core.changes import restore_plan
from ..core.model import ServiceState
from ..levers import registry


def realised_states(contents: JournalContents) -> Tuple[Dict[str, ServiceState], Dict[str, ServiceState]]:
    """Before (snapshots) and after (snapshots with each priced field's latest value, as the
    levers map journal fields onto :class:`ServiceState`) per service. A lever may hold back
    a step that did not take effect (:meth:`levers.base.Lever.realised`: a revision whose
    service was put back on its old one)."""
    before = dict(contents.snapshots)
    after = dict(before)
    steps = restore_plan(contents.changes)
    for step in reversed(steps):
        state = after.get(step.service)
        owner = registry.owner(step.resource)
        if state is None or (owner is not None and not owner.realised(step, steps)):
            continue
        after[step.service] = registry.apply_fields(state, step.resource, step.after)
    return before, after
