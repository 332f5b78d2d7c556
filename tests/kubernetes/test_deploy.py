"""The manifests in deploy/: valid against the Kubernetes schemas (checked offline), and an
RBAC Role that grants exactly the calls the backend makes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from fnplane.server.domain import FunctionSpec, FunctionUpdate, LogQuery
from fnplane.server.kubernetes.backend import KubernetesBackend
from fnplane.server.kubernetes.objects import fnplane_labels
from tests.fakekube import FakeKubeApiServer
from tests.kubernetes.conftest import NAMESPACE
from tests.support.waiting import wait_until

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
KUBERNETES_VERSION = "1.30"
"""The oldest Kubernetes release the manifests are meant for."""

# The API group of each resource the backend uses, as RBAC rules name groups.
GROUPS = {"deployments": "apps", "services": "", "pods": "", "pods/log": ""}


def _documents() -> list[dict[str, Any]]:
    documents = []
    for path in sorted(DEPLOY.glob("*.yaml")):
        documents += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return documents


def _document(kind: str) -> dict[str, Any]:
    [found] = [d for d in _documents() if d["kind"] == kind]
    return found


@pytest.mark.parametrize(
    "document", _documents(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}"
)
@pytest.mark.parametrize("version", [KUBERNETES_VERSION, kubernetes_validate.latest_version()])
def test_every_manifest_is_valid_against_the_kubernetes_schema(
    document: dict[str, Any], version: str
) -> None:
    kubernetes_validate.validate(document, version, strict=True)


def test_the_manifests_make_everything_fnplane_needs_to_run() -> None:
    kinds = sorted(d["kind"] for d in _documents())
    assert kinds == sorted(
        ["Namespace", "ServiceAccount", "Role", "RoleBinding", "Deployment", "Service"]
    )
    pod = _document("Deployment")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == _document("ServiceAccount")["metadata"]["name"]
    assert [c["name"] for c in pod["containers"]] == ["server", "envoy"]
    binding = _document("RoleBinding")
    assert binding["roleRef"]["name"] == _document("Role")["metadata"]["name"]
    assert binding["metadata"]["namespace"] == _document("Role")["metadata"]["namespace"]
    [subject] = binding["subjects"]
    account = _document("ServiceAccount")["metadata"]
    assert (subject["name"], subject["namespace"]) == (account["name"], account["namespace"])
    service = _document("Service")["spec"]
    assert service["selector"] == _document("Deployment")["spec"]["selector"]["matchLabels"]
    assert (DEPLOY / "Dockerfile").is_file()


def test_the_role_grants_exactly_the_calls_the_backend_makes(
    kube: KubernetesBackend, fake: FakeKubeApiServer
) -> None:
    # With the garbage collector stopped, the Service outlives its Deployment, as it does in a
    # cluster whose collector lags behind; the backend then removes it itself.
    fake.garbage.stop()
    fake.reset_requests()

    kube.create(NAMESPACE, FunctionSpec(name="alpha", image="nginx:alpine"))
    kube.list(NAMESPACE)
    kube.get(NAMESPACE, "alpha")
    wait_until(lambda: fake.open_watches >= 1, what="the watch to open")
    kube.update(NAMESPACE, FunctionUpdate(name="alpha", replicas=3))
    fake.add_pod(NAMESPACE, "alpha-1", fnplane_labels("alpha"), containers=("function",))
    list(kube.logs(NAMESPACE, LogQuery(name="alpha")))
    kube.watch(NAMESPACE).close()
    kube.census()
    kube.delete(NAMESPACE, "alpha")
    fake.faults.fail_next(1, verb="create", resource="services")
    with pytest.raises(Exception, match="500"):
        kube.create(NAMESPACE, FunctionSpec(name="beta", image="nginx:alpine"))

    made = {
        (GROUPS[r.resource], r.resource, r.verb)
        for r in fake.requests
        if r.resource and r.namespace == NAMESPACE
    }
    granted = {
        (group, resource, verb)
        for rule in _document("Role")["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    assert made == granted
