"""The backends the contract tests run against, each made fresh for one test.

Every entry makes a backend and cleans up after it; the contract suite is parametrised over
all of them, so a behaviour promised by the interface is checked on each.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager as ContextManager

from fnplane.server.backend import FunctionBackend
from fnplane.server.demo import DemoBackend
from fnplane.server.validation import Limits


@contextlib.contextmanager
def demo_backend(limits: Limits) -> Iterator[FunctionBackend]:
    backend = DemoBackend(limits=limits)
    try:
        yield backend
    finally:
        backend.close()


BACKENDS: dict[str, Callable[[Limits], ContextManager[FunctionBackend]]] = {
    "demo": demo_backend,
}
