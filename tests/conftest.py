"""Fixtures: a real fnplane server on a free port, and stubs that call it over a channel.

FunctionService needs a token: `functions` signs in to the open-mode `server` first, and
`functions_as` calls a credentialed `tenant_server` as one of two tenants.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import grpc
import pytest

from fnplane.server import app
from fnplane.server.backend import FunctionBackend
from fnplane.server.config import ServerConfig
from fnplane.server.validation import Limits
from fnplane.v1 import functions_pb2_grpc
from tests.backends import BACKENDS
from tests.support.tokens import TENANT_KEYS, TENANT_SECRET, api_keys_setting, signed_in

TEST_LIMITS = Limits(max_replicas=100)


@pytest.fixture(scope="session", autouse=True)
def no_real_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keeps every test, and every process a test starts, away from a real cluster.

    The default backend, "auto", uses a cluster when one is configured; on a developer's
    machine that could be their own ~/.kube/config. Tests that want a cluster name the
    fake one explicitly.
    """
    patch = pytest.MonkeyPatch()
    patch.setenv("KUBECONFIG", str(tmp_path_factory.mktemp("kube") / "no-such-config"))
    patch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    yield
    patch.undo()


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> Iterator[FunctionBackend]:
    """Each backend in turn, fresh for the test."""
    with BACKENDS[request.param](TEST_LIMITS) as made:
        yield made


@pytest.fixture
def server(backend: FunctionBackend) -> Iterator[app.RunningServer]:
    """A started server on a free port, serving `backend`; stopped after the test."""
    config = ServerConfig(
        listen="127.0.0.1:0", max_replicas=TEST_LIMITS.max_replicas, metrics_port=0
    )
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
    """A FunctionService stub on a channel to the test's server, sending a token for the
    default namespace with every call."""
    return functions_pb2_grpc.FunctionServiceStub(signed_in(channel))


@pytest.fixture
def tenant_server(backend: FunctionBackend) -> Iterator[app.RunningServer]:
    """A started server in credentialed mode: each key of TENANT_KEYS reaches its namespace,
    and tokens are signed with TENANT_SECRET."""
    config = ServerConfig(
        listen="127.0.0.1:0",
        max_replicas=TEST_LIMITS.max_replicas,
        metrics_port=0,
        token_secret=TENANT_SECRET,
        api_keys=api_keys_setting(TENANT_KEYS),
    )
    running = app.start(config, backend=backend)
    try:
        yield running
    finally:
        running.stop(grace=1)


@pytest.fixture
def functions_as(
    tenant_server: app.RunningServer,
) -> Iterator[Callable[[str], functions_pb2_grpc.FunctionServiceStub]]:
    """Makes FunctionService stubs that call `tenant_server` as the tenant of a namespace
    named in TENANT_KEYS: `functions_as("team-a")`."""
    with grpc.insecure_channel(f"127.0.0.1:{tenant_server.port}") as opened:
        grpc.channel_ready_future(opened).result(timeout=10)

        def stub(namespace: str) -> functions_pb2_grpc.FunctionServiceStub:
            return functions_pb2_grpc.FunctionServiceStub(
                signed_in(opened, TENANT_KEYS[namespace])
            )

        yield stub
