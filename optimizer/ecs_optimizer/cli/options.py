"""The CLI's shared parts: logging, the exit code of each error, and the options every command or several commands take.

The planning options are not here: the levers declare them (``cli/lever_options.py``).
Each command's ``--format`` choices come from the output registry (the formats its report
is drawn in)."""

from __future__ import annotations

import dataclasses
import functools
import logging
import sys
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple, Union
from urllib.parse import urlsplit

import click
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)

from ..core import facts
from ..core.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_UNEXPECTED, BadInput, OptimizerError
from ..live.aws import error_code
from ..output.registry import formats
from ..planning.risk import RISK_LEVELS
from .console import LogFormatter, StderrFormatter, check_output_path, print_error

log = logging.getLogger("ecs_optimizer")

#: Error codes meaning the credentials or permissions were refused: bad input, nothing changed.
AUTH_ERROR_CODES = {
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "AccessDenied",
    "AccessDeniedException",
    "AuthFailure",
    "SignatureDoesNotMatch",
}
LOG_FORMAT = "%(asctime)s %(levelname)s %(message)s"


def setup_logging(verbose: int, log_file: Optional[str], quiet: bool = False) -> None:
    """Fresh handlers for this invocation: stderr (as it is now; errors only with ``quiet``,
    each as one ``ecs-optimizer: error:`` line) and the optional log file (every level)."""
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setFormatter(StderrFormatter(LOG_FORMAT))
    if quiet:
        stderr.setLevel(logging.ERROR)
    handlers: list = [stderr]
    if log_file:
        try:
            to_file = logging.FileHandler(log_file, encoding="utf-8")
        except OSError as exc:
            raise BadInput(f"--log-file {log_file}: {exc.strerror or exc}") from exc
        to_file.setFormatter(LogFormatter(LOG_FORMAT))
        handlers.append(to_file)
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()
    for handler in handlers:
        log.addHandler(handler)
    log.setLevel(logging.DEBUG if verbose else logging.INFO)
    log.propagate = False
    logging.getLogger("botocore").setLevel(logging.DEBUG if verbose > 1 else logging.WARNING)


def exit_code_for(exc: BaseException) -> Tuple[int, str]:
    """(exit code, one-line message) for an error that ended a command."""
    if isinstance(exc, OptimizerError):
        return exc.exit_code, str(exc)
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError, ProfileNotFound, NoRegionError)):
        return EXIT_BAD_INPUT, f"AWS configuration: {exc}"
    if isinstance(exc, ClientError) and error_code(exc) in AUTH_ERROR_CODES:
        op = exc.operation_name
        return EXIT_BAD_INPUT, f"AWS refused {op}: {error_code(exc)}: {exc.response['Error'].get('Message', '')}"
    if isinstance(exc, (ClientError, BotoCoreError)):
        return EXIT_UNEXPECTED, f"AWS error: {exc}"
    return EXIT_UNEXPECTED, f"unexpected error: {type(exc).__name__}: {exc}"


def run_guarded(body: Callable[[], int], verbose: int) -> None:
    """Run a command body; turn errors into one log line and the documented exit code."""
    try:
        code = body()
    except click.exceptions.Exit:
        raise
    except click.ClickException:
        raise
    except KeyboardInterrupt:
        # A read-only command interrupted by a signal (the writing ones stop gracefully).
        log.error("interrupted by a signal before finishing; nothing was changed")
        code = EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the one place every error becomes an exit code
        code, message = exit_code_for(exc)
        log.error("%s", message.splitlines()[0] if message else type(exc).__name__)
        if verbose:
            log.debug("traceback", exc_info=True)
    raise click.exceptions.Exit(code)


def check_endpoint_url(_ctx: Any, _param: Any, value: Optional[str]) -> Optional[str]:
    """``--endpoint-url`` must be an http(s) URL with a host, checked before any AWS call."""
    if value is None:
        return None
    try:
        parsed = urlsplit(value)
        parsed.port  # noqa: B018 - raises ValueError on a port that is not a number in 0-65535
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a URL ({exc})") from exc
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise click.BadParameter(f"{value!r}: expected http://HOST[:PORT] or https://HOST[:PORT]")
    return value


@dataclass(frozen=True)
class Common:
    outputs: Optional[str]
    stack: Optional[str]
    observability_outputs: Optional[str]
    service: Tuple[str, ...]
    tier: Optional[str]
    region: Optional[str]
    profile: Optional[str]
    endpoint_url: Optional[str]
    fmt: str
    output: Optional[str]
    quiet: bool
    log_file: Optional[str]
    verbose: int


COMMON_OPTIONS = [
    click.option(
        "--outputs",
        metavar="FILE",
        help="Compute stack outputs: the JSON of `pulumi stack output --json` (contract version 1).",
    ),
    click.option(
        "--stack",
        metavar="NAME",
        help="Read the compute stack's outputs by running `pulumi stack output --json --stack NAME` in stacks/compute.",
    ),
    click.option(
        "--observability-outputs",
        metavar="FILE",
        help="Observability stack outputs naming each service's alarms; without it alarms are found by name "
        f"({next(iter(facts.service_alarm_patterns().values()))}, ...).",
    ),
    click.option(
        "--service",
        multiple=True,
        metavar="NAME",
        help="Limit the run to this service (catalog name, e.g. frontend). Repeatable.",
    ),
    click.option(
        "--tier",
        type=click.Choice(list(facts.tiers())),
        help="Tier for discovery when the cluster has no Tier tag (default dev). Outputs files carry their own tier.",
    ),
    click.option(
        "--region",
        metavar="REGION",
        help="AWS region (default: the outputs' region, then AWS_REGION / the profile's region).",
    ),
    click.option("--profile", metavar="NAME", help="AWS profile from the shared config/credentials files."),
    click.option(
        "--endpoint-url",
        envvar="AWS_ENDPOINT_URL",
        metavar="URL",
        callback=check_endpoint_url,
        help="Send every AWS call to this endpoint (an emulator such as moto). Also AWS_ENDPOINT_URL.",
    ),
    click.option(
        "-o",
        "--output",
        metavar="FILE",
        help="Write the report to FILE instead of stdout (written beside it and renamed into place, so a reader never sees half a report).",
    ),
    click.option("-q", "--quiet", is_flag=True, help="No progress or log lines on stderr; errors are still printed."),
    click.option("--log-file", metavar="FILE", help="Also append the log lines (UTC timestamps) to FILE."),
    click.option(
        "-v", "--verbose", count=True, help="More log detail and tracebacks on errors; -vv adds botocore's debug log."
    ),
]


ORG_OPTIONS = [
    click.option(
        "--accounts",
        "accounts_file",
        metavar="FILE",
        help="Organization-wide: a JSON file of accounts, each with the role to assume and the environment suffix its fleet is discovered by (docs/savings.md). One aggregated report with a row per account and region; a failing account is reported and the others finish (exit 4).",
    ),
    click.option(
        "--regions",
        metavar="LIST",
        help="With --accounts: comma-separated regions to run in (an account's own regions take precedence). Default: the session's region.",
    ),
    click.option(
        "--org-concurrency",
        type=click.IntRange(1, 32),
        default=4,
        show_default=True,
        help="With --accounts: account/region runs at the same time.",
    ),
]

#: ``--max-risk`` names a level with a hyphen (``very-low``), the reports with a space.
MAX_RISK_CHOICES = {level.replace(" ", "-"): level for level in RISK_LEVELS}

MAX_RISK_OPTION = click.option(
    "--max-risk",
    type=click.Choice(list(MAX_RISK_CHOICES)),
    default=None,
    help="Apply only recommendations whose performance risk is at or below this level (docs/recommendations.md); "
    "a service above it is reported skipped, with its risk, and left as it is. Default: no limit.",
)

EXECUTION_OPTIONS = [
    click.option(
        "--wait-timeout",
        type=click.FloatRange(min=0),
        default=None,
        metavar="SECONDS",
        help="Longest wait for a service's deployment to complete before it is rolled back. Default: each "
        "service's own, 900 s for the rollout plus the bake its deployment configuration sets (BLUE_GREEN, "
        "LINEAR and CANARY bake times) plus the window of its deployment alarms, when they are enabled.",
    ),
    click.option(
        "--poll-interval",
        type=click.FloatRange(min=0, min_open=True),
        default=15,
        show_default=True,
        metavar="SECONDS",
        help="Seconds between deployment status checks.",
    ),
    click.option(
        "--concurrency",
        type=click.IntRange(1, 32),
        default=4,
        show_default=True,
        help="Services worked on at the same time.",
    ),
    click.option(
        "--force-unlock",
        is_flag=True,
        help=f"Remove a stale cluster lock (SSM parameter {facts.lock_parameter('{cluster}')}) left by a run that died, then run.",
    ),
]


def with_options(options: list) -> Callable:
    def decorate(fn: Callable) -> Callable:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


def _collect(group: type, kwargs: Dict[str, Any]) -> Any:
    """An instance of the dataclass ``group`` made of its fields' options, taken out of ``kwargs``."""
    return group(**{f.name: kwargs.pop(f.name) for f in dataclasses.fields(group)})


#: The formats of a command whose report is not (yet) drawn through the output registry.
PLAIN_FORMATS = ("table", "markdown", "json")


def format_option(kind: str) -> Callable:
    """``--format``, with the formats the ``kind`` report is drawn in (the output registry)."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(formats(kind) or PLAIN_FORMATS)),
        default="table",
        show_default=True,
        help="Report format (stdout, or the --output file).",
    )


def command_body(kind: Union[str, Callable[..., int]]) -> Callable:
    """Apply the common options (``--format`` with the ``kind`` report's formats) once for
    every command, set up logging and error handling. Used bare (``@command_body``), the
    report kind is the command's name."""
    if callable(kind):
        return command_body(kind.__name__.replace("_", "-"))(kind)

    def decorate(fn: Callable[..., int]) -> Callable:
        @functools.wraps(fn)
        def wrapper(**kwargs: Any) -> None:
            common = _collect(Common, kwargs)
            try:
                setup_logging(common.verbose, common.log_file, common.quiet)
                check_output_path(common.output)
            except BadInput as exc:
                print_error(str(exc))
                raise click.exceptions.Exit(EXIT_BAD_INPUT) from None
            run_guarded(lambda: fn(common, **kwargs), common.verbose)

        return with_options([*COMMON_OPTIONS[:-4], format_option(kind), *COMMON_OPTIONS[-4:]])(wrapper)

    return decorate
