"""The token a client holds: when it is still good, and when to ask for a new one.

Lifetimes are measured on the client's own monotonic clock from the moment the token was
asked for, using the lifetime the server stated, so a client whose wall clock is off still
refreshes in time. Both the blocking and the asyncio client keep their token in a `Bearer`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from fnplane.client.models import Token
from fnplane.v1 import auth_pb2

log = logging.getLogger("fnplane.client")

# A token is replaced when less than this share of its lifetime is left...
REFRESH_SHARE = 0.2
# ...but never later than this many seconds before it expires, nor earlier than the longest
# margin below, so a long-lived token is not replaced needlessly early.
LONGEST_MARGIN = 30.0
# The server states lifetimes in whole seconds and may count from the start of its current
# second, so a token is treated as expiring up to this long before its stated time.
SHORTEST_MARGIN = 1.0


def refresh_margin(lifetime: float) -> float:
    """Answers how many seconds before its expiry a token of `lifetime` seconds is replaced."""
    return max(SHORTEST_MARGIN, min(LONGEST_MARGIN, lifetime * REFRESH_SHARE))


@dataclass(frozen=True)
class _Held:
    token: Token
    replace_at: float


class Bearer:
    """Holds a client's token and its API key; the client does the asking."""

    def __init__(self, *, api_key: str, clock: Callable[[], float]) -> None:
        self._api_key = api_key
        self._clock = clock
        self._held: _Held | None = None

    def now(self) -> float:
        """Answers the time on the clock lifetimes are measured with."""
        return self._clock()

    def request(self) -> auth_pb2.IssueTokenRequest:
        """Answers the request that asks the server for a token."""
        return auth_pb2.IssueTokenRequest(api_key=self._api_key)

    def current(self) -> Token | None:
        """Answers the token held while it is good for a while yet, else None."""
        held = self._held
        if held is None or self._clock() >= held.replace_at:
            return None
        return held.token

    def keep(self, token: Token, *, asked_at: float) -> Token:
        """Holds `token`, asked for at `asked_at` on this bearer's clock, and answers it."""
        lifetime = float(token.expires_in)
        margin = refresh_margin(lifetime)
        self._held = _Held(token, asked_at + lifetime - margin)
        log.debug(
            "token for namespace %s: valid %ds, replaced %.0fs before it expires",
            token.namespace,
            token.expires_in,
            margin,
        )
        return token

    def forget(self, token: Token) -> None:
        """Drops `token` (the server refused it), unless a newer one is held already."""
        if self._held is not None and self._held.token is token:
            log.info(
                "the server refused the token held for %s; asking for a new one", token.namespace
            )
            self._held = None


def authorization(token: Token) -> tuple[tuple[str, str]]:
    """Answers the call metadata that carries `token`."""
    return (("authorization", f"Bearer {token.token}"),)
