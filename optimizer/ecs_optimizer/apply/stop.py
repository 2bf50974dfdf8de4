"""Stopping a run on SIGTERM or SIGINT without losing anything.

The first signal sets a flag: no service that has not started is started, a service in
flight stops at its next step (a deployment wait ends at once) and is put back to its state
before the run, with its restore bounded by :data:`STOP_RESTORE_SECONDS` so that the whole
stop fits inside the 30 seconds ECS gives a stopping task before it kills it. Only then is the
cluster lock released, the journal closed and the report printed; the process exits with
:data:`errors.EXIT_INTERRUPTED`. Further signals are logged and otherwise ignored, so they
cannot release the lock while workers still write.

Only the commands that write (``optimize``, ``rollback``) ask for this graceful stop. A
read-only command (``savings``, ``export-config``) has nothing to finish: there the first
signal raises :class:`KeyboardInterrupt` and the command ends at once.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any, Optional

log = logging.getLogger(__name__)

#: Longest wait for a restored service's deployment while stopping.
STOP_RESTORE_SECONDS = 20.0
SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopRequest:
    """Set by the first signal; read by the workers between steps. Thread-safe."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signals = 0
        #: Set by a command that writes: signals then ask it to stop instead of interrupting it.
        self.graceful = False

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def request(self, why: str) -> None:
        self.signals += 1
        if self.signals == 1:
            self._event.set()
            log.warning("%s: stopping: no further service starts; services in flight finish or are put back", why)
        else:
            log.warning("%s: already stopping; the lock is released once every worker has stopped", why)

    def handle(self, signum: int, _frame: Optional[Any]) -> None:
        name = signal.Signals(signum).name
        if not self.graceful:
            raise KeyboardInterrupt(name)
        self.request(name)

    def install(self) -> None:
        for sig in SIGNALS:
            signal.signal(sig, self.handle)


#: The process-wide request the CLI installs signal handlers for.
STOP = StopRequest()
