"""The cluster's failures reach the caller as fnplane's errors with messages that say what
went wrong: which API server, which verb on which resource, what the API server found
invalid. Never a traceback."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from kubernetes import client

from fnplane.server import app
from fnplane.server.config import ServerConfig
from fnplane.server.domain import FunctionSpec, FunctionUpdate
from fnplane.server.errors import (
    AlreadyExists,
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    PermissionDenied,
    Unavailable,
)
from fnplane.server.kubernetes.backend import KubernetesBackend
from fnplane.v1 import functions_pb2 as pb
from fnplane.v1 import functions_pb2_grpc
from tests.fakekube import FakeKubeApiServer
from tests.grpc_errors import failure
from tests.kubernetes.conftest import NAMESPACE
from tests.support.tokens import signed_in
from tests.support.waiting import free_port

SPEC = FunctionSpec(name="alpha", image="nginx:alpine")


@pytest.fixture
def nowhere() -> Iterator[KubernetesBackend]:
    """A backend whose API server address has nothing listening."""
    port = free_port()
    configuration = client.Configuration(host=f"http://127.0.0.1:{port}")
    backend = KubernetesBackend(client.ApiClient(configuration), timeout=2)
    try:
        yield backend
    finally:
        backend.close()


def test_an_unreachable_api_server_is_unavailable_naming_its_address(
    nowhere: KubernetesBackend,
) -> None:
    for call in (lambda: nowhere.list(NAMESPACE), lambda: nowhere.create(NAMESPACE, SPEC)):
        with pytest.raises(Unavailable) as caught:
            call()
        assert nowhere.server in caught.value.message
        assert "connection refused" in caught.value.message


def test_a_refusal_by_rbac_names_the_verb_and_the_resource(
    kube: KubernetesBackend, fake: FakeKubeApiServer
) -> None:
    fake.faults.forbid(verb="create", resource="services")

    with pytest.raises(PermissionDenied) as caught:
        kube.create(NAMESPACE, SPEC)

    assert "create services" in caught.value.message
    assert repr(NAMESPACE) in caught.value.message


def test_a_refused_list_names_list_deployments(
    kube: KubernetesBackend, fake: FakeKubeApiServer
) -> None:
    fake.faults.forbid(verb="list", resource="deployments")

    with pytest.raises(PermissionDenied, match="list deployments in namespace 'team-a'"):
        kube.list("team-a")


def test_a_taken_name_is_already_exists(kube: KubernetesBackend) -> None:
    kube.create(NAMESPACE, SPEC)

    with pytest.raises(AlreadyExists, match="'alpha' already exists"):
        kube.create(NAMESPACE, SPEC)


def test_what_the_api_server_finds_invalid_is_invalid_argument_with_its_message(
    kube: KubernetesBackend, fake: FakeKubeApiServer
) -> None:
    # fnplane's own rules would refuse this name before any backend saw it; here the backend
    # is called directly so the API server's validation answers.
    with pytest.raises(InvalidArgument) as caught:
        kube.create(NAMESPACE, FunctionSpec(name="Not_A_Name", image="nginx:alpine"))

    [violation] = caught.value.violations
    assert violation.field == "name"
    assert "is invalid" in violation.description
    assert "Not_A_Name" in violation.description
    assert fake.objects("deployments", NAMESPACE) == []


def test_a_slow_api_server_is_deadline_exceeded(
    fake: FakeKubeApiServer,
) -> None:
    backend = KubernetesBackend(fake.api_client(), timeout=0.3)
    fake.faults.delay(2, verb="create", resource="deployments")
    try:
        with pytest.raises(DeadlineExceeded) as caught:
            backend.create(NAMESPACE, SPEC)
    finally:
        backend.close()
        fake.faults.clear()
    assert fake.url in caught.value.message


def test_an_internal_error_of_the_api_server_is_unavailable(
    kube: KubernetesBackend, fake: FakeKubeApiServer
) -> None:
    kube.create(NAMESPACE, SPEC)
    fake.faults.fail_next(1, verb="get", resource="deployments")

    with pytest.raises(Unavailable, match="answered 500 InternalError"):
        kube.update(NAMESPACE, FunctionUpdate(name="alpha", replicas=2))


def test_a_namespace_that_does_not_exist_is_a_failed_precondition(
    kube: KubernetesBackend, fake: FakeKubeApiServer
) -> None:
    # The fake makes namespaces on demand; a real API server answers this.
    fake.faults.fail_next(
        1,
        verb="create",
        resource="deployments",
        code=404,
        reason="NotFound",
        message='namespaces "nowhere" not found',
    )

    with pytest.raises(FailedPrecondition, match="namespace 'nowhere' does not exist"):
        kube.create("nowhere", SPEC)


def test_over_grpc_an_unreachable_cluster_is_unavailable_without_a_traceback(
    nowhere: KubernetesBackend,
) -> None:
    running = app.start(ServerConfig(listen="127.0.0.1:0"), backend=nowhere)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            functions = functions_pb2_grpc.FunctionServiceStub(signed_in(channel))
            error = failure(lambda: functions.ListFunctions(pb.ListFunctionsRequest()))
    finally:
        running.stop(grace=1)

    assert error.code() is grpc.StatusCode.UNAVAILABLE
    assert nowhere.server in (error.details() or "")
    assert "Traceback" not in (error.details() or "")
