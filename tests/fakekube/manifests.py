"""Sample Deployment and Service bodies, as a client would send them, for the fake's tests."""

from __future__ import annotations

from typing import Any


def deployment(
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


def service(
    name: str, *, owner: Any = None, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    """A ClusterIP Service body, owned by `owner` (a Deployment) when given."""
    metadata: dict[str, Any] = {
        "name": name,
        "labels": {"app.kubernetes.io/name": name, **(labels or {})},
    }
    if owner is not None:
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
