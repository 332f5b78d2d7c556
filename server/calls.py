"""What the interceptors learn about a call and hand to the servicer: who is calling.

The auth interceptor sets the caller for the duration of one call; the servicer reads it and
passes the namespace explicitly to the backend. Nothing below the servicer reads this.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: who they are and which namespace their functions live in."""

    subject: str
    namespace: str


_caller: ContextVar[Caller] = ContextVar("fnplane_caller")


@contextlib.contextmanager
def calling_as(caller: Caller) -> Iterator[None]:
    """Makes `caller` the caller of the code run inside the block."""
    token = _caller.set(caller)
    try:
        yield
    finally:
        _caller.reset(token)


def current_caller() -> Caller:
    """Answers the caller of the call being served; a call outside any caller is a bug."""
    return _caller.get()
