"""Reading a journal back: every line parsed and checked (kinds, resources, field types, the
identifiers a restore needs, as the levers declare them), so a malformed journal is bad input
naming its file and line."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from ..core.changes import CONFIG_FILE, Change
from ..core.errors import BadInput
from ..levers import registry
from ..levers.base import is_int
from .journal import CHANGE_KEYS, KINDS, CallResult, JournalContents, LineKind, state_from_dict


def _valid_resource(resource: Any) -> bool:
    return isinstance(resource, str) and (resource == CONFIG_FILE or registry.owner(resource) is not None)


def _check_change(where: str, record: Dict[str, Any]) -> None:
    """Every value a restore would write has the type AWS takes (as the lever that journals
    the field declares it): checked for the whole journal before ``rollback`` writes anything."""
    resource, name, target = record["resource"], record["field"], record["target"]
    if not isinstance(name, str):
        raise BadInput(f"{where}: field must be a string")
    missing = [k for k in registry.target_keys(resource) if not isinstance(target.get(k), str) or not target.get(k)]
    if missing:
        raise BadInput(f"{where}: {resource} target is missing {', '.join(missing)}")
    spec = registry.field_spec(resource, name)
    if spec is None:
        if resource == CONFIG_FILE:
            return  # checked by the write-back when it restores the file
        raise BadInput(f"{where}: unknown field {resource}.{name}")
    for side in ("before", "after"):
        value = record[side]
        ok = spec.before_check if side == "before" and spec.before_check is not None else spec.check
        if not ok(value):
            raise BadInput(f"{where}: {resource}.{name} {side} must be {spec.what}, not {json.dumps(value)[:60]}")


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
            if kind != LineKind.RUN or not isinstance(record.get("cluster"), str):
                raise BadInput(f"{where}: the first line must be the run header naming the cluster")
            for key in ("region", "endpointUrl", "account", "runId", "environmentSuffix"):
                if record.get(key) is not None and not isinstance(record[key], str):
                    raise BadInput(f"{where}: header {key} must be a string")
            self.contents = JournalContents(self.path, record)
            return
        contents = self.contents
        if kind == LineKind.SNAPSHOT:
            try:
                contents.snapshots[record["service"]] = state_from_dict(record["state"])
            except (KeyError, TypeError, ValueError) as exc:
                raise BadInput(f"{where}: malformed snapshot ({exc})") from exc
        elif kind == LineKind.CHANGE:
            contents.restorable.append(_parse_change(where, record, confirmed=True))
        elif kind == LineKind.INTENT:
            op, changes = record.get("op"), record.get("changes")
            if not is_int(op) or op in self.intents or not isinstance(changes, list) or not changes:
                raise BadInput(f"{where}: an intent needs a new integer op and a list of changes")
            self.intents[op] = (len(contents.restorable), len(changes))
            contents.restorable.extend(_parse_change(where, c, confirmed=False) for c in changes)
        elif kind == LineKind.OUTCOME:
            self._outcome(where, record)
        else:
            raise BadInput(f"{where}: a second run header")

    def _outcome(self, where: str, record: Dict[str, Any]) -> None:
        assert self.contents is not None
        op = record.get("op")
        if op not in self.intents or record.get("result") not in tuple(CallResult):
            raise BadInput(f"{where}: an outcome must name an earlier intent's op and be applied or failed")
        if record["result"] == CallResult.FAILED:
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
