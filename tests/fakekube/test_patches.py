"""Patches as the API server applies them: merge, strategic merge on keyed lists, JSON patch."""

from __future__ import annotations

import kubernetes.client
import pytest
from kubernetes.client import ApiException

from tests.fakekube.answers import metadata_of, pod_spec_of, status_of
from tests.fakekube.manifests import deployment, service
from tests.fakekube.patches import merge, strategic_merge

MERGE = "application/merge-patch+json"


def container(
    apps: kubernetes.client.AppsV1Api, name: str = "echo"
) -> kubernetes.client.V1Container:
    return pod_spec_of(apps.read_namespaced_deployment(name, "team-a")).containers[0]


def env_of(container: kubernetes.client.V1Container) -> list[kubernetes.client.V1EnvVar]:
    assert container.env is not None, "the sample's container has an env"
    return container.env


def test_strategic_merge_merges_env_by_name(apps: kubernetes.client.AppsV1Api) -> None:
    apps.create_namespaced_deployment("team-a", deployment("echo", env={"A": "1", "B": "2"}))

    apps.patch_namespaced_deployment(
        "echo",
        "team-a",
        {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [{"name": "function", "env": [{"name": "B", "value": "20"}]}]
                    }
                }
            }
        },
    )

    env = {e.name: e.value for e in env_of(container(apps))}
    assert env == {"A": "1", "B": "20"}
    assert container(apps).image == "example.com/fn:1"


def test_strategic_merge_deletes_a_keyed_element(apps: kubernetes.client.AppsV1Api) -> None:
    apps.create_namespaced_deployment("team-a", deployment("echo", env={"A": "1", "B": "2"}))

    apps.patch_namespaced_deployment(
        "echo",
        "team-a",
        {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {"name": "function", "env": [{"name": "A", "$patch": "delete"}]}
                        ]
                    }
                }
            }
        },
    )

    assert [e.name for e in env_of(container(apps))] == ["B"]


def test_strategic_merge_adds_a_container_beside_the_existing_one(
    apps: kubernetes.client.AppsV1Api,
) -> None:
    apps.create_namespaced_deployment("team-a", deployment("echo"))

    patched = apps.patch_namespaced_deployment(
        "echo",
        "team-a",
        {"spec": {"template": {"spec": {"containers": [{"name": "proxy", "image": "envoy"}]}}}},
    )

    names = [c.name for c in pod_spec_of(patched).containers]
    assert names == ["function", "proxy"]
    assert metadata_of(patched).generation == 2


def test_strategic_merge_merges_container_ports_by_container_port() -> None:
    original = {"containers": [{"name": "a", "ports": [{"containerPort": 80, "name": "x"}]}]}
    patch = {
        "containers": [
            {
                "name": "a",
                "ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 9090}],
            }
        ]
    }

    merged = strategic_merge(original, patch, ("spec",))

    assert merged["containers"][0]["ports"] == [
        {"containerPort": 80, "name": "http"},
        {"containerPort": 9090},
    ]


def test_strategic_merge_merges_service_ports_by_port(core: kubernetes.client.CoreV1Api) -> None:
    core.create_namespaced_service("team-a", service("echo"))

    patched = core.patch_namespaced_service(
        "echo", "team-a", {"spec": {"ports": [{"port": 80, "name": "web"}]}}
    )

    assert patched.spec is not None and patched.spec.ports is not None
    assert [(p.port, p.name) for p in patched.spec.ports] == [(80, "web")]


def test_strategic_merge_replace_directive_replaces_a_list() -> None:
    original = {"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}
    patch = {"env": [{"name": "C", "value": "3"}, {"$patch": "replace"}]}

    assert strategic_merge(original, patch, ("containers",)) == {
        "env": [{"name": "C", "value": "3"}]
    }


def test_strategic_merge_replaces_lists_without_a_merge_key() -> None:
    original = {"args": ["a", "b"], "finalizers": ["x"]}
    patch = {"args": ["c"], "finalizers": ["y"]}

    assert strategic_merge(original, patch, ()) == {"args": ["c"], "finalizers": ["x", "y"]}


def test_merge_patch_replaces_lists_whole(apps: kubernetes.client.AppsV1Api) -> None:
    apps.create_namespaced_deployment("team-a", deployment("echo", env={"A": "1", "B": "2"}))
    current = apps.read_namespaced_deployment("echo", "team-a")
    containers = apps.api_client.sanitize_for_serialization(pod_spec_of(current).containers)
    containers[0]["env"] = [{"name": "C", "value": "3"}]

    apps.patch_namespaced_deployment(
        "echo",
        "team-a",
        {"spec": {"template": {"spec": {"containers": containers}}}},
        _content_type=MERGE,
    )

    assert [(e.name, e.value) for e in env_of(container(apps))] == [("C", "3")]


def test_merge_patch_null_removes_a_key() -> None:
    assert merge({"a": {"b": 1, "c": 2}}, {"a": {"b": None}}) == {"a": {"c": 2}}


def test_json_patch_applies_operations_in_order(apps: kubernetes.client.AppsV1Api) -> None:
    apps.create_namespaced_deployment("team-a", deployment("echo"))

    patched = apps.patch_namespaced_deployment(
        "echo",
        "team-a",
        [
            {"op": "test", "path": "/spec/replicas", "value": 1},
            {"op": "replace", "path": "/spec/replicas", "value": 3},
            {"op": "add", "path": "/metadata/labels/tier", "value": "gold"},
        ],
    )

    assert patched.spec.replicas == 3
    labels = metadata_of(patched).labels
    assert labels is not None
    assert labels["tier"] == "gold"


def test_failing_json_patch_answers_invalid_and_changes_nothing(
    apps: kubernetes.client.AppsV1Api,
) -> None:
    created = apps.create_namespaced_deployment("team-a", deployment("echo"))

    with pytest.raises(ApiException) as caught:
        apps.patch_namespaced_deployment(
            "echo", "team-a", [{"op": "test", "path": "/spec/replicas", "value": 5}]
        )

    assert caught.value.status == 422
    again = apps.read_namespaced_deployment("echo", "team-a")
    assert metadata_of(again).resource_version == metadata_of(created).resource_version


def test_patch_naming_a_stale_resource_version_is_a_conflict(
    apps: kubernetes.client.AppsV1Api,
) -> None:
    created = apps.create_namespaced_deployment("team-a", deployment("echo"))
    apps.patch_namespaced_deployment("echo", "team-a", {"spec": {"replicas": 2}})

    with pytest.raises(ApiException) as caught:
        apps.patch_namespaced_deployment(
            "echo",
            "team-a",
            {
                "metadata": {"resourceVersion": metadata_of(created).resource_version},
                "spec": {"replicas": 3},
            },
        )

    assert caught.value.status == 409
    assert status_of(caught.value)["reason"] == "Conflict"


def test_patch_of_a_missing_object_answers_not_found(apps: kubernetes.client.AppsV1Api) -> None:
    with pytest.raises(ApiException) as caught:
        apps.patch_namespaced_deployment("nothing", "team-a", {"spec": {"replicas": 2}})

    assert caught.value.status == 404


def test_status_merge_of_conditions_by_type(apps: kubernetes.client.AppsV1Api) -> None:
    apps.create_namespaced_deployment("team-a", deployment("echo"))
    apps.patch_namespaced_deployment_status(
        "echo",
        "team-a",
        {
            "status": {
                "conditions": [
                    {"type": "Available", "status": "False"},
                    {"type": "Progressing", "status": "True"},
                ]
            }
        },
    )

    patched = apps.patch_namespaced_deployment_status(
        "echo",
        "team-a",
        {"status": {"conditions": [{"type": "Available", "status": "True"}]}},
    )

    assert patched.status is not None and patched.status.conditions is not None
    assert [(c.type, c.status) for c in patched.status.conditions] == [
        ("Available", "True"),
        ("Progressing", "True"),
    ]
