"""Pods as a kubelet reports them, for tests and the simulated controller to store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from tests.fakekube.store import JsonObject


def owner_reference(owner: JsonObject) -> JsonObject:
    """The ownerReference a controller puts on what it creates for `owner`."""
    return {
        "apiVersion": owner.get("apiVersion", "apps/v1"),
        "kind": owner.get("kind", "Deployment"),
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def pod_body(
    name: str,
    labels: Mapping[str, str],
    *,
    containers: Sequence[tuple[str, str]],
    phase: str = "Running",
    ready: bool = True,
    owner: JsonObject | None = None,
) -> JsonObject:
    """A Pod with its status filled in; `containers` are (name, image) pairs."""
    metadata: JsonObject = {"name": name, "labels": dict(labels)}
    if owner is not None:
        metadata["ownerReferences"] = [owner_reference(owner)]
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    running = phase == "Running"
    ready = ready and running
    status: JsonObject = {
        "phase": phase,
        "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        "podIP": "10.244.0.10",
        "startTime": started,
        "qosClass": "BestEffort",
        "containerStatuses": [
            {
                "name": container,
                "image": image,
                "imageID": "",
                "ready": ready,
                "restartCount": 0,
                "started": running,
                "state": (
                    {"running": {"startedAt": started}}
                    if running
                    else {"waiting": {"reason": "ContainerCreating"}}
                ),
            }
            for container, image in containers
        ],
    }
    return {
        "metadata": metadata,
        "spec": {
            "containers": [{"name": c, "image": image} for c, image in containers],
            "nodeName": "fakekube-node",
        },
        "status": status,
    }
