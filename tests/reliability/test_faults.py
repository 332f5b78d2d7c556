"""A misbehaving Kubernetes API server, seen by a gRPC client of fnplane.

The fake API server refuses connections, dies in the middle of a create, answers 500s,
answers too slowly, drops its watches and forgets old versions (410 Gone). Each time the
client gets UNAVAILABLE or DEADLINE_EXCEEDED with a message naming the API server, the
cluster holds no half-made function (a Deployment without its Service, or the reverse), and
once the API server behaves again, what fnplane lists converges to what the cluster holds,
without a restart. tests/kubernetes/ checks the same faults at the backend's own interface;
here they travel through the server, and the cluster's own store is the judge.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from kubernetes import client

from fnplane.server import app
from fnplane.server.config import ServerConfig
from fnplane.server.domain import FunctionSpec
from fnplane.server.kubernetes.backend import KubernetesBackend
from fnplane.server.kubernetes.objects import deployment_for, is_managed
from fnplane.v1 import functions_pb2 as pb
from fnplane.v1.functions_pb2_grpc import FunctionServiceStub
from tests.fakekube import FakeKubeApiServer
from tests.grpc_errors import failure
from tests.support.processes import fnplane_argv
from tests.support.tokens import signed_in
from tests.support.waiting import free_port, wait_until

NAMESPACE = "default"
API_TIMEOUT = 0.5
"""Seconds the backend waits for the API server; the slow faults outlast it."""
SLOW = 1.5
"""Seconds a slow request is held by the fake API server."""


class Cluster:
    """A fake API server, a Kubernetes backend on it behind a gRPC server, and a client."""

    def __init__(self, fake: FakeKubeApiServer, functions: FunctionServiceStub) -> None:
        self.fake = fake
        self.functions = functions

    def create(self, name: str, replicas: int = 1) -> Any:
        request = pb.CreateFunctionRequest(name=name, image="nginx:alpine", replicas=replicas)
        return self.functions.CreateFunction(request, timeout=10)

    def listed(self) -> list[tuple[str, int]]:
        reply = self.functions.ListFunctions(pb.ListFunctionsRequest(), timeout=10)
        return sorted((f.name, f.replicas) for f in reply.functions)

    def truth(self) -> list[tuple[str, int]]:
        """The functions as the cluster's own store holds them."""
        return sorted(
            (d["metadata"]["name"], int(d["spec"]["replicas"]))
            for d in self.fake.objects("deployments", NAMESPACE)
            if is_managed(d)
        )

    def assert_whole(self) -> None:
        """Every function's Deployment has its Service and every Service its Deployment."""
        deployments, services = _function_parts(self.fake)
        assert deployments == services, "a function is half made"

    def converge(self) -> list[tuple[str, int]]:
        """Waits until fnplane lists what the cluster holds; answers it."""
        wait_until(
            lambda: self.listed() == self.truth(),
            timeout=10,
            what="the list to converge to the cluster's state",
        )
        return self.truth()


@pytest.fixture
def fake() -> Iterator[FakeKubeApiServer]:
    with FakeKubeApiServer() as server:
        yield server


@pytest.fixture
def cluster(fake: FakeKubeApiServer) -> Iterator[Cluster]:
    backend = KubernetesBackend(fake.api_client(), timeout=API_TIMEOUT, backoff=(0.05, 0.2))
    running = app.start(ServerConfig(listen="127.0.0.1:0", metrics_port=0), backend=backend)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            yield Cluster(fake, FunctionServiceStub(signed_in(channel)))
    finally:
        running.stop(grace=1)
        backend.close()


@pytest.fixture
def apps(fake: FakeKubeApiServer) -> Iterator[client.AppsV1Api]:
    """Someone else's hands on the cluster (kubectl, another fnplane)."""
    api_client = fake.api_client()
    try:
        yield client.AppsV1Api(api_client)
    finally:
        api_client.close()


def _code_and_details(call: Callable[[], Any]) -> tuple[grpc.StatusCode, str]:
    error = failure(call)
    return error.code(), error.details() or ""


def _scale(apps: client.AppsV1Api, name: str, replicas: int) -> None:
    apps.patch_namespaced_deployment(
        name,
        NAMESPACE,
        {"spec": {"replicas": replicas}},
        _content_type="application/merge-patch+json",
    )


# Refusing connections


def test_serve_with_kubernetes_and_a_refusing_api_server_exits_naming_it(
    tmp_path: Path,
) -> None:
    # With --backend auto the same server falls back to demo: tests/kubernetes/test_choose.py.
    with FakeKubeApiServer() as stopped:
        kubeconfig = stopped.write_kubeconfig(tmp_path / "config")
        url = stopped.url
    listen = f"127.0.0.1:{free_port()}"

    finished = subprocess.run(
        fnplane_argv(
            "serve", "--backend=kubernetes", f"--kubeconfig={kubeconfig}", "--listen", listen
        ),
        env={**os.environ, "FNPLANE_METRICS_PORT": "0"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert finished.returncode != 0
    assert url in finished.stderr and "connection refused" in finished.stderr
    assert "Traceback" not in finished.stderr


def test_an_api_server_that_refuses_at_the_first_read_is_used_once_it_answers(
    cluster: Cluster, fake: FakeKubeApiServer, apps: client.AppsV1Api
) -> None:
    fake.pause()
    try:
        for call in (cluster.listed, lambda: cluster.create("alpha")):
            code, details = _code_and_details(call)
            assert code is grpc.StatusCode.UNAVAILABLE
            assert fake.url in details and "connection refused" in details
    finally:
        fake.resume()
    assert cluster.truth() == []

    cluster.create("alpha")
    apps.create_namespaced_deployment(
        NAMESPACE,
        client.V1Deployment.model_validate(
            deployment_for(FunctionSpec(name="beta", image="nginx:alpine", replicas=2))
        ),
    )
    assert cluster.converge() == [("alpha", 1), ("beta", 2)]


# Dying in the middle of a create


def test_an_api_server_dying_between_deployment_and_service_leaves_no_half_function(
    cluster: Cluster, fake: FakeKubeApiServer
) -> None:
    cluster.create("before")
    # The Service request is held, and then dropped unanswered and not carried out.
    fake.faults.delay(SLOW, verb="create", resource="services", count=1)
    fake.faults.fail_next(1, verb="create", resource="services", disconnect=True)
    outcome: list[tuple[grpc.StatusCode, str]] = []
    creating = threading.Thread(
        target=lambda: outcome.append(_code_and_details(lambda: cluster.create("alpha")))
    )
    creating.start()
    # The Deployment is made and the Service asked for: the API server dies now.
    wait_until(lambda: fake.request_count(verb="create", resource="services") == 2)
    fake.pause()
    creating.join(timeout=15)

    [(code, details)] = outcome
    assert code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
    assert fake.url in details
    assert [name for name, _ in cluster.listed()] == ["before"], "the failed create is not shown"

    fake.resume()
    wait_until(
        lambda: fake.object("deployments", NAMESPACE, "alpha") is None,
        what="the Deployment of the failed create to be taken back",
    )
    cluster.assert_whole()
    assert cluster.converge() == [("before", 1)]
    cluster.create("alpha")
    cluster.assert_whole()


# Answering 500s


FAILING_STEPS = [
    ("create", "deployments", "create"),
    ("create", "services", "create"),
    ("list", "deployments", "list"),
    ("get", "deployments", "update"),
    ("patch", "deployments", "update"),
    ("get", "deployments", "delete"),
    ("delete", "deployments", "delete"),
]


def _rpc(cluster: Cluster, name: str) -> dict[str, Callable[[], Any]]:
    functions = cluster.functions
    return {
        "create": lambda: cluster.create(name),
        "list": cluster.listed,
        "update": lambda: functions.UpdateFunction(
            pb.UpdateFunctionRequest(name=name, replicas=3), timeout=10
        ),
        "delete": lambda: functions.DeleteFunction(
            pb.DeleteFunctionRequest(name=name), timeout=10
        ),
    }


@pytest.mark.parametrize(("verb", "resource", "rpc"), FAILING_STEPS)
def test_a_500_from_the_api_server_is_unavailable_and_changes_nothing(
    cluster: Cluster, fake: FakeKubeApiServer, verb: str, resource: str, rpc: str
) -> None:
    if rpc != "list":
        cluster.create("kept", replicas=2)
    name = "alpha" if rpc == "create" else "kept"
    before = cluster.truth()
    fake.faults.fail_next(1, verb=verb, resource=resource)

    code, details = _code_and_details(_rpc(cluster, name)[rpc])

    assert code is grpc.StatusCode.UNAVAILABLE
    assert f"{fake.url} answered 500 InternalError to {verb} {resource}" in details
    assert cluster.truth() == before
    cluster.assert_whole()
    assert cluster.converge() == before
    _rpc(cluster, name)[rpc]()


def test_a_500_when_removing_the_service_still_deletes_the_whole_function(
    cluster: Cluster, fake: FakeKubeApiServer
) -> None:
    cluster.create("alpha")
    fake.faults.fail_next(1, verb="delete", resource="services")

    cluster.functions.DeleteFunction(pb.DeleteFunctionRequest(name="alpha"), timeout=10)

    # The Service is owned by the Deployment: the cluster's garbage collector removes it.
    cluster.assert_whole()
    assert cluster.converge() == []
    cluster.create("alpha")


# Answering slowly, past the deadline


def _landed(fake: FakeKubeApiServer, since: int, verb: str, resource: str) -> bool:
    """Whether the slow request the API server kept has now been carried out: its change is
    in the store's history after revision `since`."""
    kind = {"create": "ADDED", "patch": "MODIFIED", "delete": "DELETED"}[verb]
    return any(
        change.resource.plural == resource
        and change.type == kind
        and change.obj["metadata"]["name"] in ("alpha", "kept")
        for change in fake.store.changes_after(since)
    )


SLOW_STEPS = [
    ("create", "deployments", "create"),
    ("create", "services", "create"),
    ("patch", "deployments", "update"),
    ("delete", "deployments", "delete"),
]


@pytest.mark.parametrize(("verb", "resource", "rpc"), SLOW_STEPS)
def test_a_slow_api_server_is_deadline_exceeded_and_the_cluster_stays_whole(
    cluster: Cluster, fake: FakeKubeApiServer, verb: str, resource: str, rpc: str
) -> None:
    cluster.create("kept", replicas=2)
    name = "alpha" if rpc == "create" else "kept"
    # Every matching request is slow, so the client library's own retries meet it too.
    fake.faults.delay(SLOW, verb=verb, resource=resource)
    since = fake.store.revision

    code, details = _code_and_details(_rpc(cluster, name)[rpc])
    fake.faults.clear()

    assert code is grpc.StatusCode.DEADLINE_EXCEEDED
    assert f"{fake.url} did not answer in time ({verb} {resource}" in details
    # The API server carries the slow request out after all, once the client has gone.
    wait_until(
        lambda: _landed(fake, since, verb, resource), what="the slow request to be carried out"
    )
    wait_until(lambda: not _half_made(fake), timeout=3, what="no half-made function to remain")
    cluster.converge()


def _half_made(fake: FakeKubeApiServer) -> bool:
    return _function_parts(fake)[0] != _function_parts(fake)[1]


def _function_parts(fake: FakeKubeApiServer) -> tuple[set[str], set[str]]:
    """The names of the functions' Deployments and of their Services, once the garbage
    collector has dealt with the deletes so far. A Service whose owner no longer exists
    does not count: the cluster's garbage collector removes it (the fake's collects only
    when an owner is deleted, so one made after its owner's delete stays)."""
    fake.collect_garbage()
    deployments = {
        d["metadata"]["uid"]: d["metadata"]["name"]
        for d in fake.objects("deployments", NAMESPACE)
        if is_managed(d)
    }
    services = {
        s["metadata"]["name"]
        for s in fake.objects("services", NAMESPACE)
        if is_managed(s) and _owned_by_one_of(s, deployments)
    }
    return set(deployments.values()), services


def _owned_by_one_of(service: dict[str, Any], deployments: dict[str, str]) -> bool:
    owners = service["metadata"].get("ownerReferences") or []
    return not owners or any(owner["uid"] in deployments for owner in owners)


# Losing the watch


def _drop_cleanly(fake: FakeKubeApiServer) -> None:
    fake.drop_watches()


def _drop_abruptly(fake: FakeKubeApiServer) -> None:
    fake.drop_watches(abrupt=True)


def _expire(fake: FakeKubeApiServer) -> None:
    fake.expire_watches()


LOSSES: dict[str, Callable[[FakeKubeApiServer], None]] = {
    "dropped cleanly": _drop_cleanly,
    "cut": _drop_abruptly,
    "410 on the open watch": _expire,
}


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_after_losing_the_watch_others_changes_still_converge(
    cluster: Cluster, fake: FakeKubeApiServer, apps: client.AppsV1Api, loss: str
) -> None:
    cluster.create("alpha")
    cluster.create("beta")
    wait_until(lambda: fake.open_watches >= 1, what="the watch to open")

    LOSSES[loss](fake)
    _scale(apps, "alpha", 4)
    apps.delete_namespaced_deployment("beta", NAMESPACE)

    assert cluster.converge() == [("alpha", 4)]


def test_changes_made_while_the_watch_was_refused_and_its_version_expired_converge(
    cluster: Cluster, fake: FakeKubeApiServer, apps: client.AppsV1Api
) -> None:
    cluster.create("alpha")
    cluster.create("beta")
    wait_until(lambda: fake.open_watches >= 1, what="the watch to open")
    # The watch is cut and every attempt to resume it fails for a while; meanwhile others
    # change the cluster, and the history is compacted so the resume answers 410 Gone.
    fake.faults.fail_next(1000, verb="watch", code=503, reason="ServiceUnavailable")
    fake.drop_watches(abrupt=True)
    wait_until(lambda: fake.open_watches == 0)
    _scale(apps, "alpha", 5)
    apps.delete_namespaced_deployment("beta", NAMESPACE)
    apps.create_namespaced_deployment(
        NAMESPACE,
        client.V1Deployment.model_validate(
            deployment_for(FunctionSpec(name="gamma", image="nginx:alpine"))
        ),
    )
    fake.compact()
    assert cluster.listed() == [("alpha", 1), ("beta", 1)], "reads go on from memory"

    fake.faults.clear()

    assert cluster.converge() == [("alpha", 5), ("gamma", 1)]
