"""Errors that map to the CLI's documented exit codes (listed in docs/optimizer.md)."""

from __future__ import annotations

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_BAD_INPUT = 2
EXIT_NOT_FOUND = 3
EXIT_PARTIAL = 4
EXIT_LOCKED = 5
#: A signal stopped the run: services in flight were finished or put back, the report printed.
EXIT_INTERRUPTED = 6
#: ``verify`` found services that regressed after the run.
EXIT_REGRESSED = 7
#: ``verify`` found no regression, but some services have too little data after the run yet.
EXIT_TOO_EARLY = 8
#: A dry run with ``--detailed-exitcode`` found changes to make (opt-in, like terraform's
#: ``plan -detailed-exitcode``); without the flag a dry run exits 0.
EXIT_CHANGES_PENDING = 9


class OptimizerError(Exception):
    """Base class; ``exit_code`` is what the CLI exits with."""

    exit_code = EXIT_UNEXPECTED


class BadInput(OptimizerError):
    """Bad usage, config or input file. Raised before any change is made."""

    exit_code = EXIT_BAD_INPUT


class TargetsNotFound(OptimizerError):
    exit_code = EXIT_NOT_FOUND


class LockHeld(OptimizerError):
    exit_code = EXIT_LOCKED
