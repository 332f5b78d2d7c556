"""The bearer check: every call needs a valid token, except to the services that stay open.

The check runs before the servicer. A call with a good token runs as the token's caller (see
`fnplane.server.calls`); any other call ends with UNAUTHENTICATED, or PERMISSION_DENIED for a
namespace this server does not allow, and a message saying which check failed.
"""

from __future__ import annotations

from typing import Any

import grpc

from fnplane.server.auth import Auth
from fnplane.server.calls import Caller, begin_call, end_call
from fnplane.server.errors import FnplaneError, Unauthenticated
from fnplane.server.status import to_status

AUTHORIZATION = "authorization"
SCHEME = "bearer"


class BearerAuth:
    """Serves a call as the caller its bearer token proves; calls to `open_services` (fully
    qualified service names) need no token."""

    def __init__(self, auth: Auth, *, open_services: frozenset[str]) -> None:
        self._auth = auth
        self._open_services = open_services

    def applies_to(self, method: str) -> bool:
        return method.lstrip("/").partition("/")[0] not in self._open_services

    def around(self, method: str, request: Any, context: grpc.ServicerContext) -> _AsCaller:
        return _AsCaller(self, context)

    def admitted(self, context: grpc.ServicerContext) -> Caller:
        """Answers the caller the call's bearer token proves, if its namespace is served here;
        raises the FnplaneError that says which check failed."""
        caller = self._caller(context)
        self._auth.admit(caller)
        return caller

    def _caller(self, context: grpc.ServicerContext) -> Caller:
        values = [
            value
            for key, value in context.invocation_metadata()
            if key == AUTHORIZATION and isinstance(value, str)
        ]
        if not values:
            raise Unauthenticated(
                "missing authorization: send 'authorization: Bearer TOKEN' with a token from "
                "POST /auth/token"
            )
        if len(values) > 1:
            raise Unauthenticated("more than one authorization header; send exactly one")
        scheme, _, token = values[0].strip().partition(" ")
        if scheme.lower() != SCHEME:
            raise Unauthenticated("authorization must use the Bearer scheme: 'Bearer TOKEN'")
        if not token.strip():
            raise Unauthenticated("authorization has the Bearer scheme but no token")
        return self._auth.signer.check(token.strip())


class _AsCaller:
    """Runs one call as the caller its token proves, or ends it with the check that failed.

    A class rather than a generator-based context manager: one is made per call, and the
    generator machinery cost more than the work it wrapped.
    """

    __slots__ = ("_bearer", "_begun", "_context")

    def __init__(self, bearer: BearerAuth, context: grpc.ServicerContext) -> None:
        self._bearer = bearer
        self._context = context

    def __enter__(self) -> None:
        try:
            caller = self._bearer.admitted(self._context)
        except FnplaneError as error:
            self._context.abort_with_status(to_status(error))
        self._begun = begin_call(caller)

    def __exit__(self, *raised: object) -> None:
        end_call(self._begun)
