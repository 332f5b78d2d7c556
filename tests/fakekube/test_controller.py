"""The simulated controller: Deployments roll out at once, with Pods, when a run asks for it."""

from __future__ import annotations

from collections.abc import Iterator

import kubernetes.client
import pytest

from tests.fakekube import FakeKubeApiServer
from tests.fakekube.answers import metadata_of
from tests.fakekube.manifests import deployment
from tests.support.waiting import wait_until


@pytest.fixture
def live() -> Iterator[FakeKubeApiServer]:
    with FakeKubeApiServer(simulate_controller=True) as started:
        yield started


@pytest.fixture
def live_apps(live: FakeKubeApiServer) -> Iterator[kubernetes.client.AppsV1Api]:
    with live.api_client() as client:
        yield kubernetes.client.AppsV1Api(client)


def rolled_out(apps: kubernetes.client.AppsV1Api, name: str, replicas: int) -> bool:
    found = apps.read_namespaced_deployment(name, "team-a")
    status = found.status
    assert status is not None
    return bool(
        status.observed_generation == metadata_of(found).generation
        and (status.available_replicas or 0) == replicas
        and (status.updated_replicas or 0) == replicas
    )


def pod_names(live: FakeKubeApiServer) -> list[str]:
    return [p["metadata"]["name"] for p in live.objects("pods", "team-a")]


def test_a_new_deployment_becomes_available_with_its_pods(
    live: FakeKubeApiServer, live_apps: kubernetes.client.AppsV1Api
) -> None:
    live_apps.create_namespaced_deployment("team-a", deployment("echo", replicas=2))

    wait_until(lambda: rolled_out(live_apps, "echo", 2), what="the rollout")
    status = live_apps.read_namespaced_deployment("echo", "team-a").status
    assert status is not None and status.conditions is not None
    conditions = status.conditions
    assert {(c.type, c.status) for c in conditions} == {
        ("Available", "True"),
        ("Progressing", "True"),
    }
    pods = live.objects("pods", "team-a")
    assert len(pods) == 2
    assert all(p["metadata"]["labels"]["app.kubernetes.io/name"] == "echo" for p in pods)


def test_a_template_change_replaces_the_pods(
    live: FakeKubeApiServer, live_apps: kubernetes.client.AppsV1Api
) -> None:
    live_apps.create_namespaced_deployment("team-a", deployment("echo"))
    wait_until(lambda: rolled_out(live_apps, "echo", 1), what="the first rollout")
    first = pod_names(live)

    live_apps.patch_namespaced_deployment(
        "echo",
        "team-a",
        {"spec": {"template": {"spec": {"containers": [{"name": "function", "image": "v2"}]}}}},
    )

    wait_until(lambda: rolled_out(live_apps, "echo", 1), what="the second rollout")
    wait_until(lambda: len(pod_names(live)) == 1 and pod_names(live) != first, what="new pods")


def test_scaling_to_zero_leaves_no_pods(
    live: FakeKubeApiServer, live_apps: kubernetes.client.AppsV1Api
) -> None:
    live_apps.create_namespaced_deployment("team-a", deployment("echo", replicas=3))
    wait_until(lambda: len(pod_names(live)) == 3, what="three pods")

    live_apps.patch_namespaced_deployment("echo", "team-a", {"spec": {"replicas": 0}})

    wait_until(lambda: rolled_out(live_apps, "echo", 0), what="the scale down")
    assert pod_names(live) == []
