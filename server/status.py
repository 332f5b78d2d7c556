"""The one place where fnplane's domain errors become gRPC statuses with details."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from fnplane.server import errors

_CODES: dict[type[errors.FnplaneError], int] = {
    errors.NotFound: code_pb2.NOT_FOUND,
    errors.AlreadyExists: code_pb2.ALREADY_EXISTS,
    errors.InvalidArgument: code_pb2.INVALID_ARGUMENT,
    errors.Conflict: code_pb2.ABORTED,
    errors.Unavailable: code_pb2.UNAVAILABLE,
    errors.DeadlineExceeded: code_pb2.DEADLINE_EXCEEDED,
    errors.PermissionDenied: code_pb2.PERMISSION_DENIED,
    errors.Unauthenticated: code_pb2.UNAUTHENTICATED,
    errors.ResourceExhausted: code_pb2.RESOURCE_EXHAUSTED,
    errors.FailedPrecondition: code_pb2.FAILED_PRECONDITION,
}


def code_of(error: errors.FnplaneError) -> grpc.StatusCode:
    """Answers the gRPC status code a domain error is reported with."""
    number = _code_number(error)
    return next(code for code in grpc.StatusCode if code.value[0] == number)


def to_status(error: errors.FnplaneError) -> grpc.Status:
    """Answers the gRPC status for a domain error, with google.rpc details where they help."""
    status = status_pb2.Status(code=_code_number(error), message=error.message)
    if isinstance(error, errors.InvalidArgument):
        detail = any_pb2.Any()
        detail.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=v.field, description=v.description
                    )
                    for v in error.violations
                ]
            )
        )
        status.details.append(detail)
    return rpc_status.to_status(status)


def _code_number(error: errors.FnplaneError) -> int:
    for kind in type(error).__mro__:
        if kind in _CODES:
            return _CODES[kind]
    return int(code_pb2.INTERNAL)
