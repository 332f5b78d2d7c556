"""Patches as the API server applies them: merge, strategic merge on keyed lists, JSON patch."""

from __future__ import annotations

import json

import kubernetes.client
import pytest
from kubernetes.client import ApiException

from tests.fakekube.manifests import deployment, service
from tests.fakekube.patches import merge, strategic_merge

MERGE = "application/merge-patch+json"


def container(
    apps: kubernetes.client.AppsV1Api, name: str = "echo"
) -> kubernetes.client.V1Container:
    found: kubernetes.client.V1Container = apps.read_namespaced_deployment(
        name, "team-a"
    ).spec.template.spec.containers[0]
    return found


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

    env = {e.name: e.value for e in container(apps).env}
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

    assert [e.name for e in container(apps).env] == ["B"]


def test_strategic_merge_adds_a_container_beside_the_existing_one(
    apps: kubernetes.client.AppsV1Api,
) -> None:
    apps.create_namespaced_deployment("team-a", deployment("echo"))

    patched = apps.patch_namespaced_deployment(
        "echo",
        "team-a",
        {"spec": {"template": {"spec": {"containers": [{"name": "proxy", "image": "envoy"}]}}}},
    )

    names = [c.name for c in patched.spec.template.spec.containers]
    assert names == ["function", "proxy"]
    assert patched.metadata.generation == 2


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
    containers = apps.api_client.sanitize_for_serialization(current.spec.template.spec.containers)
    containers[0]["env"] = [{"name": "C", "value": "3"}]

    apps.patch_namespaced_deployment(
        "echo",
        "team-a",
        {"spec": {"template": {"spec": {"containers": containers}}}},
        _content_type=MERGE,
    )

    assert [(e.name, e.value) for e in container(apps).env] == [("C", "3")]


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
    assert patched.metadata.labels["tier"] == "gold"


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
    assert again.metadata.resource_version == created.metadata.resource_version


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
                "metadata": {"resourceVersion": created.metadata.resource_version},
                "spec": {"replicas": 3},
            },
        )

    assert caught.value.status == 409
    assert json.loads(caught.value.body)["reason"] == "Conflict"


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

    assert [(c.type, c.status) for c in patched.status.conditions] == [
        ("Available", "True"),
        ("Progressing", "True"),
    ]
