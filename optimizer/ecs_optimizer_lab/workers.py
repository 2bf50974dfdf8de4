"""Running the lab's many independent API calls (seeding, history) on a thread pool, with progress lines."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, List, Sequence

#: Where seeding and history report what they have done: one line at a time.
Progress = Callable[[str], None]


def quiet(_: str) -> None:
    """A :data:`Progress` that shows nothing."""
    return None


def in_parallel(fn: Callable[[Any], Any], items: Sequence[Any], workers: int) -> List[Any]:
    """``fn`` over ``items`` on a pool, results in order; the first failure is raised once all have finished."""
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(items)))) as pool:
        futures = [pool.submit(fn, item) for item in items]
        return [f.result() for f in futures]
