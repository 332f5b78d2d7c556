"""What the interceptors learn about a call and hand to the servicer: who is calling.

The auth interceptor sets the caller for the duration of one call; the servicer reads it and
passes the namespace explicitly to the backend. Nothing below the servicer reads this.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: who they are and which namespace their functions live in."""

    subject: str
    namespace: str


_caller: ContextVar[Caller] = ContextVar("fnplane_caller")


def begin_call(caller: Caller) -> Token[Caller]:
    """Makes `caller` the caller of the code that runs from here on in this context; answers
    what `end_call` needs to undo it."""
    return _caller.set(caller)


def end_call(begun: Token[Caller]) -> None:
    """Ends the caller a `begin_call` set."""
    _caller.reset(begun)


def current_caller() -> Caller:
    """Answers the caller of the call being served; a call outside any caller is a bug."""
    return _caller.get()
