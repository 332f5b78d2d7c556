"""Bearer tokens: signing one for a caller, and checking the ones callers send back.

Tokens are JWTs signed with HS256 and one shared secret. Only HS256 is accepted when checking:
the algorithm named in a token's header is never trusted, so an unsigned token (`alg: none`)
or one signed some other way is refused before its claims are read.

PyJWT is imported where a token is first signed or checked, not with this module: it takes
longer to import than the rest of the server's own code together (longer still where the
cryptography package is installed, which it then loads too), and a server's start waits for
every import. The first token call after a start pays for it instead.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fnplane.server.calls import Caller
from fnplane.server.errors import Unauthenticated

ALGORITHM = "HS256"
ACCEPTED_ALGORITHMS = (ALGORITHM,)
MIN_SECRET_BYTES = 32
CLAIMS = ("sub", "namespace", "iat", "nbf", "exp", "jti")

# Tolerated difference between the clocks of servers that share one secret.
CLOCK_SKEW_SECONDS = 10
# How many checked tokens are remembered; the least recently used one goes first.
VERIFIED_TOKENS_KEPT = 10_000


@dataclass(frozen=True)
class IssuedToken:
    """A signed token and what it stands for."""

    token: str = field(repr=False)
    caller: Caller
    expires_at: datetime
    lifetime_seconds: int


class TokenSigner:
    """Signs tokens for callers and checks tokens against the same secret."""

    def __init__(
        self,
        secret: bytes,
        *,
        lifetime_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"a token secret needs at least {MIN_SECRET_BYTES} bytes")
        self._secret = secret
        self._lifetime = lifetime_seconds
        self._clock = clock
        # Tokens already checked, with when they stop being good: checking a signature and
        # parsing claims on every call was a fifth of a Get's server time.
        self._verified: OrderedDict[str, tuple[Caller, float]] = OrderedDict()
        self._verified_lock = threading.Lock()

    def issue(self, caller: Caller) -> IssuedToken:
        """Answers a token that proves `caller` for the configured lifetime."""
        now = int(self._clock())
        expires = now + self._lifetime
        claims = {
            "sub": caller.subject,
            "namespace": caller.namespace,
            "iat": now,
            "nbf": now,
            "exp": expires,
            "jti": uuid.uuid4().hex,
        }
        import jwt  # noqa: PLC0415 (see the module's docstring)

        token = jwt.encode(claims, self._secret, algorithm=ALGORITHM)
        return IssuedToken(
            token=token,
            caller=caller,
            expires_at=datetime.fromtimestamp(expires, UTC),
            lifetime_seconds=self._lifetime,
        )

    def check(self, token: str) -> Caller:
        """Answers the caller a token proves; raises Unauthenticated saying what is wrong.

        Messages name the fault and never repeat the token.
        """
        # PyJWT judges expiry by the wall clock, so the cache does too: a remembered token
        # is accepted exactly as long as decoding it again would accept it.
        now = time.time()
        with self._verified_lock:
            remembered = self._verified.get(token)
            if remembered is not None and now < remembered[1]:
                self._verified.move_to_end(token)
                return remembered[0]
            self._verified.pop(token, None)

        claims = self._decode(token)
        caller = _caller_from(claims)
        with self._verified_lock:
            self._verified[token] = (caller, float(claims["exp"]) + CLOCK_SKEW_SECONDS)
            if len(self._verified) > VERIFIED_TOKENS_KEPT:
                self._verified.popitem(last=False)
        return caller

    def _decode(self, token: str) -> dict[str, Any]:
        import jwt  # noqa: PLC0415 (see the module's docstring)

        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=list(ACCEPTED_ALGORITHMS),
                options={"require": list(CLAIMS)},
                leeway=CLOCK_SKEW_SECONDS,
            )
        except jwt.InvalidAlgorithmError:
            raise Unauthenticated(_algorithm_fault(token)) from None
        except jwt.InvalidSignatureError:
            raise Unauthenticated(
                "token signature does not match: it was not issued by this server"
            ) from None
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("token expired; ask POST /auth/token for a new one") from None
        except jwt.ImmatureSignatureError:
            raise Unauthenticated("token is not valid yet (nbf or iat in the future)") from None
        except jwt.MissingRequiredClaimError as error:
            raise Unauthenticated(f"token lacks the {error.claim!r} claim") from None
        except jwt.DecodeError:
            raise Unauthenticated("token is not a well-formed signed JWT") from None
        except jwt.InvalidTokenError:
            raise Unauthenticated("token has a claim of the wrong type") from None
        return claims


def _algorithm_fault(token: str) -> str:
    import jwt  # noqa: PLC0415 (see the module's docstring)

    try:
        named = jwt.get_unverified_header(token).get("alg")
    except jwt.DecodeError:
        named = None
    if isinstance(named, str) and named.lower() == "none":
        return f"token is unsigned (alg none); only {ALGORITHM}-signed tokens are accepted"
    # The header is the caller's text: it is named only when it is an algorithm PyJWT knows.
    if named in jwt.algorithms.get_default_algorithms():
        return f"token is signed with {named}; only {ALGORITHM} is accepted"
    return f"token is signed with an unknown algorithm; only {ALGORITHM} is accepted"


def _caller_from(claims: dict[str, Any]) -> Caller:
    subject, namespace = claims["sub"], claims["namespace"]
    if not isinstance(namespace, str) or not namespace:
        raise Unauthenticated("token's 'namespace' claim is not a namespace name")
    if not isinstance(subject, str):
        raise Unauthenticated("token's 'sub' claim is not a string")
    return Caller(subject=subject, namespace=namespace)
