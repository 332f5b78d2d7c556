"""Tokens made by hand, and every way a caller's authorization can be wrong.

Tokens made here are signed outside the server on purpose: they stand for what an attacker,
a stale client or a skewed clock would send. Each case of REFUSED makes an `authorization`
header (None: no header at all) and names the words the refusal must contain; the gRPC and
the REST tests both run through all of them.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.tokens import TENANT_SECRET


def claims(**changes: Any) -> dict[str, Any]:
    """Answers the claims of a good token for team-a, with `changes` applied (None drops
    a claim)."""
    now = int(time.time())
    made: dict[str, Any] = {
        "sub": "key-test",
        "namespace": "team-a",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
    }
    made.update(changes)
    return {name: value for name, value in made.items() if value is not None}


def mint(key: Any = TENANT_SECRET, *, algorithm: str = "HS256", **changes: Any) -> str:
    """Answers a token with `claims(**changes)` signed by `key` with `algorithm`."""
    return jwt.encode(claims(**changes), key, algorithm=algorithm)


def tampered(token: str) -> str:
    """Answers `token` with its namespace claim changed and its signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["namespace"] = "team-b"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


REFUSED: dict[str, tuple[Callable[[], str | None], str]] = {
    "missing header": (lambda: None, "missing authorization"),
    "wrong scheme": (lambda: "Basic dGVhbS1hOmtleQ==", "must use the Bearer scheme"),
    "bearer without token": (lambda: "Bearer", "no token"),
    "garbage": (lambda: "Bearer not.a-jwt", "not a well-formed signed JWT"),
    "another secret": (
        lambda: "Bearer " + mint("some-other-secret-that-is-long-enough-too"),
        "signature does not match",
    ),
    "tampered claims": (lambda: "Bearer " + tampered(mint()), "signature does not match"),
    "alg none": (lambda: "Bearer " + mint(None, algorithm="none"), "unsigned (alg none)"),
    "HS512": (
        lambda: "Bearer " + mint("x" * 64, algorithm="HS512"),
        "signed with HS512; only HS256 is accepted",
    ),
    "RS256": (
        lambda: "Bearer " + mint(rsa_key(), algorithm="RS256"),
        "signed with RS256; only HS256 is accepted",
    ),
    "expired": (lambda: "Bearer " + mint(iat=1_000, nbf=1_000, exp=2_000), "token expired"),
    "not yet valid": (
        lambda: "Bearer " + mint(nbf=4_000_000_000, exp=4_000_000_600),
        "not valid yet",
    ),
    "no namespace claim": (lambda: "Bearer " + mint(namespace=None), "'namespace' claim"),
    "no expiry claim": (lambda: "Bearer " + mint(exp=None), "'exp' claim"),
}
