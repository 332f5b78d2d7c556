"""Fixtures for the client tests: real fnplane servers in this process, on free ports.

`start_server` starts servers with chosen settings (and stops them all after the test);
`ScriptedBackend` is the demo backend made to fail or stall on chosen calls, the way a
cluster behind the Kubernetes backend can, so the client's handling of those statuses is
seen through the real server.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fnplane.server import app
from fnplane.server.backend import FunctionBackend
from fnplane.server.config import ServerConfig
from fnplane.server.demo import DemoBackend
from fnplane.server.domain import Function, FunctionSpec, FunctionUpdate
from fnplane.server.errors import FnplaneError
from fnplane.server.validation import Limits
from tests.support.tokens import TENANT_KEYS, TENANT_SECRET, api_keys_setting

LIMITS = Limits(max_replicas=100)
# How long a stalled backend call waits to be released before it gives up by itself.
STALL_LIMIT_SECONDS = 30

StartServer = Callable[..., app.RunningServer]


class FakeClock:
    """A monotonic clock that moves only when the test moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def tokens_issued(caplog: pytest.LogCaptureFixture) -> int:
    """Answers how many tokens the servers of the test have issued (by their auth log)."""
    return sum(
        "token issued" in r.getMessage() for r in caplog.records if r.name == "fnplane.auth"
    )


class ScriptedBackend(DemoBackend):
    """The demo backend, counting its calls, failing the next calls of a method with the
    errors queued for it, and holding `get` calls while `stalled` is set."""

    def __init__(self) -> None:
        super().__init__(limits=LIMITS)
        self.calls: Counter[str] = Counter()
        self._failures: defaultdict[str, list[FnplaneError]] = defaultdict(list)
        self.stalled = threading.Event()
        self._released = threading.Event()

    def fail_next(self, method: str, *failures: FnplaneError) -> None:
        """Makes the next calls of `method` raise `failures`, one each, in order."""
        self._failures[method].extend(failures)

    def release(self) -> None:
        """Lets stalled calls go on."""
        self._released.set()

    def _called(self, method: str) -> None:
        self.calls[method] += 1
        if self._failures[method]:
            raise self._failures[method].pop(0)

    def create(self, namespace: str, spec: FunctionSpec) -> Function:
        self._called("create")
        return super().create(namespace, spec)

    def list(self, namespace: str) -> list[Function]:
        self._called("list")
        return super().list(namespace)

    def get(self, namespace: str, name: str) -> Function:
        self._called("get")
        if self.stalled.is_set():
            self._released.wait(STALL_LIMIT_SECONDS)
        return super().get(namespace, name)

    def update(self, namespace: str, update: FunctionUpdate) -> Function:
        self._called("update")
        return super().update(namespace, update)

    def delete(self, namespace: str, name: str) -> None:
        self._called("delete")
        super().delete(namespace, name)


@pytest.fixture
def start_server() -> Iterator[StartServer]:
    """Starts fnplane servers: `start_server(backend=..., **ServerConfig settings)`; each
    listens on a free port unless `listen` says otherwise, and all stop after the test."""
    started: list[app.RunningServer] = []

    def start(*, backend: FunctionBackend | None = None, **settings: Any) -> app.RunningServer:
        config = ServerConfig(**{"listen": "127.0.0.1:0", "backend": "demo", **settings})
        running = app.start(config, backend=backend or DemoBackend(limits=LIMITS))
        started.append(running)
        return running

    try:
        yield start
    finally:
        for running in started:
            if isinstance(running.backend, ScriptedBackend):
                running.backend.release()
            running.stop(grace=0)


@pytest.fixture
def address(start_server: StartServer) -> str:
    """HOST:PORT of a server in open mode (any caller gets a token for "default")."""
    return f"127.0.0.1:{start_server().port}"


@pytest.fixture
def scripted(start_server: StartServer) -> tuple[str, ScriptedBackend]:
    """HOST:PORT of an open-mode server on a ScriptedBackend, and that backend."""
    backend = ScriptedBackend()
    return f"127.0.0.1:{start_server(backend=backend).port}", backend


def credentialed(**settings: Any) -> dict[str, Any]:
    """Answers the settings of a server that needs an API key (TENANT_KEYS)."""
    return {"token_secret": TENANT_SECRET, "api_keys": api_keys_setting(TENANT_KEYS), **settings}


@pytest.fixture
def keyed_address(start_server: StartServer) -> str:
    """HOST:PORT of a credentialed server: each key of TENANT_KEYS reaches its namespace."""
    return f"127.0.0.1:{start_server(**credentialed()).port}"
