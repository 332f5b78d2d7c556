"""Owner references honoured the way the garbage collector honours them."""

from __future__ import annotations

import kubernetes.client
import pytest
from kubernetes.client import ApiException

from tests.fakekube import FakeKubeApiServer
from tests.fakekube.answers import metadata_of, name_of
from tests.fakekube.manifests import deployment, service


def names(core: kubernetes.client.CoreV1Api) -> list[str]:
    return [name_of(s) for s in core.list_namespaced_service("team-a").items]


def test_deleting_an_owner_deletes_its_services(
    fake: FakeKubeApiServer,
    apps: kubernetes.client.AppsV1Api,
    core: kubernetes.client.CoreV1Api,
) -> None:
    owner = apps.create_namespaced_deployment("team-a", deployment("echo"))
    core.create_namespaced_service("team-a", service("echo", owner=owner))
    core.create_namespaced_service("team-a", service("bystander"))

    apps.delete_namespaced_deployment("echo", "team-a")
    fake.collect_garbage()

    assert names(core) == ["bystander"]


def test_foreground_deletion_removes_dependents_before_the_owner(
    fake: FakeKubeApiServer,
    apps: kubernetes.client.AppsV1Api,
    core: kubernetes.client.CoreV1Api,
) -> None:
    owner = apps.create_namespaced_deployment("team-a", deployment("echo"))
    core.create_namespaced_service("team-a", service("echo", owner=owner))

    answer = apps.delete_namespaced_deployment("echo", "team-a", propagation_policy="Foreground")
    fake.collect_garbage()

    # While dependents remain the API answers the owner, marked for deletion.
    assert isinstance(answer, dict)
    assert answer["metadata"]["deletionTimestamp"]
    assert "foregroundDeletion" in answer["metadata"]["finalizers"]
    assert names(core) == []
    with pytest.raises(ApiException) as caught:
        apps.read_namespaced_deployment("echo", "team-a")
    assert caught.value.status == 404


def test_orphan_deletion_keeps_dependents_without_the_reference(
    fake: FakeKubeApiServer,
    apps: kubernetes.client.AppsV1Api,
    core: kubernetes.client.CoreV1Api,
) -> None:
    owner = apps.create_namespaced_deployment("team-a", deployment("echo"))
    core.create_namespaced_service("team-a", service("echo", owner=owner))

    apps.delete_namespaced_deployment("echo", "team-a", propagation_policy="Orphan")
    fake.collect_garbage()

    kept = core.read_namespaced_service("echo", "team-a")
    assert metadata_of(kept).owner_references is None
    assert apps.list_namespaced_deployment("team-a").items == []


def test_pods_of_a_deleted_deployment_go_too(
    fake: FakeKubeApiServer,
    apps: kubernetes.client.AppsV1Api,
    core: kubernetes.client.CoreV1Api,
) -> None:
    owner = apps.create_namespaced_deployment("team-a", deployment("echo"))
    owner_body = apps.api_client.sanitize_for_serialization(owner)
    fake.add_pod("team-a", "echo-1", {"app.kubernetes.io/name": "echo"}, owner=owner_body)

    apps.delete_namespaced_deployment("echo", "team-a")
    fake.collect_garbage()

    assert core.list_namespaced_pod("team-a").items == []


def test_a_stopped_collector_leaves_dependents_until_it_starts_again(
    fake: FakeKubeApiServer,
    apps: kubernetes.client.AppsV1Api,
    core: kubernetes.client.CoreV1Api,
) -> None:
    owner = apps.create_namespaced_deployment("team-a", deployment("echo"))
    core.create_namespaced_service("team-a", service("echo", owner=owner))
    fake.garbage.stop()

    apps.delete_namespaced_deployment("echo", "team-a")
    assert names(core) == ["echo"]

    fake.garbage.start()
    fake.collect_garbage()
    assert names(core) == []
