"""Reading what a failed gRPC call reported: its code, message and field violations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status


def failure(call: Callable[[], Any]) -> grpc.RpcError:
    """Runs `call`, which must fail, and answers its error."""
    try:
        call()
    except grpc.RpcError as error:
        return error
    raise AssertionError("the call succeeded, but it should have failed")


def field_violations(error: grpc.RpcError) -> dict[str, str]:
    """Answers the google.rpc.BadRequest field violations of an error, field -> description."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, "the error carries no google.rpc.Status details"
    violations: dict[str, str] = {}
    for detail in status.details:
        bad_request = error_details_pb2.BadRequest()
        if detail.Unpack(bad_request):
            violations.update({v.field: v.description for v in bad_request.field_violations})
    return violations


def details(error: grpc.RpcError) -> str:
    """Answers the message of an error that must carry one (every refusal fnplane sends does)."""
    message = error.details()
    assert message is not None, f"the {error.code().name} error carries no message"
    return message
