"""Fixtures: a real fnplane server on a free port, and stubs that call it over a channel."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from fnplane.server import app
from fnplane.server.backend import FunctionBackend
from fnplane.server.config import ServerConfig
from fnplane.server.validation import Limits
from fnplane.v1 import functions_pb2_grpc
from tests.backends import BACKENDS

TEST_LIMITS = Limits(max_replicas=100)


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> Iterator[FunctionBackend]:
    """Each backend in turn, fresh for the test."""
    with BACKENDS[request.param](TEST_LIMITS) as made:
        yield made


@pytest.fixture
def server(backend: FunctionBackend) -> Iterator[app.RunningServer]:
    """A started server on a free port, serving `backend`; stopped after the test."""
    config = ServerConfig(listen="127.0.0.1:0", max_replicas=TEST_LIMITS.max_replicas)
    running = app.start(config, backend=backend)
    try:
        yield running
    finally:
        running.stop(grace=1)


@pytest.fixture
def channel(server: app.RunningServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as opened:
        grpc.channel_ready_future(opened).result(timeout=10)
        yield opened


@pytest.fixture
def functions(channel: grpc.Channel) -> functions_pb2_grpc.FunctionServiceStub:
    """A FunctionService stub on a channel to the test's server."""
    return functions_pb2_grpc.FunctionServiceStub(channel)
