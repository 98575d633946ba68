"""Running callables at the same instant, for race tests on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any


def race(fns: Sequence[Callable[[], Any]]) -> list[Any]:
    """Call every function in its own thread, all released at once by a barrier; their results
    in order. An exception in any thread fails the caller (a thread cannot fail a test)."""
    start = threading.Barrier(len(fns))
    results: list[Any] = [None] * len(fns)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = fns[i]()
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(fns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return results
