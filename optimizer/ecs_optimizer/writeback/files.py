"""Writing stack files atomically, the write-back report, and putting files back on rollback."""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
)

from ..apply.restore import RestoreStatus
from ..core.changes import CONFIG_FILE, Change, restore_plan
from ..core.errors import BadInput
from ..core.model import TextEnum
from .applied_values import AppliedRun
from .keys import WRITABLE_LAYERS
from .plan import plan_keys
from .setting import Setting
from .stack_file import StackFile, read_text, show_value
from .yaml_edit import KeyChange, edit_text

log = logging.getLogger(__name__)


class WriteStatus(TextEnum):
    """What ``--write-config`` did to a stack file (its JSON value is the string)."""

    WRITTEN = "written"
    UNCHANGED = "unchanged"
    #: A dry run: it would be written.
    PLANNED = "planned"
    FAILED = "failed"


@dataclass
class FileReport:
    path: str
    layer: str
    status: WriteStatus
    changes: List[KeyChange]
    error: str = ""

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {
            "path": self.path,
            "layer": self.layer,
            "status": self.status,
            "changes": [c.to_dict() for c in self.changes],
        }
        if self.error:
            out["error"] = self.error
        return out


@dataclass
class WriteBackReport:
    """What ``--write-config`` did: per file, the keys set; per layer without a file, the keys
    that were not written; and notes (layer-wide values, services removed from the catalog)."""

    files: List[FileReport] = field(default_factory=list)
    unwritten: Dict[str, List[str]] = field(default_factory=dict)  # layer -> keys
    notes: List[str] = field(default_factory=list)

    @property
    def failed(self) -> List[FileReport]:
        return [f for f in self.files if f.status == WriteStatus.FAILED]

    def to_dict(self) -> Dict[str, Any]:
        return {
            "files": [f.to_dict() for f in self.files],
            "notWritten": [
                {"layer": layer, "reason": "no --write-config file for this layer", "keys": keys}
                for layer, keys in self.unwritten.items()
            ],
            "notes": list(self.notes),
        }


def _atomic_write(path: Path, text: str) -> None:
    """Replace the file's content in one step (a crash leaves the old or the new file, never
    half of one), keeping its permissions."""
    mode = path.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


Recorder = Callable[[Change], None]


def file_change(path: Path, layer: str, before: str, after: str) -> Change:
    """The journal line of a file edit (a file spans services, so it names none)."""
    return Change("", CONFIG_FILE, "text", before, after, {"path": str(path), "layer": layer})


def write_back(
    files: Mapping[str, StackFile],
    run: AppliedRun,
    record: Optional[Recorder] = None,
    dry_run: bool = False,
) -> WriteBackReport:
    """Set the keys that record ``run`` in ``files`` (layer -> stack file). Each edit is
    journalled through ``record`` before the file is replaced; ``dry_run`` only reports."""
    plan = plan_keys(run)
    report = WriteBackReport(notes=list(plan.notes))
    for layer in WRITABLE_LAYERS:
        settings = plan.for_layer(layer)
        stack_file = files.get(layer)
        if stack_file is None:
            if settings:
                report.unwritten[layer] = [s.key for s in settings]
            continue
        file_report, notes = write_file(stack_file, settings, record, dry_run)
        report.notes += notes
        report.files.append(file_report)
    for layer, keys in report.unwritten.items():
        log.warning("%d %s key(s) not written: no --write-config file for the %s layer", len(keys), layer, layer)
    return report


def write_file(
    stack_file: StackFile,
    settings: Sequence[Setting],
    record: Optional[Recorder] = None,
    dry_run: bool = False,
) -> Tuple[FileReport, List[str]]:
    """Set ``settings`` in one stack file: the edit is journalled through ``record`` before the
    file is replaced (atomically); ``dry_run`` only reports. Returns the file's report and notes."""
    path, layer = stack_file.path, stack_file.layer
    try:
        # The file as it is now (not as validated before the run): nobody's edit is lost.
        edit = edit_text(path, read_text(path), settings)
    except (OSError, UnicodeDecodeError, BadInput) as exc:
        log.error("config write-back to %s failed: %s", path, exc)
        return FileReport(str(path), layer, WriteStatus.FAILED, [], str(exc)), []
    if dry_run or not edit.changes:
        status = WriteStatus.PLANNED if dry_run and edit.changes else WriteStatus.UNCHANGED
        return FileReport(str(path), layer, status, edit.changes), edit.notes
    try:
        if record is not None:
            record(file_change(path, layer, edit.before, edit.after))
        _atomic_write(path, edit.after)
    except OSError as exc:
        log.error("config write-back to %s failed: %s", path, exc)
        return FileReport(str(path), layer, WriteStatus.FAILED, edit.changes, f"{exc.strerror or exc}"), edit.notes
    for change in edit.changes:
        before = "(absent)" if change.before is None else show_value(change.before)
        log.info("%s: %s %s -> %s", path.name, change.key, before, show_value(change.after))
    return FileReport(str(path), layer, WriteStatus.WRITTEN, edit.changes), edit.notes


# ----------------------------------------------------------------------------- restoring


@dataclass
class FileRestore:
    path: str
    layer: str
    status: RestoreStatus
    reason: str = ""

    def to_dict(self) -> Dict[str, Any]:
        return {"path": self.path, "layer": self.layer, "status": self.status, "reason": self.reason}


def config_file_changes(changes: Iterable[Change]) -> List[Change]:
    return [c for c in changes if c.resource == CONFIG_FILE]


def restore_files(changes: Sequence[Change], dry_run: bool = False) -> List[FileRestore]:
    """Put each edited file back to its text before the run, newest edit first.

    A file already at that text is left alone (a second rollback changes nothing). A file
    edited since the run (neither the run's text nor the original) is not overwritten: that
    would lose someone's work; it is reported as failed and the journal holds the text.
    """
    out: List[FileRestore] = []
    for step in restore_plan(config_file_changes(changes)):
        path = Path(step.target["path"])
        layer = str(step.target.get("layer", ""))
        original, written = step.before["text"], step.after["text"]
        try:
            current = read_text(path)
        except (OSError, UnicodeDecodeError) as exc:
            out.append(FileRestore(str(path), layer, RestoreStatus.FAILED, f"cannot read: {exc}"))
            continue
        if current == original:
            out.append(FileRestore(str(path), layer, RestoreStatus.UNCHANGED, "already at its text before the run"))
        elif current != written:
            why = "edited since the run; not overwritten (the journal holds its text before the run)"
            out.append(FileRestore(str(path), layer, RestoreStatus.FAILED, why))
        elif dry_run:
            out.append(FileRestore(str(path), layer, RestoreStatus.PLANNED))
        else:
            try:
                _atomic_write(path, original)
            except OSError as exc:
                out.append(FileRestore(str(path), layer, RestoreStatus.FAILED, f"cannot write: {exc.strerror or exc}"))
                continue
            log.info("%s: restored to its text before the run", path)
            out.append(FileRestore(str(path), layer, RestoreStatus.RESTORED))
    return out
