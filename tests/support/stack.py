"""The whole fnplane stack (`fnplane up`: server, Envoy, dashboard) for tests, and REST calls.

`running_stack` starts `fnplane up` as a child process on free ports, waits until it says it
is ready, and always stops it. `fnplane_stack` is a module-scoped fixture around it: import
it into a conftest.py (`from tests.support.stack import fnplane_stack`) to share one stack
among a module's tests. `call` makes one HTTP request and never raises for an HTTP status.
"""

from __future__ import annotations

import contextlib
import json
import os
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import Child, fnplane_argv
from tests.support.waiting import free_port, read_until_closed

READY_LINE = "Press Ctrl-C to stop."


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: status, headers (lower-case names) and body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Stack:
    """A running `fnplane up` and where to reach its parts."""

    child: Child
    http_port: int
    grpc_port: int
    dashboard_port: int
    admin_port: int
    metrics_port: int
    scheme: str = "http"
    tls: ssl.SSLContext | None = field(default=None, repr=False)

    @property
    def api(self) -> str:
        """The REST API's base URL (Envoy's public port), without a trailing slash."""
        return f"{self.scheme}://127.0.0.1:{self.http_port}"

    @property
    def dashboard(self) -> str:
        """The dashboard's base URL, without a trailing slash."""
        return f"{self.scheme}://127.0.0.1:{self.dashboard_port}"

    @property
    def grpc_target(self) -> str:
        """Where a gRPC client reaches the server through Envoy."""
        return f"127.0.0.1:{self.http_port}"

    def call(self, method: str, path: str, **options: Any) -> Reply:
        """Calls the REST API: `stack.call("GET", "/v1/functions", token=token)`."""
        return call(method, self.api + path, tls=self.tls, **options)

    def token(self) -> str:
        """Answers a bearer token from POST /auth/token (open mode: no API key needed)."""
        reply = self.call("POST", "/auth/token", body={})
        assert reply.status == 200, reply.body
        token: str = reply.json()["token"]
        return token


def call(
    method: str,
    url: str,
    *,
    body: Any = None,
    raw: bytes | None = None,
    token: str | None = None,
    headers: Mapping[str, str] | None = None,
    tls: ssl.SSLContext | None = None,
) -> Reply:
    """Makes one HTTP request; `body` is sent as JSON, `raw` as is."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=15, context=tls) as answer:
            return Reply(answer.status, _lower(answer.headers.items()), answer.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, _lower(error.headers.items()), error.read())


@contextlib.contextmanager
def running_stack(
    log: Path,
    *,
    args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    tls: ssl.SSLContext | None = None,
) -> Iterator[Stack]:
    """Runs `fnplane up --backend demo` on free loopback ports until the block ends.

    `args` are more flags for `fnplane up`; with `tls` (a client context trusting the
    certificate given in `args`), the stack's URLs are https ones.
    """
    ports = {name: free_port() for name in ("http", "grpc", "dashboard", "admin", "metrics")}
    argv = fnplane_argv(
        "up",
        "--backend=demo",
        "--http-host=127.0.0.1",
        f"--http-port={ports['http']}",
        f"--grpc-port={ports['grpc']}",
        f"--dashboard-port={ports['dashboard']}",
        f"--admin-port={ports['admin']}",
        f"--metrics-port={ports['metrics']}",
        "--grace-seconds=2",
        *args,
    )
    told, tell = os.pipe()
    argv.append(f"--ready-fd={tell}")
    with Child(argv, log=log, env=env, pass_fds=[tell]) as child:
        os.close(tell)
        try:
            said = read_until_closed(told, what="fnplane up's ready pipe")
        finally:
            os.close(told)
        assert said == b"READY\n", f"fnplane up exited before it was ready:\n{child.output()}"
        yield Stack(
            child=child,
            http_port=ports["http"],
            grpc_port=ports["grpc"],
            dashboard_port=ports["dashboard"],
            admin_port=ports["admin"],
            metrics_port=ports["metrics"],
            scheme="https" if tls else "http",
            tls=tls,
        )


@pytest.fixture(scope="module")
def fnplane_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One `fnplane up` (demo backend, open mode) shared by a test module."""
    with running_stack(tmp_path_factory.mktemp("stack") / "up.log") as stack:
        yield stack


def _lower(items: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in items}
