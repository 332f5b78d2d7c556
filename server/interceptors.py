"""Server interceptors: what happens around every call, before and after the servicer."""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, cast

import grpc

from fnplane.server import logs

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


class Undecodable:
    """A request whose bytes are not a valid message (broken encoding, invalid UTF-8)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _decoding(deserialize: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    # grpcio answers a request it cannot decode with INTERNAL; fnplane answers it as the
    # caller's mistake instead, after the interceptors have seen (and logged) the call.
    if deserialize is None:
        return None

    def decode(raw: bytes) -> Any:
        try:
            return deserialize(raw)
        except Exception as error:  # any decoding failure is the request's fault
            return Undecodable(str(error))

    return decode


def _refuse_undecodable(method: str, request: Any, context: grpc.ServicerContext) -> None:
    if isinstance(request, Undecodable):
        context.abort(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"the request to {method} is not a valid message: its encoding is broken or a "
            "string field holds invalid UTF-8",
        )


class MethodAround(Protocol):
    """Something calls run inside (a check, an account), for the methods it applies to."""

    def applies_to(self, method: str) -> bool:
        """Answers whether calls to `method` (its full name, "/package.Service/Method") run
        inside this."""
        ...

    def around(
        self, method: str, request: Any, context: grpc.ServicerContext
    ) -> AbstractContextManager[None]:
        """Answers what one call to `method` runs inside."""
        ...


class Arounds(Interceptor):
    """Runs each call inside the arounds that apply to its method, the first given outermost.

    One interceptor serves them all, and each method's handler is wrapped once, not once per
    call. grpcio asks every interceptor for the handler of every call: with one interceptor
    for each around, that asking came to about 10,000 instructions of a create's 617,000
    (counted with callgrind). Only methods that have a handler are remembered, so unknown
    method names cannot grow what it keeps.
    """

    def __init__(self, *arounds: MethodAround) -> None:
        self._arounds = arounds
        self._known: dict[str, tuple[Handler, Handler]] = {}

    def intercept_service(
        self, continuation: Continuation, details: grpc.HandlerCallDetails
    ) -> Handler | None:
        handler = continuation(details)
        if handler is None:
            return None
        method = details.method
        known = self._known.get(method)
        if known is not None and known[0] is handler:
            return known[1]
        applying = [each.around for each in self._arounds if each.applies_to(method)]
        wrapped = wrap_handler(handler, method, applying)
        self._known[method] = (handler, wrapped)
        return wrapped


def wrap_handler(handler: Handler, method: str, arounds: Sequence[Around]) -> Handler:
    """Answers `handler` with its behaviour run inside each of `arounds`, the first outermost.

    Unary and server-streaming methods are wrapped (a stream for as long as it sends);
    streaming requests are passed through, since fnplane has none. A request that cannot be
    decoded reaches the outermost around as an Undecodable and is answered INVALID_ARGUMENT
    inside it, so that no other around sees it.
    """
    if handler.request_streaming:
        return handler
    deserialize = _decoding(handler.request_deserializer)

    if handler.response_streaming:
        stream = handler.unary_stream
        assert stream is not None
        for around in reversed(arounds):
            stream = _stream_within(around, method, stream)
        return grpc.unary_stream_rpc_method_handler(
            stream, deserialize, handler.response_serializer
        )

    unary = handler.unary_unary
    assert unary is not None
    for around in reversed(arounds):
        unary = _unary_within(around, method, unary)
    return grpc.unary_unary_rpc_method_handler(unary, deserialize, handler.response_serializer)


Unary: TypeAlias = Callable[[Any, grpc.ServicerContext], Any]
Stream: TypeAlias = Callable[[Any, grpc.ServicerContext], Iterator[Any]]


def _unary_within(around: Around, method: str, inner: Unary) -> Unary:
    def unary(request: Any, context: grpc.ServicerContext) -> Any:
        with around(method, request, context):
            _refuse_undecodable(method, request, context)
            return inner(request, context)

    return unary


def _stream_within(around: Around, method: str, inner: Stream) -> Stream:
    def stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        with around(method, request, context):
            _refuse_undecodable(method, request, context)
            yield from inner(request, context)

    return stream


CallObserver: TypeAlias = Callable[[str, grpc.StatusCode, float], None]
"""Told of every finished call: its method, its code and how many seconds it took."""

REQUEST_ID_HEADER = "x-request-id"
# A request id is echoed into log lines, so only a short run of plain characters is kept.
_REQUEST_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


# Ids made up here are this process's random prefix and a count: unique, and far cheaper than
# a uuid4 per call (reading the system's random source was a fifth of a Get's own time).
_MADE_UP_PREFIX = secrets.token_hex(6)
_made_up_count = itertools.count(1)


def request_id_of(context: grpc.ServicerContext) -> str:
    """Answers the call's x-request-id (Envoy sets one on every request it forwards), or a
    new id when the call came without a usable one."""
    for key, value in context.invocation_metadata() or ():
        if key == REQUEST_ID_HEADER and isinstance(value, str):
            if _REQUEST_ID.fullmatch(value):
                return value
            break
    return f"{_MADE_UP_PREFIX}-{next(_made_up_count)}"


class AccessLog:
    """Logs one line per call (method, code, duration, function name, request id), tells
    `observe` of it, and hides crashes.

    An exception that is not a deliberate status is logged here with its traceback and
    answered as INTERNAL with a short message, so no traceback ever reaches a client.
    """

    def __init__(self, observe: CallObserver | None = None) -> None:
        self._observe = observe

    def applies_to(self, method: str) -> bool:
        return True

    def around(self, method: str, request: Any, context: grpc.ServicerContext) -> _LoggedCall:
        return _LoggedCall(self, method, getattr(request, "name", ""), context)

    def finished(self, method: str, code: grpc.StatusCode, start: float, name: str) -> None:
        """Accounts for a call that began at `start` (a perf_counter reading) and ended with
        `code`: tells the observer and logs the call's line."""
        seconds = time.perf_counter() - start
        if self._observe is not None:
            self._observe(method, code, seconds)
        # The message's named arguments are the line's fields in JSON logs.
        fields = {"method": method, "code": code.name, "duration_ms": round(seconds * 1000, 1)}
        if name:
            fields["function"] = name
            log.info("%(method)s %(code)s %(duration_ms).1fms function=%(function)s", fields)
        else:
            log.info("%(method)s %(code)s %(duration_ms).1fms", fields)


class _LoggedCall:
    """One call as AccessLog sees it: tagged with its request id while it runs, timed, and
    logged when it ends.

    A class rather than a generator-based context manager: one is made per call, and the
    generator machinery cost more than the work it wrapped.
    """

    __slots__ = ("_access", "_context", "_method", "_name", "_start", "_tag")

    def __init__(
        self, access: AccessLog, method: str, name: str, context: grpc.ServicerContext
    ) -> None:
        self._access = access
        self._method = method
        self._name = name
        self._context = context

    def __enter__(self) -> None:
        self._tag = logs.tag_request(request_id_of(self._context))
        self._start = time.perf_counter()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            self._end(kind, error)
        finally:
            logs.untag_request(self._tag)

    def _end(self, kind: type[BaseException] | None, error: BaseException | None) -> None:
        method, name, context = self._method, self._name, self._context
        if kind is None or kind is GeneratorExit:
            self._access.finished(method, _final_code(context), self._start, name)
            return
        if not issubclass(kind, Exception):
            return  # the process is being interrupted or is exiting: no call to account for
        code = status_code(context)
        if code is not None and code != grpc.StatusCode.OK:
            self._access.finished(method, code, self._start, name)
            return
        log.error("%s failed unexpectedly (function=%r)", method, name, exc_info=error)
        self._access.finished(method, grpc.StatusCode.INTERNAL, self._start, name)
        context.abort(grpc.StatusCode.INTERNAL, "internal error; the server log has details")


def _final_code(context: grpc.ServicerContext) -> grpc.StatusCode:
    # A stream whose caller hung up ends without a code of its own: it was cancelled.
    code = status_code(context)
    if code is not None:
        return code
    return grpc.StatusCode.OK if context.is_active() else grpc.StatusCode.CANCELLED
