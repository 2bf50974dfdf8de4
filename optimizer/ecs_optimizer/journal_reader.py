"""Reading a journal back: every line parsed and checked (kinds, resources, field types, the
identifiers a restore needs), so a malformed journal is bad input naming its file and line."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

from .errors import BadInput
from .fargate import ARCHITECTURES
from .journal import (
    ALARM_PREFIX,
    CHANGE_KEYS,
    CONFIG_FILE,
    KINDS,
    RESOURCES,
    Change,
    JournalContents,
    Resource,
    state_from_dict,
)


def _valid_resource(resource: Any) -> bool:
    return isinstance(resource, str) and (
        resource in RESOURCES or (resource.startswith(ALARM_PREFIX) and len(resource) > len(ALARM_PREFIX))
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_strategy(value: Any) -> bool:
    return value is None or (
        isinstance(value, list)
        and all(isinstance(i, dict) and isinstance(i.get("capacityProvider"), str) for i in value)
    )


#: (resource, field) -> (what the value must be, check). ``None`` is allowed where the
#: resource may not have had the value (no lifecycle policy, a revision not yet registered).
_FIELD_TYPES: Dict[Tuple[str, str], Tuple[str, Callable[[Any], bool]]] = {
    (Resource.TASK_DEFINITION, "revision"): ("a task-definition ARN", lambda v: v is None or isinstance(v, str)),
    (Resource.TASK_DEFINITION, "retired"): ("a task-definition ARN", lambda v: isinstance(v, str) and bool(v)),
    (Resource.TASK_DEFINITION, "cpu"): ("an integer", _is_int),
    (Resource.TASK_DEFINITION, "memory"): ("an integer", _is_int),
    (Resource.TASK_DEFINITION, "cpuArchitecture"): (" or ".join(ARCHITECTURES), lambda v: v in ARCHITECTURES),
    (Resource.SERVICE, Resource.TASK_DEFINITION): ("a task-definition ARN", lambda v: isinstance(v, str) and bool(v)),
    (Resource.SERVICE, "desiredCount"): ("an integer", _is_int),
    (Resource.SERVICE, "capacityProviderStrategy"): ("a capacity-provider strategy list or null", _is_strategy),
    (Resource.SCALABLE_TARGET, "minCapacity"): ("an integer", _is_int),
    (Resource.SCALABLE_TARGET, "maxCapacity"): ("an integer", _is_int),
    (Resource.ECR_LIFECYCLE_POLICY, "keepImages"): ("an integer or null", lambda v: v is None or _is_int(v)),
    (Resource.ECR_LIFECYCLE_POLICY, "lifecyclePolicyText"): (
        "a policy text or null",
        lambda v: v is None or isinstance(v, str),
    ),
}
_ALARM_FIELD = ("a number", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool))

#: resource -> the target keys a restore needs.
_TARGET_KEYS: Dict[str, Tuple[str, ...]] = {
    Resource.TASK_DEFINITION: ("cluster", "serviceName", "family"),
    Resource.SERVICE: ("cluster", "serviceName"),
    Resource.SCALABLE_TARGET: ("resourceId",),
    Resource.ECR_LIFECYCLE_POLICY: ("repositoryName",),
    ALARM_PREFIX: ("alarmName",),
}


def _check_change(where: str, record: Dict[str, Any]) -> None:
    """Every value a restore would write has the type AWS takes: checked for the whole journal
    before ``rollback`` writes anything."""
    resource, name, target = record["resource"], record["field"], record["target"]
    if not isinstance(name, str):
        raise BadInput(f"{where}: field must be a string")
    key = ALARM_PREFIX if resource.startswith(ALARM_PREFIX) else resource
    missing = [k for k in _TARGET_KEYS.get(key, ()) if not isinstance(target.get(k), str) or not target.get(k)]
    if missing:
        raise BadInput(f"{where}: {resource} target is missing {', '.join(missing)}")
    if key == ALARM_PREFIX:
        expected = _ALARM_FIELD if name == "threshold" else None
    else:
        expected = _FIELD_TYPES.get((resource, name))
    if expected is None:
        if resource == CONFIG_FILE:
            return  # checked by the write-back when it restores the file
        raise BadInput(f"{where}: unknown field {resource}.{name}")
    what, ok = expected
    for side in ("before", "after"):
        value = record[side]
        if resource == Resource.TASK_DEFINITION and name == "revision" and side == "before" and value is None:
            raise BadInput(f"{where}: {resource}.{name} before must be {what}")
        if not ok(value):
            raise BadInput(f"{where}: {resource}.{name} {side} must be {what}, not {json.dumps(value)[:60]}")


def _parse_change(where: str, record: Any, confirmed: bool) -> Change:
    if not isinstance(record, dict):
        raise BadInput(f"{where}: a change must be an object")
    missing = [k for k in CHANGE_KEYS if k not in record]
    if missing:
        raise BadInput(f"{where}: change is missing {', '.join(missing)}")
    if not _valid_resource(record["resource"]) or not isinstance(record["target"], dict):
        raise BadInput(f"{where}: unknown resource {json.dumps(record['resource'])}")
    if not isinstance(record["service"], str):
        raise BadInput(f"{where}: service must be a string")
    _check_change(where, record)
    return Change(**{k: record[k] for k in CHANGE_KEYS}, confirmed=confirmed)


@dataclass
class _Parser:
    path: str
    contents: Optional[JournalContents] = None
    #: op id -> (index of its first change in ``restorable``, number of changes)
    intents: Dict[int, Tuple[int, int]] = field(default_factory=dict)

    def line(self, lineno: int, text: str) -> None:
        where = f"{self.path}:{lineno}"
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadInput(f"{where}: not valid JSON: {exc.msg}") from exc
        except RecursionError as exc:
            raise BadInput(f"{where}: JSON nested too deeply") from exc
        kind = record.get("kind") if isinstance(record, dict) else None
        if kind not in KINDS:
            raise BadInput(f"{where}: expected an object with kind one of {', '.join(KINDS)}")
        if self.contents is None:
            if kind != "run" or not isinstance(record.get("cluster"), str):
                raise BadInput(f"{where}: the first line must be the run header naming the cluster")
            for key in ("region", "endpointUrl", "account", "runId", "environmentSuffix"):
                if record.get(key) is not None and not isinstance(record[key], str):
                    raise BadInput(f"{where}: header {key} must be a string")
            self.contents = JournalContents(self.path, record)
            return
        contents = self.contents
        if kind == "snapshot":
            try:
                contents.snapshots[record["service"]] = state_from_dict(record["state"])
            except (KeyError, TypeError, ValueError) as exc:
                raise BadInput(f"{where}: malformed snapshot ({exc})") from exc
        elif kind == "change":
            contents.restorable.append(_parse_change(where, record, confirmed=True))
        elif kind == "intent":
            op, changes = record.get("op"), record.get("changes")
            if not _is_int(op) or op in self.intents or not isinstance(changes, list) or not changes:
                raise BadInput(f"{where}: an intent needs a new integer op and a list of changes")
            self.intents[op] = (len(contents.restorable), len(changes))
            contents.restorable.extend(_parse_change(where, c, confirmed=False) for c in changes)
        elif kind == "outcome":
            self._outcome(where, record)
        else:
            raise BadInput(f"{where}: a second run header")

    def _outcome(self, where: str, record: Dict[str, Any]) -> None:
        assert self.contents is not None
        op = record.get("op")
        if op not in self.intents or record.get("result") not in ("applied", "failed"):
            raise BadInput(f"{where}: an outcome must name an earlier intent's op and be applied or failed")
        if record["result"] == "failed":
            return  # stays unconfirmed: maybe applied before it failed
        after = record.get("after") or {}
        if not isinstance(after, dict):
            raise BadInput(f"{where}: outcome after must be an object")
        first, count = self.intents[op]
        items = self.contents.restorable
        for i in range(first, first + count):
            change = items[i]
            value = after.get(change.field, change.after)
            checked = {**dataclasses.asdict(change), "after": value}
            _check_change(where, checked)
            items[i] = dataclasses.replace(change, after=value, confirmed=True)


def read_journal(path: str) -> JournalContents:
    """Parse and validate the whole journal; any malformed line is bad input naming file and line."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise BadInput(f"{path}: cannot read journal: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    parser = _Parser(path)
    for lineno, text in enumerate(lines, start=1):
        if text.strip():
            parser.line(lineno, text)
    if parser.contents is None:
        raise BadInput(f"{path}: empty journal")
    return parser.contents
