"""Progress of the deployments a run waits for, on stderr.

On a terminal a live table (``rich``) shows every service being deployed, the time since its
deployment started and its rollout state. Otherwise (a pipe, a CI log) each change of state,
and every :data:`PLAIN_EVERY` seconds while nothing changes, is one plain log line.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Any, Callable, Dict, Optional, Tuple

log = logging.getLogger(__name__)

#: Seconds between two plain progress lines for a deployment whose state has not changed.
PLAIN_EVERY = 30.0

Reporter = Callable[[str], None]


class Progress:
    """Tracks (state, start time) per deploying service. Thread-safe; a no-op when disabled."""

    def __init__(self, enabled: bool = False, live: bool = False) -> None:
        self.enabled = enabled
        self._lock = threading.Lock()
        self._rows: Dict[str, Tuple[str, float, float]] = {}  # service -> (state, started, last line)
        self._live: Optional[Any] = None
        self._want_live = live

    @classmethod
    def for_stderr(cls, quiet: bool = False) -> "Progress":
        """Progress on stderr; none with ``quiet`` (``-q``)."""
        return cls(enabled=not quiet, live=not quiet and sys.stderr.isatty())

    def __enter__(self) -> "Progress":
        if self.enabled and self._want_live:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(self._table(), console=Console(stderr=True), refresh_per_second=2, transient=True)
            self._live.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def reporter(self, service: str) -> Reporter:
        return lambda state: self.update(service, state)

    def update(self, service: str, state: str) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        with self._lock:
            old = self._rows.get(service)
            started, last = (old[1], old[2]) if old else (now, now)
            due = old is None or old[0] != state or now - last >= PLAIN_EVERY
            self._rows[service] = (state, started, now if due else last)
            deploying = len(self._rows)
        if self._live is not None:
            self._live.update(self._table())
        elif due:
            log.info("deploying %s: %s, %.0fs elapsed (%d deploying)", service, state, now - started, deploying)

    def done(self, service: str) -> None:
        with self._lock:
            self._rows.pop(service, None)
        if self._live is not None:
            self._live.update(self._table())

    def _table(self) -> Any:
        from rich.table import Table

        table = Table("service", "deployment", "elapsed", title="deploying")
        now = time.monotonic()
        with self._lock:
            for service, (state, started, _) in sorted(self._rows.items()):
                table.add_row(service, state, f"{now - started:.0f}s")
        return table
