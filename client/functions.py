"""The blocking Python client for fnplane: manage functions over gRPC with typed results.

    with FunctionsClient("localhost:8080", api_key=key) as client:
        client.create("hello", image="nginx:alpine", replicas=2)
        for function in client.list():
            print(function.name, function.ready_replicas)

The client asks AuthService for a token by itself, sends it with every call and replaces it
shortly before it expires. `fnplane.client.aio` has the asyncio twin with the same methods.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from types import TracebackType
from typing import TypeVar, cast

import grpc

from fnplane.client import errors, messages, streams
from fnplane.client.channels import channel_options, check_options
from fnplane.client.models import Confirmation, Function, Token
from fnplane.client.streams import FunctionEvent, LogLine
from fnplane.client.tokens import Bearer, authorization
from fnplane.v1 import auth_pb2_grpc, functions_pb2_grpc
from fnplane.v1 import functions_pb2 as pb

Request = TypeVar("Request")
Response = TypeVar("Response")
Item = TypeVar("Item")

DEFAULT_SERVER = "localhost:8080"
DEFAULT_TIMEOUT = 5.0


class FunctionsClient:
    """A blocking connection to fnplane, straight to the server or through Envoy.

    `server` is HOST:PORT. `api_key` is needed when the server checks keys. With `tls`, the
    channel is encrypted and the server's certificate checked against `root_certificates`
    (PEM; the system's roots when None), under `server_name` when given. `timeout` is each
    call's deadline in seconds unless the call names its own. `clock` is the monotonic clock
    token lifetimes are measured with.

    An option that cannot work raises `InvalidOption` at once; methods raise the exceptions
    of `fnplane.client.errors`. Use the client as a context manager, or call `close()`.
    """

    def __init__(
        self,
        server: str = DEFAULT_SERVER,
        *,
        api_key: str = "",
        tls: bool = False,
        root_certificates: bytes | None = None,
        server_name: str = "",
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        check_options(server=server, timeout=timeout)
        options = channel_options(server_name=server_name)
        if tls:
            credentials = grpc.ssl_channel_credentials(root_certificates=root_certificates)
            self._channel = grpc.secure_channel(server, credentials, options=options)
        else:
            self._channel = grpc.insecure_channel(server, options=options)
        self._functions = functions_pb2_grpc.FunctionServiceStub(self._channel)
        self._auth = auth_pb2_grpc.AuthServiceStub(self._channel)
        self._bearer = Bearer(api_key=api_key, clock=clock)
        self._token_lock = threading.Lock()
        self._timeout = timeout

    def create(
        self,
        name: str,
        *,
        image: str,
        replicas: int | None = None,
        env: Mapping[str, str] | None = None,
        cpu_request: str = "",
        cpu_limit: str = "",
        memory_request: str = "",
        memory_limit: str = "",
        labels: Mapping[str, str] | None = None,
        annotations: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Confirmation:
        """Creates a function; replicas left out means one. Never retried: a create that
        reached the server must not run twice."""
        request = messages.create_request(
            name,
            image=image,
            replicas=replicas,
            env=env,
            cpu_request=cpu_request,
            cpu_limit=cpu_limit,
            memory_request=memory_request,
            memory_limit=memory_limit,
            labels=labels,
            annotations=annotations,
        )
        reply = self._invoke(self._functions.CreateFunction, request, timeout)
        return messages.confirmation_from_pb(reply)

    def list(self, *, timeout: float | None = None) -> list[Function]:
        """Answers every function of the caller's namespace, sorted by name."""
        reply = self._invoke(self._functions.ListFunctions, pb.ListFunctionsRequest(), timeout)
        return [messages.function_from_pb(f) for f in reply.functions]

    def get(self, name: str, *, timeout: float | None = None) -> Function:
        """Answers one function; raises NotFound when there is none of that name."""
        request = pb.GetFunctionRequest(name=name)
        reply = self._invoke(self._functions.GetFunction, request, timeout)
        return messages.function_from_pb(reply)

    def update(
        self,
        name: str,
        *,
        image: str | None = None,
        replicas: int | None = None,
        env: Mapping[str, str] | None = None,
        cpu_request: str | None = None,
        cpu_limit: str | None = None,
        memory_request: str | None = None,
        memory_limit: str | None = None,
        labels: Mapping[str, str] | None = None,
        annotations: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Function:
        """Changes the options given (a map replaces the whole map; {} clears it) and
        answers the function as it now is."""
        request = messages.update_request(
            name,
            image=image,
            replicas=replicas,
            env=env,
            cpu_request=cpu_request,
            cpu_limit=cpu_limit,
            memory_request=memory_request,
            memory_limit=memory_limit,
            labels=labels,
            annotations=annotations,
        )
        reply = self._invoke(self._functions.UpdateFunction, request, timeout)
        return messages.function_from_pb(reply)

    def delete(self, name: str, *, timeout: float | None = None) -> Confirmation:
        """Deletes a function and everything it runs."""
        request = pb.DeleteFunctionRequest(name=name)
        reply = self._invoke(self._functions.DeleteFunction, request, timeout)
        return messages.confirmation_from_pb(reply)

    def watch(self) -> Iterator[FunctionEvent]:
        """Answers the caller's functions as "ADDED" events, a "SYNCED" event, then every
        change as it happens, until the server ends the stream or the iterator is closed."""
        request = pb.WatchFunctionsRequest()
        return self._stream(self._functions.WatchFunctions, request, streams.event_from_pb, None)

    def logs(
        self,
        name: str,
        *,
        tail_lines: int | None = None,
        since: datetime | None = None,
        follow: bool = False,
        timeout: float | None = None,
    ) -> Iterator[LogLine]:
        """Answers the log lines of a function's pods, each with its pod and time; with
        `follow`, new lines too until the iterator is closed (and no deadline applies)."""
        request = streams.logs_request(name, tail_lines=tail_lines, since=since, follow=follow)
        deadline = None if follow else self._deadline(timeout)
        return self._stream(
            self._functions.GetFunctionLogs, request, streams.log_line_from_pb, deadline
        )

    def token(self, *, timeout: float | None = None) -> Token:
        """Answers the token the client sends, asking the server for a new one when there is
        none yet or the one held expires soon."""
        return self._token(timeout)[0]

    def close(self) -> None:
        """Closes the channel; calls in flight are cancelled."""
        self._channel.close()

    def __enter__(self) -> FunctionsClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def _token(self, timeout: float | None) -> tuple[Token, bool]:
        """Answers the token to send, and whether it was asked for just now."""
        with self._token_lock:
            held = self._bearer.current()
            if held is not None:
                return held, False
            asked_at = self._bearer.now()
            try:
                reply = self._auth.IssueToken(
                    self._bearer.request(), timeout=self._deadline(timeout)
                )
            except grpc.RpcError as error:
                raise errors.from_rpc_error(error) from error
            token = messages.token_from_pb(reply)
            return self._bearer.keep(token, asked_at=asked_at), True

    def _invoke(
        self,
        method: grpc.UnaryUnaryMultiCallable[Request, Response],
        request: Request,
        timeout: float | None,
    ) -> Response:
        token, fresh = self._token(timeout)
        try:
            return method(request, timeout=self._deadline(timeout), metadata=authorization(token))
        except grpc.RpcError as error:
            failed = errors.from_rpc_error(error)
            if fresh or not isinstance(failed, errors.Unauthenticated):
                raise failed from error
        # The server refused a token this client still took for good (it restarted with a
        # new signing key, or the clocks disagree): the call never ran, so it is sent once
        # more with a new token.
        self._bearer.forget(token)
        token, _ = self._token(timeout)
        try:
            return method(request, timeout=self._deadline(timeout), metadata=authorization(token))
        except grpc.RpcError as error:
            raise errors.from_rpc_error(error) from error

    def _stream(
        self,
        method: grpc.UnaryStreamMultiCallable[Request, Response],
        request: Request,
        convert: Callable[[Response], Item],
        deadline: float | None,
    ) -> Iterator[Item]:
        token, _ = self._token(None)
        call = method(request, timeout=deadline, metadata=authorization(token))
        try:
            for message in call:
                yield convert(message)
        except grpc.RpcError as error:
            raise errors.from_rpc_error(error) from error
        finally:
            # The call is also a grpc.Future, whose cancel() the type stubs declare typed.
            cast("grpc.Future[object]", call).cancel()

    def _deadline(self, timeout: float | None) -> float:
        return self._timeout if timeout is None else timeout
