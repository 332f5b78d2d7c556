"""Calling as a tenant: getting a token from AuthService and sending it with every call."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias

import grpc

from fnplane.v1 import auth_pb2, auth_pb2_grpc

# grpcio's interceptor classes are generic only in its type stubs.
if TYPE_CHECKING:
    UnaryUnaryInterceptor: TypeAlias = grpc.UnaryUnaryClientInterceptor[Any, Any]
    UnaryStreamInterceptor: TypeAlias = grpc.UnaryStreamClientInterceptor[Any, Any]
else:
    UnaryUnaryInterceptor = grpc.UnaryUnaryClientInterceptor
    UnaryStreamInterceptor = grpc.UnaryStreamClientInterceptor

# Two tenants for credentialed servers; their keys and the secret exist only in tests.
TENANT_KEYS = {
    "team-a": "test-key-for-team-a-0123456789",
    "team-b": "test-key-for-team-b-9876543210",
}
TENANT_SECRET = "test-signing-secret-of-at-least-32-bytes"


def api_keys_setting(keys: dict[str, str]) -> str:
    """Answers the `api_keys` setting for a namespace -> key map."""
    return ",".join(f"{key}={namespace}" for namespace, key in keys.items())


class _Details(NamedTuple):
    method: str
    timeout: float | None
    metadata: Any
    credentials: grpc.CallCredentials | None
    wait_for_ready: bool | None
    compression: grpc.Compression | None


class BearerToken(UnaryUnaryInterceptor, UnaryStreamInterceptor):
    """Adds `authorization: Bearer TOKEN` to every call made through the channel."""

    def __init__(self, token: str) -> None:
        self._header = ("authorization", f"Bearer {token}")

    def _with_token(self, details: Any) -> _Details:
        metadata = [*(details.metadata or ()), self._header]
        return _Details(
            details.method,
            details.timeout,
            metadata,
            details.credentials,
            details.wait_for_ready,
            details.compression,
        )

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: Any, request: Any
    ) -> Any:
        return continuation(self._with_token(details), request)

    def intercept_unary_stream(
        self, continuation: Callable[..., Any], details: Any, request: Any
    ) -> Any:
        return continuation(self._with_token(details), request)


def issue_token(channel: grpc.Channel, api_key: str = "") -> str:
    """Answers a token from the server's AuthService (an empty key suits open mode)."""
    reply = auth_pb2_grpc.AuthServiceStub(channel).IssueToken(
        auth_pb2.IssueTokenRequest(api_key=api_key), timeout=10
    )
    return reply.token


def with_token(channel: grpc.Channel, token: str) -> grpc.Channel:
    """Answers `channel` with `token` sent on every call."""
    return grpc.intercept_channel(channel, BearerToken(token))


def signed_in(channel: grpc.Channel, api_key: str = "") -> grpc.Channel:
    """Answers `channel` carrying a fresh token for `api_key` (open mode: no key)."""
    return with_token(channel, issue_token(channel, api_key))
