"""Validation the backend relies on: 422 Invalid with the causes the API server lists."""

from __future__ import annotations

from typing import Any

import kubernetes.client
import pytest
from kubernetes.client import ApiException, V1Deployment, V1Service

from tests.fakekube.answers import name_of, status_of
from tests.fakekube.manifests import deployment, deployment_body, service, service_body


def invalid(error: ApiException) -> dict[str, Any]:
    assert error.status == 422
    status = status_of(error)
    assert status["reason"] == "Invalid"
    return status


def test_negative_replicas_are_invalid(apps: kubernetes.client.AppsV1Api) -> None:
    with pytest.raises(ApiException) as caught:
        apps.create_namespaced_deployment("team-a", deployment("echo", replicas=-1))

    status = invalid(caught.value)
    assert status["message"] == (
        'Deployment.apps "echo" is invalid: spec.replicas: Invalid value: -1: must be greater '
        "than or equal to 0"
    )
    assert status["details"] == {
        "name": "echo",
        "group": "apps",
        "kind": "Deployment",
        "causes": [
            {
                "reason": "FieldValueInvalid",
                "message": "Invalid value: -1: must be greater than or equal to 0",
                "field": "spec.replicas",
            }
        ],
    }
    assert apps.list_namespaced_deployment("team-a").items == []


def test_missing_containers_are_required(apps: kubernetes.client.AppsV1Api) -> None:
    body = deployment_body("echo")
    body["spec"]["template"]["spec"]["containers"] = []

    with pytest.raises(ApiException) as caught:
        apps.create_namespaced_deployment("team-a", V1Deployment.model_validate(body))

    causes = invalid(caught.value)["details"]["causes"]
    assert causes == [
        {
            "reason": "FieldValueRequired",
            "message": "Required value",
            "field": "spec.template.spec.containers",
        }
    ]


def test_every_error_is_listed(apps: kubernetes.client.AppsV1Api) -> None:
    body = deployment_body("echo", replicas=-2)
    body["spec"]["template"]["spec"]["containers"][0]["image"] = ""

    with pytest.raises(ApiException) as caught:
        apps.create_namespaced_deployment("team-a", V1Deployment.model_validate(body))

    status = invalid(caught.value)
    fields = [c["field"] for c in status["details"]["causes"]]
    assert fields == ["spec.replicas", "spec.template.spec.containers[0].image"]
    assert status["message"].startswith('Deployment.apps "echo" is invalid: [spec.replicas:')


def test_selector_must_match_template_labels(apps: kubernetes.client.AppsV1Api) -> None:
    body = deployment_body("echo")
    body["spec"]["template"]["metadata"]["labels"] = {"other": "x"}

    with pytest.raises(ApiException) as caught:
        apps.create_namespaced_deployment("team-a", V1Deployment.model_validate(body))

    causes = invalid(caught.value)["details"]["causes"]
    assert causes[0]["field"] == "spec.template.metadata.labels"
    assert "`selector` does not match template `labels`" in causes[0]["message"]


def test_name_is_required(apps: kubernetes.client.AppsV1Api) -> None:
    body = deployment_body("echo")
    del body["metadata"]["name"]

    with pytest.raises(ApiException) as caught:
        apps.create_namespaced_deployment("team-a", V1Deployment.model_validate(body))

    causes = invalid(caught.value)["details"]["causes"]
    assert causes[0] == {
        "reason": "FieldValueRequired",
        "message": "Required value: name or generateName is required",
        "field": "metadata.name",
    }


def test_generate_name_makes_a_unique_name(apps: kubernetes.client.AppsV1Api) -> None:
    body = deployment_body("echo")
    del body["metadata"]["name"]
    body["metadata"]["generateName"] = "echo-"

    first = apps.create_namespaced_deployment("team-a", V1Deployment.model_validate(body))
    second = apps.create_namespaced_deployment("team-a", V1Deployment.model_validate(body))

    assert name_of(first).startswith("echo-")
    assert name_of(first) != name_of(second)


@pytest.mark.parametrize("name", ["Echo", "echo_1", "-echo", "a" * 254])
def test_deployment_names_must_be_dns_subdomains(
    apps: kubernetes.client.AppsV1Api, name: str
) -> None:
    body = deployment_body("echo")
    body["metadata"]["name"] = name

    with pytest.raises(ApiException) as caught:
        apps.create_namespaced_deployment("team-a", V1Deployment.model_validate(body))

    assert invalid(caught.value)["details"]["causes"][0]["field"] == "metadata.name"


def test_service_names_must_be_dns_labels(core: kubernetes.client.CoreV1Api) -> None:
    # A dotted name is a fine subdomain but not a DNS-1035 label.
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_service("team-a", service("echo.v1"))

    assert invalid(caught.value)["details"]["kind"] == "Service"


def test_invalid_label_values_are_refused(apps: kubernetes.client.AppsV1Api) -> None:
    with pytest.raises(ApiException) as caught:
        apps.create_namespaced_deployment(
            "team-a", deployment("echo", labels={"tier": "not valid!"})
        )

    assert invalid(caught.value)["details"]["causes"][0]["field"] == "metadata.labels"


def test_bad_resource_quantities_are_refused(apps: kubernetes.client.AppsV1Api) -> None:
    body = deployment_body("echo")
    body["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": {"memory": "lots"}}

    with pytest.raises(ApiException) as caught:
        apps.create_namespaced_deployment("team-a", V1Deployment.model_validate(body))

    cause = invalid(caught.value)["details"]["causes"][0]
    assert cause["field"] == "spec.template.spec.containers[0].resources.limits[memory]"


def test_selector_is_immutable(apps: kubernetes.client.AppsV1Api) -> None:
    apps.create_namespaced_deployment("team-a", deployment("echo"))

    with pytest.raises(ApiException) as caught:
        apps.patch_namespaced_deployment(
            "echo",
            "team-a",
            {
                "spec": {
                    "selector": {"matchLabels": {"other": "x"}},
                    "template": {"metadata": {"labels": {"other": "x"}}},
                }
            },
        )

    assert "field is immutable" in invalid(caught.value)["message"]


def test_a_service_needs_ports(core: kubernetes.client.CoreV1Api) -> None:
    body = service_body("echo")
    body["spec"]["ports"] = []

    with pytest.raises(ApiException) as caught:
        core.create_namespaced_service("team-a", V1Service.model_validate(body))

    assert invalid(caught.value)["details"]["causes"][0]["field"] == "spec.ports"


def test_a_body_in_another_namespace_is_a_bad_request(apps: kubernetes.client.AppsV1Api) -> None:
    body = deployment_body("echo")
    body["metadata"]["namespace"] = "team-b"

    with pytest.raises(ApiException) as caught:
        apps.create_namespaced_deployment("team-a", V1Deployment.model_validate(body))

    assert caught.value.status == 400
