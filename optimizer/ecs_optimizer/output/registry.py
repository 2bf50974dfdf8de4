"""The one format registry: which renderer draws which command's report in which format.

A command's report is one model (:mod:`.models`): a :class:`~.models.Report` whose
``document`` is what ``--format json`` prints. Each format is one module of
:mod:`.formats`, and each of its renderers registers itself here for the report kinds it
draws (``@renders("savings", "csv")``). The CLI asks :func:`formats` for a command's
``--format`` choices, so ``--help`` lists exactly what the command prints, and calls
:func:`render` to draw a report. A new command adds a report kind (a builder in
:mod:`.models`) and a renderer per format it supports; a new format is one module in
:mod:`.formats` plus its name in :data:`FORMATS`.
"""

from __future__ import annotations

import importlib
from typing import Callable, Dict, Tuple, TypeVar

from .models import Report

#: Every format, in the order ``--help`` lists them.
FORMATS = ("table", "markdown", "json", "csv", "html")

Renderer = Callable[[Report], str]
R = TypeVar("R", bound=Renderer)

_RENDERERS: Dict[str, Dict[str, Renderer]] = {}


class UnknownFormat(ValueError):
    """A format the report kind has no renderer for."""


def renders(kind: str, fmt: str) -> Callable[[R], R]:
    """Register the decorated function as the ``fmt`` renderer of ``kind`` reports."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of: {', '.join(FORMATS)}")

    def register(renderer: R) -> R:
        kinds = _RENDERERS.setdefault(kind, {})
        if fmt in kinds:
            raise ValueError(f"two {fmt} renderers for {kind} reports")
        kinds[fmt] = renderer
        return renderer

    return register


def _load() -> None:
    """Import the format modules (once), which registers their renderers. Loaded on first
    use rather than imported here: the format modules import this registry."""
    importlib.import_module(f"{__package__}.formats")


def formats(kind: str) -> Tuple[str, ...]:
    """The formats a ``kind`` report is drawn in, in :data:`FORMATS` order."""
    _load()
    drawn = _RENDERERS.get(kind, {})
    return tuple(fmt for fmt in FORMATS if fmt in drawn)


def kinds() -> Tuple[str, ...]:
    """Every report kind some format draws."""
    _load()
    return tuple(sorted(_RENDERERS))


def render(report: Report, fmt: str) -> str:
    """``report`` drawn in ``fmt``; :class:`UnknownFormat` names the formats it has."""
    _load()
    renderer = _RENDERERS.get(report.kind, {}).get(fmt)
    if renderer is None:
        raise UnknownFormat(
            f"format {fmt!r} is not one of the {report.kind} report's formats: {', '.join(formats(report.kind))}"
        )
    return renderer(report)
