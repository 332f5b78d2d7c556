"""Fixtures for the Kubernetes backend's own tests: a fake API server, a backend connected to
it, and the controller's part (writing Deployment status) played by the test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from fnplane.server.kubernetes.backend import KubernetesBackend
from fnplane.server.validation import Limits
from tests.fakekube import FakeKubeApiServer
from tests.support.waiting import wait_until

NAMESPACE = "default"


@pytest.fixture
def fake() -> Iterator[FakeKubeApiServer]:
    with FakeKubeApiServer() as server:
        yield server


@pytest.fixture
def kube(fake: FakeKubeApiServer) -> Iterator[KubernetesBackend]:
    """A backend on the fake API server, retrying a failed watch quickly."""
    backend = KubernetesBackend(
        fake.api_client(), limits=Limits(max_replicas=100), timeout=5, backoff=(0.05, 0.2)
    )
    try:
        yield backend
    finally:
        backend.close()


@pytest.fixture
def apps(fake: FakeKubeApiServer) -> Iterator[client.AppsV1Api]:
    """The apps API of the fake, for the test's own reads and the controller's writes."""
    api_client = fake.api_client()
    try:
        yield client.AppsV1Api(api_client)
    finally:
        api_client.close()


@pytest.fixture
def core(fake: FakeKubeApiServer) -> Iterator[client.CoreV1Api]:
    api_client = fake.api_client()
    try:
        yield client.CoreV1Api(api_client)
    finally:
        api_client.close()


def deployment(apps: client.AppsV1Api, name: str) -> dict[str, Any]:
    """Answers the Deployment `name` as the API server stores it, in its JSON form."""
    found = apps.read_namespaced_deployment(name, NAMESPACE)
    answer: dict[str, Any] = apps.api_client.sanitize_for_serialization(found)
    return answer


def report(
    apps: client.AppsV1Api,
    name: str,
    *,
    updated: int,
    available: int,
    total: int | None = None,
    observed: bool = True,
    conditions: tuple[dict[str, str], ...] = (),
) -> None:
    """Writes the Deployment's status through /status, as the Deployment controller does."""
    current = deployment(apps, name)
    generation = current["metadata"]["generation"]
    status = {
        "observedGeneration": generation if observed else generation - 1,
        "replicas": updated if total is None else total,
        "updatedReplicas": updated,
        "readyReplicas": available,
        "availableReplicas": available,
        "conditions": list(conditions),
    }
    apps.patch_namespaced_deployment_status(
        name,
        NAMESPACE,
        {
            "metadata": {"resourceVersion": current["metadata"]["resourceVersion"]},
            "status": status,
        },
        _content_type="application/merge-patch+json",
    )


def caught_up(kube: KubernetesBackend, fake: FakeKubeApiServer) -> None:
    """Waits until the backend's watch has seen everything the fake has stored so far."""
    latest = str(fake.store.revision)

    def seen() -> bool:
        # A bookmark carries the newest version even when the last changes were to objects
        # the watch does not select; asked again until one arrives.
        fake.send_bookmarks()
        return kube.cache.resume_version(NAMESPACE) == latest

    wait_until(seen, what="the watch to catch up")


def condition(kind: str, status: str, reason: str, message: str) -> dict[str, str]:
    return {"type": kind, "status": status, "reason": reason, "message": message}


def unmanaged_deployment(name: str) -> client.V1Deployment:
    """A Deployment made by someone else: no managed-by label."""
    labels = {"app": name}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1DeploymentSpec(
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(
                    containers=[client.V1Container(name="main", image="nginx:alpine")]
                ),
            ),
        ),
    )
