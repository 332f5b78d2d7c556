"""The gRPC servicer: protobuf in, domain calls, protobuf out, errors as statuses."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar, cast

import grpc
from google.protobuf import message_factory

from fnplane.server import convert
from fnplane.server.backend import FunctionBackend
from fnplane.server.calls import current_caller
from fnplane.server.encoded import EncodedFunctions
from fnplane.server.errors import FnplaneError, ResourceExhausted
from fnplane.server.status import to_status
from fnplane.server.validation import Limits, check_name, check_spec, check_update
from fnplane.v1 import functions_pb2 as pb

Request = TypeVar("Request")
Response = TypeVar("Response")
Method = Callable[["FunctionServicer", Request, grpc.ServicerContext], Response]
StreamMethod = Callable[["FunctionServicer", Request, grpc.ServicerContext], Iterator[Response]]


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


def reports_stream_errors(
    method: StreamMethod[Request, Response],
) -> StreamMethod[Request, Response]:
    """Turns a domain error raised while `method` streams into the call's gRPC status."""

    @functools.wraps(method)
    def serve(
        self: FunctionServicer, request: Request, context: grpc.ServicerContext
    ) -> Iterator[Response]:
        try:
            yield from method(self, request, context)
        except FnplaneError as error:
            context.abort_with_status(to_status(error))

    return serve


_SERVICE = pb.DESCRIPTOR.services_by_name["FunctionService"]
_ANSWERED_ENCODED = frozenset({"GetFunction", "ListFunctions"})


def add_to_server(servicer: FunctionServicer, server: grpc.Server) -> None:
    """Serves every method of FunctionService from `servicer` on `server`.

    The handlers come from the contract's descriptor, as the generated code's would, except
    that Get and List have no response serializer: grpcio sends their bytes as they are.
    """
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
    for method in _SERVICE.methods:
        request = message_factory.GetMessageClass(method.input_type)
        response = message_factory.GetMessageClass(method.output_type)
        make = (
            grpc.unary_stream_rpc_method_handler
            if method.server_streaming
            else grpc.unary_unary_rpc_method_handler
        )
        handlers[method.name] = make(
            getattr(servicer, method.name),
            request_deserializer=request.FromString,
            response_serializer=(
                None if method.name in _ANSWERED_ENCODED else response.SerializeToString
            ),
        )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(_SERVICE.full_name, handlers),)
    )
    # Registered methods are matched by grpcio's core rather than looked up per call; the
    # type stubs predate the method.
    cast(_Registering, server).add_registered_method_handlers(_SERVICE.full_name, handlers)


class _Registering(Protocol):
    def add_registered_method_handlers(
        self, service: str, handlers: dict[str, grpc.RpcMethodHandler[Any, Any]]
    ) -> None: ...


class _Streams:
    """The long-lived streams being served, so that a stopping server can end them at once
    and so that they cannot take every worker thread."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._open: set[Callable[[], None]] = set()

    def open(self, close: Callable[[], None]) -> None:
        with self._lock:
            if len(self._open) >= self._limit:
                raise ResourceExhausted(
                    f"the server already serves {self._limit} watches and followed logs, "
                    "its limit (--max-streams); try again later"
                )
            self._open.add(close)

    def done(self, close: Callable[[], None]) -> None:
        with self._lock:
            self._open.discard(close)

    def end_all(self) -> None:
        with self._lock:
            closes = list(self._open)
        for close in closes:
            close()


class FunctionServicer:
    """Serves FunctionService from a backend, in the caller's namespace.

    Get and List answer bytes already encoded (see `fnplane.server.encoded`); `add_to_server`
    registers them so.
    """

    def __init__(self, backend: FunctionBackend, limits: Limits, *, max_streams: int = 8) -> None:
        self._backend = backend
        self._limits = limits
        self._streams = _Streams(max_streams)
        self._encoded = EncodedFunctions()

    def end_streams(self) -> None:
        """Ends every watch and followed log being served, as a stopping server must."""
        self._streams.end_all()

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
    ) -> bytes:
        namespace = current_caller().namespace
        return self._encoded.listing(namespace, self._backend.list(namespace))

    @reports_errors
    def GetFunction(self, request: pb.GetFunctionRequest, context: grpc.ServicerContext) -> bytes:
        check_name(request.name)
        return self._encoded.function(self._backend.get(current_caller().namespace, request.name))

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

    @reports_stream_errors
    def WatchFunctions(
        self, request: pb.WatchFunctionsRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.FunctionEvent]:
        watch = self._backend.watch(current_caller().namespace)
        try:
            self._streams.open(watch.close)
        except ResourceExhausted:
            watch.close()
            raise
        # The callback runs when the caller hangs up, waking the wait for the next event.
        context.add_callback(watch.close)
        try:
            for event in watch:
                yield convert.event_to_pb(event)
        finally:
            self._streams.done(watch.close)
            watch.close()

    @reports_stream_errors
    def GetFunctionLogs(
        self, request: pb.GetFunctionLogsRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.LogLine]:
        check_name(request.name)
        query = convert.log_query_from_request(request, now=datetime.now(UTC))
        lines = self._backend.logs(current_caller().namespace, query)
        try:
            if query.follow:
                self._streams.open(lines.close)
            context.add_callback(lines.close)
            for line in lines:
                yield convert.log_line_to_pb(line)
        finally:
            self._streams.done(lines.close)
            lines.close()
