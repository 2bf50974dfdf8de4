"""Which task-definition revisions are ACTIVE, by family, for the search for the optimizer's own.

Before registering a revision the engine looks for one an earlier, interrupted optimizer run
registered with the same content (to reuse it), and after registering it for duplicates a
retried ``RegisterTaskDefinition`` left behind (to retire them). Both only need the ACTIVE
revisions numbered after the service's live one, and in almost every family there are none.

A run's index lists every ACTIVE revision of the account and region once
(``ListTaskDefinitions``, up to 100 per page) when it is first asked, and afterwards keeps
itself current from the run's own writes: a registration whose answer came back on the first
attempt is added; one that was retried or failed (it may have been applied more than once, or
once without an answer) marks its family to be listed again, alone, when next asked; a
deregistration is removed. No other optimizer run writes while this one holds the cluster lock,
and revisions other writers register carry no optimizer run tag, so they never matter here.

Outside a run (``rollback``), each question lists its one family afresh.
"""

from __future__ import annotations

import threading
import weakref
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

from .aws import AwsContext, paginate

#: The IAM actions this module's AWS calls need (collected into iam_actions.json by
#: :mod:`ecs_optimizer.apply.permissions`).
IAM_ACTIONS = ("ecs:ListTaskDefinitions",)

#: ListTaskDefinitions: the most revisions one page holds (the API's limit).
LIST_PAGE = 100


def family_and_number(arn: str) -> Tuple[str, int]:
    """(family, revision number) of a task-definition ARN or ``family:number``."""
    family, number = arn.rsplit("/", 1)[-1].rsplit(":", 1)
    return family, int(number)


class RevisionIndex:
    """ACTIVE revision ARNs by family, with the descriptions already read; thread-safe."""

    def __init__(self, ctx: AwsContext, whole_account: bool) -> None:
        self._ctx = ctx
        self._lock = threading.Lock()
        #: The whole account is listed on the first question (a run); else family by family.
        self._whole_account = whole_account
        self._listed_all = False
        self._active: Dict[str, Dict[int, str]] = {}
        #: Families listed since their last uncertain write.
        self._current: Set[str] = set()
        self._described: Dict[str, Tuple[dict, List[dict]]] = {}

    def newer(self, family: str, number: int) -> List[str]:
        """ARNs of the family's ACTIVE revisions numbered after ``number``, oldest first."""
        with self._lock:
            if self._whole_account and not self._listed_all:
                for arn in self._list():
                    self._add(arn)
                self._current = set(self._active)
                self._listed_all = True
            if family not in self._current and (family in self._active or not self._listed_all):
                self._active[family] = {}
                for arn in self._list(family):
                    self._add(arn)
                self._current.add(family)
            return [arn for n, arn in sorted(self._active.get(family, {}).items()) if n > number]

    def registered(
        self, arn: Optional[str], family: str, certain: bool, described: Optional[Tuple[dict, List[dict]]] = None
    ) -> None:
        """Record a registration. ``certain``: answered on its first attempt, so exactly one
        revision (``arn``, with its ``(task definition, tags)``) was added; otherwise the family
        is listed again when next asked."""
        with self._lock:
            if certain and arn is not None:
                self._add(arn)
                if described is not None:
                    self._described[arn] = described
            else:
                self._current.discard(family)
                self._active.setdefault(family, {})

    def retired(self, arn: str) -> None:
        family, number = family_and_number(arn)
        with self._lock:
            self._active.get(family, {}).pop(number, None)

    def described(self, arn: str) -> Optional[Tuple[dict, List[dict]]]:
        with self._lock:
            return self._described.get(arn)

    def remember(self, arn: str, described: Tuple[dict, List[dict]]) -> None:
        """Keep a description (a revision's content and tags never change; its status is tracked here)."""
        with self._lock:
            self._described[arn] = described

    def _add(self, arn: str) -> None:
        family, number = family_and_number(arn)
        self._active.setdefault(family, {})[number] = arn

    def _list(self, family: Optional[str] = None) -> List[str]:
        params: Dict[str, Any] = {"status": "ACTIVE", "maxResults": LIST_PAGE}
        if family is not None:
            params["familyPrefix"] = family
        return list(paginate(self._ctx.ecs.list_task_definitions, "taskDefinitionArns", **params))


#: The revision index of each run in progress (see :func:`for_run`).
_RUN_INDEXES: "weakref.WeakKeyDictionary[AwsContext, RevisionIndex]" = weakref.WeakKeyDictionary()


@contextmanager
def for_run(ctx: AwsContext) -> Iterator[RevisionIndex]:
    """Inside the block (a run, under the cluster lock) every search for the optimizer's own
    revisions on ``ctx`` shares one listing of the account's ACTIVE revisions, kept current by
    the run's own registrations and deregistrations."""
    index = RevisionIndex(ctx, whole_account=True)
    _RUN_INDEXES[ctx] = index
    try:
        yield index
    finally:
        _RUN_INDEXES.pop(ctx, None)


def of_run(ctx: AwsContext) -> Optional[RevisionIndex]:
    """The index of the run in progress on ``ctx``, if one is."""
    return _RUN_INDEXES.get(ctx)
