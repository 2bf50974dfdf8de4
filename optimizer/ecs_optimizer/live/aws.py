"""One boto3 session, resilient clients, the dry-run guard and the call recorder.

Every AWS client the optimizer uses comes from :func:`open_context`, so that:

* one session (one credential chain, one ``--profile``/``--region``/``--endpoint-url``)
  serves every call;
* botocore retries in ``adaptive`` mode (client-side rate limiting when AWS throttles), and
  :class:`Backoff` adds jittered retries for the transient errors botocore does not retry
  (ECS "too many concurrent attempts", Application Auto Scaling ``ConcurrentUpdateException``,
  SSM ``TooManyUpdates``) and for throttling that outlasts botocore's own attempts;
* a ``before-call`` hook refuses every mutating operation while dry-run is on, so a dry run is
  safe by construction rather than by every code path remembering to skip;
* a second ``before-call`` hook counts calls per operation (tests, the scale benchmark and
  the ``-v`` summary read it).
"""

from __future__ import annotations

import functools
import logging
import os
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ProfileNotFound

from ..core.errors import BadInput, OptimizerError

log = logging.getLogger(__name__)

#: Operation-name prefixes that only read. Everything else counts as mutating: an allowlist,
#: so an operation nobody thought of is refused in dry-run rather than let through.
READ_ONLY_PREFIXES = ("Describe", "List", "Get", "BatchGet", "Search", "Filter")

#: Error codes worth retrying: the request was rejected before it changed anything.
RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "SlowDown",
        "PriorRequestNotComplete",
        "ConcurrentUpdateException",
        "TooManyUpdates",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalError",
        "InternalServerError",
        "ServerException",
    }
)

#: ECS reports concurrent RegisterTaskDefinition calls on one family as a plain ClientException.
RETRYABLE_MESSAGES = ("too many concurrent attempts", "rate exceeded")

#: boto3 client name -> attribute on :class:`AwsContext`.
CLIENTS = {
    "ecs": "ecs",
    "application-autoscaling": "autoscaling",
    "ecr": "ecr",
    "cloudwatch": "cloudwatch",
    "ssm": "ssm",
    "ec2": "ec2",
    "logs": "logs",
}


class DryRunViolation(OptimizerError):
    """A mutating call was attempted during a dry run: a bug, refused before it was sent."""


def is_mutating(operation_name: str) -> bool:
    return not operation_name.startswith(READ_ONLY_PREFIXES)


def iam_action(service_model: Any, operation_name: str) -> str:
    """The IAM action for an operation. botocore service names equal the IAM prefixes for
    every service the optimizer calls (``cloudwatch``, not its ``monitoring`` endpoint)."""
    return f"{service_model.service_name}:{operation_name}"


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def is_retryable(exc: BaseException) -> bool:
    if not isinstance(exc, ClientError):
        return False
    if error_code(exc) in RETRYABLE_CODES:
        return True
    message = str(exc.response.get("Error", {}).get("Message", "")).lower()
    return any(fragment in message for fragment in RETRYABLE_MESSAGES)


class CallRecorder:
    """Counts API calls per IAM action (``ecs:DescribeServices``); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter = Counter()

    def __call__(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.counts[iam_action(model.service_model, model.name)] += 1

    def mutating(self) -> Dict[str, int]:
        with self._lock:
            return {k: v for k, v in self.counts.items() if is_mutating(k.split(":", 1)[1])}

    def total(self) -> int:
        with self._lock:
            return sum(self.counts.values())

    def summary(self) -> str:
        with self._lock:
            items = sorted(self.counts.items())
        return ", ".join(f"{k}={v}" for k, v in items) or "none"


class DryRunGuard:
    """Raises :class:`DryRunViolation` from ``before-call`` for mutating operations when enabled."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, model: Any, **_: Any) -> None:
        if self.enabled and is_mutating(model.name):
            raise DryRunViolation(f"dry run: refused mutating call {iam_action(model.service_model, model.name)}")


@dataclass(frozen=True)
class Backoff:
    """Full-jitter exponential backoff for errors that botocore does not (or no longer) retry."""

    attempts: int = 5
    base: float = 0.5
    cap: float = 20.0

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.cap, self.base * (2**attempt)))

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        for attempt in range(self.attempts):
            try:
                return fn(*args, **kwargs)
            except ClientError as exc:
                if not is_retryable(exc) or attempt == self.attempts - 1:
                    raise
                pause = self.delay(attempt)
                log.warning(
                    "%s: %s, retrying in %.2fs (attempt %d of %d)",
                    getattr(fn, "__name__", "call"),
                    error_code(exc),
                    pause,
                    attempt + 2,
                    self.attempts,
                )
                time.sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover


class ResilientClient:
    """A boto3 client whose API methods retry through :class:`Backoff`; all else passes through."""

    def __init__(self, client: Any, backoff: Backoff) -> None:
        self._client = client
        self._backoff = backoff

    @property
    def raw(self) -> Any:
        return self._client

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name in self._client.meta.method_to_api_mapping:
            return functools.wraps(attr)(functools.partial(self._backoff.call, attr))
        return attr


def paginate(
    method: Callable[..., Dict[str, Any]],
    result_key: str,
    token_in: str = "nextToken",
    token_out: str = "nextToken",
    **kwargs: Any,
) -> Iterator[Any]:
    """Yield every item of ``result_key`` across pages, each page through the resilient method."""
    while True:
        page = method(**kwargs)
        yield from page.get(result_key, [])
        token = page.get(token_out)
        if not token:
            return
        kwargs[token_in] = token


def chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def describe_in_batches(
    method: Callable[..., Dict[str, Any]],
    result_key: str,
    key: str,
    ids_param: str,
    ids: List[str],
    batch: int,
    **params: Any,
) -> Dict[str, dict]:
    """Items of ``result_key`` by their ``key``: ``batch`` ids of ``ids_param`` a call (the API's
    limit), every ``NextToken`` page of each call read."""
    found: Dict[str, dict] = {}
    for part in chunks(ids, batch):
        for item in paginate(method, result_key, "NextToken", "NextToken", **{ids_param: part}, **params):
            found[item[key]] = item
    return found


DEFAULT_MAX_ATTEMPTS = 8


def max_attempts_from_env() -> int:
    """botocore's attempts per call: ``AWS_MAX_ATTEMPTS`` (the SDKs' own variable) when set,
    else :data:`DEFAULT_MAX_ATTEMPTS`. A value that is not a positive integer is bad input."""
    raw = os.environ.get("AWS_MAX_ATTEMPTS", "").strip()
    if not raw:
        return DEFAULT_MAX_ATTEMPTS
    if not raw.isdigit() or int(raw) < 1:
        raise BadInput(f"AWS_MAX_ATTEMPTS={raw!r}: expected a positive integer")
    return int(raw)


@dataclass(frozen=True)
class AwsSettings:
    """Where and how to talk to AWS; built from the common CLI options."""

    region: Optional[str] = None
    profile: Optional[str] = None
    endpoint_url: Optional[str] = None
    dry_run: bool = False
    #: Attempts per call including the first (botocore total_max_attempts).
    max_attempts: int = field(default_factory=max_attempts_from_env)
    backoff: Backoff = Backoff()
    connect_timeout: float = 10.0
    read_timeout: float = 60.0


class AwsContext:
    """The session, its clients (created once, shared by all worker threads) and the hooks."""

    def __init__(self, session: boto3.Session, settings: AwsSettings) -> None:
        self.session = session
        self.settings = settings
        self.region: str = session.region_name
        self.recorder = CallRecorder()
        self.guard = DryRunGuard(settings.dry_run)
        # The recorder goes first so a refused call is still counted (and a test sees it).
        session.events.register("before-call.*.*", self.recorder, unique_id="ecs-optimizer-recorder")
        session.events.register("before-call.*.*", self.guard, unique_id="ecs-optimizer-dry-run")
        config = Config(
            retries={"mode": "adaptive", "total_max_attempts": settings.max_attempts},
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            max_pool_connections=32,
            user_agent_extra="ecs-optimizer",
        )
        for service, attr in CLIENTS.items():
            client = session.client(service, endpoint_url=settings.endpoint_url, config=config)
            setattr(self, attr, ResilientClient(client, settings.backoff))

    ecs: Any
    autoscaling: Any
    ecr: Any
    cloudwatch: Any
    ssm: Any
    ec2: Any
    logs: Any

    @property
    def dry_run(self) -> bool:
        return self.guard.enabled


def make_session(settings: AwsSettings) -> boto3.Session:
    """The one session; a missing profile, region or credentials is bad input (exit 2)."""
    try:
        session = boto3.Session(profile_name=settings.profile, region_name=settings.region)
    except ProfileNotFound as exc:
        raise BadInput(f"AWS profile not found: {settings.profile} ({exc})") from exc
    if not session.region_name:
        raise BadInput("no AWS region: pass --region, set AWS_REGION, or use outputs that name a region")
    if session.get_credentials() is None:
        raise BadInput(
            "no AWS credentials found: set AWS_PROFILE or --profile, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or run where an instance/task role is available"
        )
    return session


def open_context(settings: AwsSettings) -> AwsContext:
    """Create the session and every client up front (boto3 sessions are not thread-safe)."""
    return AwsContext(make_session(settings), settings)
