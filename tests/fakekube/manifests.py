"""Sample Deployment and Service bodies, as a client would send them, for the fake's tests.

The `..._body` functions answer the JSON, for tests that edit it before sending; the others
answer the client's model of it, which is what the client makes of a dict it is given.
"""

from __future__ import annotations

from typing import Any

from kubernetes.client import V1Deployment, V1Service


def deployment_body(
    name: str,
    *,
    replicas: int = 1,
    labels: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    image: str = "example.com/fn:1",
) -> dict[str, Any]:
    """A Deployment body as a client would send it."""
    selector = {"app.kubernetes.io/name": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {**selector, **(labels or {})}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": selector},
                "spec": {
                    "containers": [
                        {
                            "name": "function",
                            "image": image,
                            "ports": [{"name": "http", "containerPort": 8080}],
                            "env": [{"name": k, "value": v} for k, v in (env or {}).items()],
                        }
                    ]
                },
            },
        },
    }


def deployment(
    name: str,
    *,
    replicas: int = 1,
    labels: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    image: str = "example.com/fn:1",
) -> V1Deployment:
    """The Deployment of `deployment_body`, as the client's model."""
    return V1Deployment.model_validate(
        deployment_body(name, replicas=replicas, labels=labels, env=env, image=image)
    )


def service_body(
    name: str, *, owner: V1Deployment | None = None, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    """A ClusterIP Service body, owned by `owner` when given."""
    metadata: dict[str, Any] = {
        "name": name,
        "labels": {"app.kubernetes.io/name": name, **(labels or {})},
    }
    if owner is not None:
        assert owner.metadata is not None, "an owner is a Deployment the server answered"
        metadata["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": owner.metadata.name,
                "uid": owner.metadata.uid,
            }
        ]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": {
            "selector": {"app.kubernetes.io/name": name},
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
        },
    }


def service(
    name: str, *, owner: V1Deployment | None = None, labels: dict[str, str] | None = None
) -> V1Service:
    """The Service of `service_body`, as the client's model."""
    return V1Service.model_validate(service_body(name, owner=owner, labels=labels))
