"""The exceptions the client raises: one per status a caller can act on, each keeping the
gRPC code and the server's message, and for invalid input the fields at fault.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

# The client reports broken rules with the same type the server checks them with.
from fnplane.server.errors import FieldViolation

__all__ = [
    "AlreadyExists",
    "DeadlineExceeded",
    "FieldViolation",
    "FnplaneError",
    "InvalidArgument",
    "InvalidOption",
    "NotFound",
    "PermissionDenied",
    "Unauthenticated",
    "Unavailable",
    "from_rpc_error",
]


class FnplaneError(Exception):
    """A call to fnplane failed; `code` and `message` are what the server (or gRPC) said."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code.name}: {self.message}"


class NotFound(FnplaneError):
    """No function of that name exists in the caller's namespace."""


class AlreadyExists(FnplaneError):
    """A function of that name exists already in the caller's namespace."""


class InvalidArgument(FnplaneError):
    """The request broke field rules; `violations` names each field and its rule."""

    def __init__(
        self, code: grpc.StatusCode, message: str, violations: Sequence[FieldViolation] = ()
    ) -> None:
        super().__init__(code, message)
        self.violations = tuple(violations)


class Unauthenticated(FnplaneError):
    """The server did not accept the API key or the token."""


class PermissionDenied(FnplaneError):
    """The caller may not do this."""


class Unavailable(FnplaneError):
    """The server, or something it depends on, cannot be reached right now."""


class DeadlineExceeded(FnplaneError):
    """No answer came within the call's deadline; a change may or may not have happened."""


class InvalidOption(ValueError):
    """A client option that cannot work, such as an empty server address; no call was made."""


_KINDS: dict[grpc.StatusCode, type[FnplaneError]] = {
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
}


def from_rpc_error(error: grpc.RpcError) -> FnplaneError:
    """Answers the client exception for a failed call (blocking or asyncio alike)."""
    # Every RpcError grpcio raises is also the Call that failed, which carries the status.
    call = cast(grpc.Call, error)
    code = call.code() or grpc.StatusCode.UNKNOWN
    message = call.details() or ""
    kind = _KINDS.get(code, FnplaneError)
    if kind is InvalidArgument:
        return InvalidArgument(code, message, _field_violations(call))
    return kind(code, message)


def _field_violations(call: grpc.Call) -> list[FieldViolation]:
    try:
        status = rpc_status.from_call(call)
    except ValueError:
        # The rich status disagrees with the plain one (a proxy rewrote the message); the
        # plain message still says what was wrong, so the details are left out.
        return []
    if status is None:
        return []
    violations: list[FieldViolation] = []
    for detail in status.details:
        bad_request = error_details_pb2.BadRequest()
        if detail.Unpack(bad_request):
            violations += [
                FieldViolation(v.field, v.description) for v in bad_request.field_violations
            ]
    return violations
