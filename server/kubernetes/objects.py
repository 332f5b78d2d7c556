"""The Kubernetes objects a function becomes, and the function spec read back from them.

A function is a Deployment and a ClusterIP Service of the same name. Objects are plain JSON
dictionaries shaped exactly as the API server sends and takes them, so what the watch
delivers, what a write answers and what the builders make can be compared and patched alike.

The spec is read back from the Deployment's pod template, which only its writer changes; the
Deployment's own metadata also carries controller-written annotations
(`deployment.kubernetes.io/revision`) that are not the user's.
"""

from __future__ import annotations

from typing import Any

from fnplane.server.domain import FunctionSpec

KubeObject = dict[str, Any]

NAME_LABEL = "app.kubernetes.io/name"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGER = "fnplane"
MANAGED_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGER}"
"""The label selector that finds every object fnplane made, and nothing else."""
CREATE_TOKEN_ANNOTATION = "fnplane.dev/create-token"
"""Marks a Deployment with the create request that made it. Only on the Deployment's own
metadata: the spec is read back from the pod template, so users never see it."""

CONTAINER = "function"
PORT_NAME = "http"
CONTAINER_PORT = 8080
SERVICE_PORT = 80

_RESOURCE_FIELDS = {
    ("requests", "cpu"): "cpu_request",
    ("limits", "cpu"): "cpu_limit",
    ("requests", "memory"): "memory_request",
    ("limits", "memory"): "memory_limit",
}


def fnplane_labels(name: str) -> dict[str, str]:
    """Answers the labels fnplane puts on every object of function `name`; they also select
    its pods, so they never change for the life of the Deployment."""
    return {NAME_LABEL: name, MANAGED_BY_LABEL: MANAGER}


def is_managed(obj: KubeObject) -> bool:
    """Answers whether fnplane made `obj` (it carries the managed-by label)."""
    labels = obj.get("metadata", {}).get("labels") or {}
    return bool(labels.get(MANAGED_BY_LABEL) == MANAGER)


def create_token(obj: KubeObject) -> str:
    """Answers the token of the create that made `obj` ("" when it carries none)."""
    annotations = obj.get("metadata", {}).get("annotations") or {}
    return str(annotations.get(CREATE_TOKEN_ANNOTATION, ""))


def deployment_for(spec: FunctionSpec, *, token: str = "") -> KubeObject:
    """Answers the Deployment that runs `spec`, marked with the `token` of the create that
    makes it, so that create can tell its own Deployment from another of the same name."""
    annotations = dict(spec.annotations)
    if token:
        annotations[CREATE_TOKEN_ANNOTATION] = token
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": spec.name,
            "labels": {**spec.labels, **fnplane_labels(spec.name)},
            "annotations": annotations,
        },
        "spec": {
            "replicas": spec.replicas,
            "selector": {"matchLabels": fnplane_labels(spec.name)},
            # Never below the desired count during a rollout: new pods come up before old
            # ones go.
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"},
            },
            "template": _pod_template(spec),
        },
    }


def service_for(spec: FunctionSpec, deployment: KubeObject) -> KubeObject:
    """Answers the ClusterIP Service in front of `spec`'s pods, owned by `deployment` so the
    cluster's garbage collector removes it with the Deployment."""
    metadata = deployment["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": spec.name,
            "labels": fnplane_labels(spec.name),
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": metadata["name"],
                    "uid": metadata["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "type": "ClusterIP",
            "selector": fnplane_labels(spec.name),
            "ports": [
                {
                    "name": PORT_NAME,
                    "port": SERVICE_PORT,
                    "targetPort": PORT_NAME,
                    "protocol": "TCP",
                }
            ],
        },
    }


def deployment_patch(current: KubeObject, spec: FunctionSpec) -> KubeObject:
    """Answers the JSON merge patch that turns the Deployment `current` into one running
    `spec`.

    The patch carries `current`'s resourceVersion, so the API server refuses it with 409
    Conflict when the Deployment changed since it was read. Labels and annotations the user
    dropped are set to null, which a merge patch reads as "remove".
    """
    template = current.get("spec", {}).get("template", {}).get("metadata", {})
    dropped_labels = set(template.get("labels") or {}) - set(spec.labels)
    dropped_labels -= set(fnplane_labels(spec.name))
    dropped_annotations = set(template.get("annotations") or {}) - set(spec.annotations)
    labels = {
        **dict.fromkeys(dropped_labels),
        **spec.labels,
        **fnplane_labels(spec.name),
    }
    annotations = {**dict.fromkeys(dropped_annotations), **spec.annotations}
    pod_template = _pod_template(spec)
    pod_template["metadata"] = {"labels": labels, "annotations": annotations}
    return {
        "metadata": {
            "resourceVersion": current["metadata"]["resourceVersion"],
            "labels": labels,
            "annotations": annotations,
        },
        # A merge patch replaces lists whole: the one container is written as a whole, so
        # env entries and resources the user removed go with it.
        "spec": {"replicas": spec.replicas, "template": pod_template},
    }


def spec_of(deployment: KubeObject) -> FunctionSpec:
    """Answers the function spec a Deployment fnplane made runs."""
    metadata = deployment["metadata"]
    spec = deployment.get("spec", {})
    template = spec.get("template", {})
    template_metadata = template.get("metadata", {})
    containers = template.get("spec", {}).get("containers") or [{}]
    container = next((c for c in containers if c.get("name") == CONTAINER), containers[0])
    reserved = fnplane_labels(metadata["name"])
    resources = container.get("resources") or {}
    quantities = {
        field: str((resources.get(group) or {}).get(resource, ""))
        for (group, resource), field in _RESOURCE_FIELDS.items()
    }
    return FunctionSpec(
        name=metadata["name"],
        image=container.get("image", ""),
        replicas=spec.get("replicas", 1),
        # Variables fed from elsewhere (valueFrom) were not set through fnplane; they are
        # not part of the function's spec.
        env={e["name"]: e.get("value", "") for e in container.get("env") or [] if "value" in e},
        labels={
            k: v for k, v in (template_metadata.get("labels") or {}).items() if k not in reserved
        },
        annotations=dict(template_metadata.get("annotations") or {}),
        **quantities,
    )


def _pod_template(spec: FunctionSpec) -> KubeObject:
    container: KubeObject = {
        "name": CONTAINER,
        "image": spec.image,
        "ports": [{"name": PORT_NAME, "containerPort": CONTAINER_PORT, "protocol": "TCP"}],
    }
    if spec.env:
        # Sorted so that equal specs make equal objects: no rollout for a reordered map.
        container["env"] = [{"name": k, "value": spec.env[k]} for k in sorted(spec.env)]
    resources: dict[str, dict[str, str]] = {}
    for (group, resource), field in _RESOURCE_FIELDS.items():
        value = getattr(spec, field)
        if value:
            resources.setdefault(group, {})[resource] = value
    if resources:
        container["resources"] = resources
    return {
        "metadata": {
            "labels": {**spec.labels, **fnplane_labels(spec.name)},
            "annotations": dict(spec.annotations),
        },
        "spec": {"containers": [container]},
    }
