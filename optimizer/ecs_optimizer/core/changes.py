"""What a run changes, as the journal records it and the levers restore it: plain data.

A :class:`Change` is one field of one resource of one service, with its value before and
after and the identifiers a restore needs (``target``). :func:`restore_plan` groups a run's
changes into :class:`RestoreStep` s, one per resource, newest first, each with the earliest
``before`` of every field (the journal's module docstring says why that is correct).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, List, Tuple

from .model import TextEnum


class Resource(TextEnum):
    """What a journalled change changed (its JSON value is the string shown). An alarm is
    ``alarm:<name>`` instead (:func:`alarm_resource`), one per alarm."""

    TASK_DEFINITION = "taskDefinition"
    SERVICE = "service"
    SCALABLE_TARGET = "scalableTarget"
    ECR_LIFECYCLE_POLICY = "ecrLifecyclePolicy"
    #: A Pulumi stack file edited by ``--write-config`` (see :mod:`writeback`): not an AWS
    #: resource, restored by ``rollback`` before the AWS resources, as it was written after them.
    CONFIG_FILE = "configFile"


CONFIG_FILE = Resource.CONFIG_FILE
RESOURCES = tuple(Resource)
ALARM_PREFIX = "alarm:"


def alarm_resource(alarm_name: str) -> str:
    """The journal's resource for the alarm named ``alarm_name``."""
    return f"{ALARM_PREFIX}{alarm_name}"


@dataclass(frozen=True)
class Change:
    service: str
    resource: str
    field: str
    before: Any
    after: Any
    target: Dict[str, Any]
    time: str = ""
    #: False while the write is only intended (no outcome yet, or the call failed).
    confirmed: bool = True

    @property
    def group(self) -> Tuple[str, str, str]:
        """Changes restored together: one resource of one service."""
        return (self.service, self.resource, json.dumps(self.target, sort_keys=True))


@dataclass(frozen=True)
class RestoreStep:
    """One resource to put back: the earliest ``before`` of every field it changed."""

    service: str
    resource: str
    target: Dict[str, Any]
    before: Dict[str, Any]  # field -> value to restore
    after: Dict[str, Any]  # field -> latest value written by the run
    changes: Tuple[Change, ...]


def restore_plan(changes: List[Change]) -> List[RestoreStep]:
    """Group changes per resource; newest-first by first change; earliest before per field."""
    order: List[Tuple[str, str, str]] = []
    grouped: Dict[Tuple[str, str, str], List[Change]] = {}
    for change in changes:
        if change.group not in grouped:
            order.append(change.group)
            grouped[change.group] = []
        grouped[change.group].append(change)
    steps = []
    for key in reversed(order):
        items = grouped[key]
        before: Dict[str, Any] = {}
        after: Dict[str, Any] = {}
        for change in items:
            before.setdefault(change.field, change.before)
            after[change.field] = change.after
        steps.append(RestoreStep(items[0].service, items[0].resource, items[0].target, before, after, tuple(items)))
    return steps
