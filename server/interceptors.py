"""Server interceptors: what happens around every call, before and after the servicer."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, cast

import grpc

from fnplane.server.calls import Caller, calling_as

log = logging.getLogger("fnplane.access")

if TYPE_CHECKING:
    Handler: TypeAlias = grpc.RpcMethodHandler[Any, Any]
    Interceptor: TypeAlias = grpc.ServerInterceptor[Any, Any]
else:
    Handler = grpc.RpcMethodHandler
    Interceptor = grpc.ServerInterceptor

Around: TypeAlias = Callable[[str, Any, grpc.ServicerContext], AbstractContextManager[None]]
Continuation: TypeAlias = Callable[[grpc.HandlerCallDetails], "Handler | None"]


class _Coded(Protocol):
    """The part of grpcio's server context that its type stubs leave out."""

    def code(self) -> grpc.StatusCode | None: ...


def status_code(context: grpc.ServicerContext) -> grpc.StatusCode | None:
    """Answers the status code a call has been given so far, None while there is none."""
    return cast(_Coded, context).code()


def wrap_handler(handler: Handler | None, method: str, around: Around) -> Handler | None:
    """Answers `handler` with its behaviour run inside `around(method, request, context)`.

    Unary and server-streaming methods are wrapped (a stream for as long as it sends);
    streaming requests are passed through, since fnplane has none.
    """
    if handler is None or handler.request_streaming:
        return handler

    if handler.response_streaming:
        inner_stream = handler.unary_stream
        assert inner_stream is not None

        def stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            with around(method, request, context):
                yield from inner_stream(request, context)

        return grpc.unary_stream_rpc_method_handler(
            stream, handler.request_deserializer, handler.response_serializer
        )

    inner = handler.unary_unary
    assert inner is not None

    def unary(request: Any, context: grpc.ServicerContext) -> Any:
        with around(method, request, context):
            return inner(request, context)

    return grpc.unary_unary_rpc_method_handler(
        unary, handler.request_deserializer, handler.response_serializer
    )


class AccessLog(Interceptor):
    """Logs one line per call (method, code, duration, function name) and hides crashes.

    An exception that is not a deliberate status is logged here with its traceback and
    answered as INTERNAL with a short message, so no traceback ever reaches a client.
    """

    def intercept_service(
        self, continuation: Continuation, details: grpc.HandlerCallDetails
    ) -> Handler | None:
        return wrap_handler(continuation(details), details.method, _logged)


@contextlib.contextmanager
def _logged(method: str, request: Any, context: grpc.ServicerContext) -> Iterator[None]:
    start = time.perf_counter()
    name = getattr(request, "name", "")
    try:
        yield
    except Exception:
        code = status_code(context)
        if code is None or code == grpc.StatusCode.OK:
            log.exception("%s failed unexpectedly (function=%r)", method, name)
            _log_call(method, grpc.StatusCode.INTERNAL, start, name)
            context.abort(grpc.StatusCode.INTERNAL, "internal error; the server log has details")
        _log_call(method, code, start, name)
        raise
    _log_call(method, status_code(context) or grpc.StatusCode.OK, start, name)


def _log_call(method: str, code: grpc.StatusCode, start: float, name: str) -> None:
    millis = (time.perf_counter() - start) * 1000
    if name:
        log.info("%s %s %.1fms function=%s", method, code.name, millis, name)
    else:
        log.info("%s %s %.1fms", method, code.name, millis)


class AnonymousCaller(Interceptor):
    """Serves every call as a caller of one namespace: the server without authentication."""

    def __init__(self, namespace: str) -> None:
        self._caller = Caller(subject="anonymous", namespace=namespace)

    def intercept_service(
        self, continuation: Continuation, details: grpc.HandlerCallDetails
    ) -> Handler | None:
        return wrap_handler(continuation(details), details.method, self._as_caller)

    def _as_caller(
        self, method: str, request: Any, context: grpc.ServicerContext
    ) -> AbstractContextManager[None]:
        return calling_as(self._caller)
