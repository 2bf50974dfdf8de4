"""How the CLI speaks: the report on stdout or in ``-o FILE`` (written atomically), log lines
on stderr (none but errors with ``-q``), and every error in one style, one line:
``ecs-optimizer: error: <what is wrong>``.

:func:`error_line` is the one place that style is written: the errors a command raises, the
usage errors click finds, and the log records of level ERROR all go through it.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Optional

import click

from ..core.errors import BadInput
from ..output.models import Report
from ..output.registry import UnknownFormat, render

PROG = "ecs-optimizer"


def error_line(message: str) -> str:
    """``ecs-optimizer: error: <the message's first line>``."""
    lines = [line for line in str(message).strip().splitlines() if line.strip()]
    return f"{PROG}: error: {lines[0].strip() if lines else 'failed'}"


def print_error(message: str) -> None:
    """Write one error line to stderr."""
    click.echo(error_line(message), err=True)


def utc_stamp(created: float, msecs: float) -> str:
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(created))}.{int(msecs):03d}Z"


class LogFormatter(logging.Formatter):
    """``2026-12-08T01:02:03.456Z INFO message``: UTC, to the millisecond (the log file, and
    stderr below the level ERROR)."""

    def formatTime(self, record: logging.LogRecord, datefmt: Optional[str] = None) -> str:  # noqa: N802
        return utc_stamp(record.created, record.msecs)


class StderrFormatter(LogFormatter):
    """Log lines on stderr; an ERROR record is an error line (:func:`error_line`)."""

    def format(self, record: logging.LogRecord) -> str:
        if record.levelno >= logging.ERROR:
            return error_line(record.getMessage())
        return super().format(record)


def check_output_path(path: Optional[str]) -> None:
    """``-o FILE`` must be writable where it is going: checked before the command does anything."""
    if not path:
        return
    target = Path(path)
    if target.is_dir():
        raise BadInput(f"--output {path}: is a directory; pass a file path")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise BadInput(f"--output {path}: the directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise BadInput(f"--output {path}: the directory {parent} is not writable")


def write_report(text: str, path: Optional[str]) -> None:
    """The report on stdout, or in ``path``: written to a temporary file beside it and moved
    into place in one step, so a reader never sees half a report (and an old report stays
    whole if writing fails)."""
    if not path:
        click.echo(text)
        return
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=str(target.parent or Path(".")))
    except OSError as exc:
        raise BadInput(f"--output {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text if text.endswith("\n") else text + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def emit(report: Report, fmt: str, output: Optional[str]) -> None:
    """Draw ``report`` in ``fmt`` (the output registry) and write it to stdout or ``output``."""
    try:
        text = render(report, fmt)
    except UnknownFormat as exc:
        raise BadInput(str(exc)) from exc
    write_report(text, output)
