"""The gRPC servicers: protobuf in, domain calls, protobuf out, errors as statuses."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import grpc

from fnplane.server import convert
from fnplane.server.backend import FunctionBackend
from fnplane.server.calls import current_caller
from fnplane.server.errors import FnplaneError
from fnplane.server.status import to_status
from fnplane.server.validation import Limits, check_name, check_spec, check_update
from fnplane.v1 import functions_pb2 as pb
from fnplane.v1 import functions_pb2_grpc

Request = TypeVar("Request")
Response = TypeVar("Response")
Method = Callable[["FunctionServicer", Request, grpc.ServicerContext], Response]


def reports_errors(method: Method[Request, Response]) -> Method[Request, Response]:
    """Turns a domain error raised by `method` into the call's gRPC status."""

    @functools.wraps(method)
    def serve(self: FunctionServicer, request: Request, context: grpc.ServicerContext) -> Response:
        try:
            return method(self, request, context)
        except FnplaneError as error:
            context.abort_with_status(to_status(error))
            raise  # abort_with_status always raises; this line keeps type checkers content

    return serve


class FunctionServicer(functions_pb2_grpc.FunctionServiceServicer):
    """Serves FunctionService from a backend, in the caller's namespace."""

    def __init__(self, backend: FunctionBackend, limits: Limits) -> None:
        self._backend = backend
        self._limits = limits

    @reports_errors
    def CreateFunction(
        self, request: pb.CreateFunctionRequest, context: grpc.ServicerContext
    ) -> pb.CreateFunctionResponse:
        spec = convert.spec_from_create(request)
        check_spec(spec, self._limits)
        self._backend.create(current_caller().namespace, spec)
        return pb.CreateFunctionResponse(message="function created successfully", name=spec.name)

    @reports_errors
    def ListFunctions(
        self, request: pb.ListFunctionsRequest, context: grpc.ServicerContext
    ) -> pb.ListFunctionsResponse:
        functions = self._backend.list(current_caller().namespace)
        return pb.ListFunctionsResponse(functions=[convert.function_to_pb(f) for f in functions])

    @reports_errors
    def GetFunction(
        self, request: pb.GetFunctionRequest, context: grpc.ServicerContext
    ) -> pb.Function:
        check_name(request.name)
        return convert.function_to_pb(self._backend.get(current_caller().namespace, request.name))

    @reports_errors
    def UpdateFunction(
        self, request: pb.UpdateFunctionRequest, context: grpc.ServicerContext
    ) -> pb.Function:
        update = convert.update_from_request(request)
        check_update(update, self._limits)
        return convert.function_to_pb(self._backend.update(current_caller().namespace, update))

    @reports_errors
    def DeleteFunction(
        self, request: pb.DeleteFunctionRequest, context: grpc.ServicerContext
    ) -> pb.DeleteFunctionResponse:
        check_name(request.name)
        self._backend.delete(current_caller().namespace, request.name)
        return pb.DeleteFunctionResponse(
            message="function deleted successfully", name=request.name
        )
