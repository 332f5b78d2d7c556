"""Checked tokens are remembered, so a caller's calls do not each pay for the signature
check, and a remembered token is judged afresh once its time is up."""

from __future__ import annotations

import time

import jwt
import pytest

from fnplane.server import auth_tokens
from fnplane.server.auth_tokens import TokenSigner
from fnplane.server.calls import Caller
from fnplane.server.errors import Unauthenticated

SECRET = b"a-signing-secret-of-at-least-32-bytes!"


def counting_decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    decoded: list[str] = []
    real = jwt.decode

    def decode(token: str, *args: object, **options: object) -> object:
        decoded.append(token)
        return real(token, *args, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(jwt, "decode", decode)
    return decoded


def test_a_token_is_checked_once_then_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = TokenSigner(SECRET, lifetime_seconds=60)
    token = signer.issue(Caller(subject="ana", namespace="team-a")).token
    decoded = counting_decodes(monkeypatch)

    callers = {signer.check(token) for _ in range(5)}

    assert callers == {Caller(subject="ana", namespace="team-a")}
    assert decoded == [token]


def test_a_remembered_token_is_judged_again_when_its_time_is_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    signer = TokenSigner(SECRET, lifetime_seconds=60)
    token = signer.issue(Caller(subject="ana", namespace="team-a")).token
    signer.check(token)
    decoded = counting_decodes(monkeypatch)
    later = time.time() + 60 + auth_tokens.CLOCK_SKEW_SECONDS + 1
    monkeypatch.setattr("fnplane.server.auth_tokens.time.time", lambda: later)
    monkeypatch.setattr(jwt, "decode", _expired_after(jwt.decode))

    with pytest.raises(Unauthenticated, match="expired"):
        signer.check(token)

    assert decoded == [token], "the token was decoded again, not taken from memory"


def test_a_rejected_token_is_never_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = TokenSigner(SECRET, lifetime_seconds=60)
    forged = TokenSigner(b"another-secret-of-at-least-32-bytes!!", lifetime_seconds=60)
    token = forged.issue(Caller(subject="eve", namespace="team-a")).token
    decoded = counting_decodes(monkeypatch)

    for _ in range(2):
        with pytest.raises(Unauthenticated, match="signature"):
            signer.check(token)

    assert decoded == [token, token]


def _expired_after(decode: object) -> object:
    """Wraps jwt.decode so it judges expiry at the test's later time, as PyJWT would then."""

    def judged_later(token: str, *args: object, **options: object) -> object:
        decode(token, *args, **options)  # type: ignore[operator]
        raise jwt.ExpiredSignatureError("Signature has expired")

    return judged_later
