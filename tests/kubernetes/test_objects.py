"""What a function becomes in the cluster: a Deployment and a Service, as the API server
stores them after the backend's create and update."""

from __future__ import annotations

from dataclasses import replace

from kubernetes import client

from fnplane.server.domain import FunctionSpec, FunctionUpdate, Status
from fnplane.server.kubernetes.backend import KubernetesBackend
from tests.kubernetes.conftest import NAMESPACE, deployment

SPEC = FunctionSpec(
    name="greeter",
    image="ghcr.io/acme/greeter:1.2",
    replicas=3,
    env={"ZETA": "last", "ALPHA": "first", "MIDDLE": "m"},
    cpu_request="250m",
    cpu_limit="1",
    memory_request="64Mi",
    memory_limit="128Mi",
    labels={"team": "web"},
    annotations={"example.com/owner": "alice"},
)


def test_create_makes_a_labelled_deployment_running_one_container(
    kube: KubernetesBackend, apps: client.AppsV1Api
) -> None:
    kube.create(NAMESPACE, SPEC)

    made = deployment(apps, "greeter")
    labels = made["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "greeter"
    assert labels["app.kubernetes.io/managed-by"] == "fnplane"
    assert labels["team"] == "web"
    assert made["metadata"]["annotations"]["example.com/owner"] == "alice"
    spec = made["spec"]
    assert spec["replicas"] == 3
    assert spec["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "greeter",
        "app.kubernetes.io/managed-by": "fnplane",
    }
    assert spec["strategy"]["type"] == "RollingUpdate"
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    [container] = spec["template"]["spec"]["containers"]
    assert container["image"] == "ghcr.io/acme/greeter:1.2"
    assert [e["name"] for e in container["env"]] == ["ALPHA", "MIDDLE", "ZETA"]
    assert [(p["name"], p["containerPort"]) for p in container["ports"]] == [("http", 8080)]
    assert container["resources"] == {
        "requests": {"cpu": "250m", "memory": "64Mi"},
        "limits": {"cpu": "1", "memory": "128Mi"},
    }
    assert spec["template"]["metadata"]["labels"]["team"] == "web"


def test_create_makes_a_cluster_ip_service_owned_by_the_deployment(
    kube: KubernetesBackend, apps: client.AppsV1Api, core: client.CoreV1Api
) -> None:
    kube.create(NAMESPACE, SPEC)

    made = deployment(apps, "greeter")
    service = core.read_namespaced_service("greeter", NAMESPACE)
    assert service.spec is not None and service.spec.ports is not None
    assert service.metadata is not None and service.metadata.labels is not None
    assert service.metadata.owner_references is not None
    assert service.spec.type == "ClusterIP"
    assert service.spec.selector == {
        "app.kubernetes.io/name": "greeter",
        "app.kubernetes.io/managed-by": "fnplane",
    }
    assert [(p.name, p.target_port) for p in service.spec.ports] == [("http", "http")]
    assert service.metadata.labels["app.kubernetes.io/managed-by"] == "fnplane"
    [owner] = service.metadata.owner_references
    assert (owner.kind, owner.name, owner.uid) == (
        "Deployment",
        "greeter",
        made["metadata"]["uid"],
    )


def test_equal_specs_make_equal_deployments_whatever_the_env_order(
    kube: KubernetesBackend, apps: client.AppsV1Api
) -> None:
    kube.create(NAMESPACE, SPEC)
    reordered = dict(reversed(list(SPEC.env.items())))
    kube.create(NAMESPACE, replace(SPEC, name="twin", env=reordered))

    first = deployment(apps, "greeter")["spec"]["template"]["spec"]["containers"]
    second = deployment(apps, "twin")["spec"]["template"]["spec"]["containers"]
    assert first == second


def test_get_reads_the_spec_back_from_the_cluster(kube: KubernetesBackend) -> None:
    kube.create(NAMESPACE, SPEC)

    function = kube.get(NAMESPACE, "greeter")

    assert function.spec == SPEC
    assert function.namespace == NAMESPACE
    assert function.status is Status.DEPLOYING


def test_update_rolls_the_deployment_and_drops_what_the_user_removed(
    kube: KubernetesBackend, apps: client.AppsV1Api
) -> None:
    kube.create(NAMESPACE, SPEC)
    before = deployment(apps, "greeter")

    updated = kube.update(
        NAMESPACE,
        FunctionUpdate(
            name="greeter",
            image="ghcr.io/acme/greeter:1.3",
            env={"ONLY": "this"},
            cpu_limit="",
            cpu_request="",
            labels={},
            annotations={"example.com/reviewed": "yes"},
        ),
    )

    after = deployment(apps, "greeter")
    assert after["metadata"]["generation"] > before["metadata"]["generation"]
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    [container] = after["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "ghcr.io/acme/greeter:1.3"
    assert container["env"] == [{"name": "ONLY", "value": "this"}]
    assert container["resources"] == {
        "requests": {"memory": "64Mi"},
        "limits": {"memory": "128Mi"},
    }
    assert "team" not in after["metadata"]["labels"]
    assert "team" not in after["spec"]["template"]["metadata"]["labels"]
    assert after["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "fnplane"
    assert after["metadata"]["annotations"].get("example.com/owner") is None
    assert updated.spec.annotations == {"example.com/reviewed": "yes"}
    assert updated.spec.labels == {}
    assert kube.get(NAMESPACE, "greeter").spec == updated.spec


def test_delete_removes_the_deployment_and_the_service(
    kube: KubernetesBackend, apps: client.AppsV1Api, core: client.CoreV1Api
) -> None:
    kube.create(NAMESPACE, SPEC)

    kube.delete(NAMESPACE, "greeter")

    assert apps.list_namespaced_deployment(NAMESPACE).items == []
    assert (
        core.list_namespaced_service(
            NAMESPACE, label_selector="app.kubernetes.io/managed-by=fnplane"
        ).items
        == []
    )
    assert kube.list(NAMESPACE) == []
