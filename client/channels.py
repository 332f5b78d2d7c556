"""How the clients open their gRPC channel: plain or TLS, with gRPC's own retry policy.

Calls that change nothing (list, get, and asking for a token) are retried on UNAVAILABLE by
gRPC itself, as the service config below tells it; calls that change something are never
retried, because a create or delete that reached the server before the connection broke
must not run twice.
"""

from __future__ import annotations

import json
from typing import Any

from fnplane.client.errors import InvalidOption
from fnplane.v1 import auth_pb2
from fnplane.v1 import functions_pb2 as pb

_FUNCTION_SERVICE = pb.DESCRIPTOR.services_by_name["FunctionService"].full_name
_AUTH_SERVICE = auth_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name

# Each (service, method) here changes nothing on the server, so running it twice is harmless.
SAFE_METHODS: tuple[tuple[str, str], ...] = (
    (_FUNCTION_SERVICE, "ListFunctions"),
    (_FUNCTION_SERVICE, "GetFunction"),
    (_AUTH_SERVICE, "IssueToken"),
)

RETRY_POLICY: dict[str, Any] = {
    "maxAttempts": 4,
    "initialBackoff": "0.1s",
    "maxBackoff": "1s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE"],
}


def service_config() -> str:
    """Answers the gRPC service config (JSON) that retries the safe methods on UNAVAILABLE."""
    return json.dumps(
        {
            "methodConfig": [
                {
                    "name": [{"service": s, "method": m} for s, m in SAFE_METHODS],
                    "retryPolicy": RETRY_POLICY,
                }
            ]
        }
    )


def check_options(*, server: str, timeout: float) -> None:
    """Raises InvalidOption unless a client could reach `server` with calls of `timeout`."""
    if not server.strip() or any(c.isspace() for c in server):
        raise InvalidOption(f"the server address {server!r} is not HOST:PORT")
    if not timeout > 0:
        raise InvalidOption(f"timeout must be more than 0 seconds, got {timeout:g}")


def channel_options(*, server_name: str = "") -> list[tuple[str, Any]]:
    """Answers the channel options both clients open their channel with.

    `server_name` overrides the name a TLS certificate is checked against, for a server
    reached by an address its certificate does not name (such as 127.0.0.1).
    """
    options: list[tuple[str, Any]] = [
        ("grpc.enable_retries", 1),
        ("grpc.service_config", service_config()),
    ]
    if server_name:
        options.append(("grpc.ssl_target_name_override", server_name))
    return options
