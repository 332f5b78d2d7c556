"""A stand-in for the Deployment controller and the kubelet, for runs that want a live cluster.

Tests that pin status rules write /status themselves; benchmarks and end-to-end runs instead
start this controller, which rolls every Deployment out at once: it keeps one running, ready
Pod per desired replica (replacing Pods whose template changed) and reports the rollout as
complete in the Deployment's status, as a healthy cluster would shortly after each change.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import string
import threading
from typing import Any

from tests.fakekube.pods import pod_body
from tests.fakekube.registry import Registry, now
from tests.fakekube.resources import DEPLOYMENTS, PODS
from tests.fakekube.statuses import ApiError
from tests.fakekube.store import JsonObject

log = logging.getLogger(__name__)

TEMPLATE_HASH = "pod-template-hash"


def template_hash(deployment: JsonObject) -> str:
    """A short digest of the pod template, as the controller labels each ReplicaSet's pods."""
    template = json.dumps(deployment["spec"].get("template", {}), sort_keys=True)
    return hashlib.sha256(template.encode()).hexdigest()[:10]


class DeploymentController:
    """Rolls Deployments out at once: Pods for the replicas, a complete rollout in status."""

    def __init__(self, registry: Registry, *, pods: bool = True) -> None:
        self._registry = registry
        self._pods = pods
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(
                target=self._run, name="fakekube-controller", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stopping.set()
            self._registry.store.wake()
            thread.join(timeout=5)

    def _run(self) -> None:
        store = self._registry.store
        cursor = store.revision
        self._reconcile_all()
        while not self._stopping.is_set():
            with store.lock:
                try:
                    changes = store.changes_after(cursor)
                except ApiError:
                    # The history was compacted under us: start over from the current state.
                    cursor, changes = store.revision, []
                    resync = True
                else:
                    resync = False
                if not changes and not resync:
                    store.lock.wait(0.25)
                    continue
            if resync:
                self._reconcile_all()
                continue
            cursor = changes[-1].revision
            touched = {
                (c.obj["metadata"]["namespace"], c.obj["metadata"]["name"])
                for c in changes
                if c.resource is DEPLOYMENTS and c.type != "DELETED"
            }
            for namespace, name in sorted(touched):
                self._reconcile(namespace, name)

    def _reconcile_all(self) -> None:
        for deployment in self._registry.store.items(DEPLOYMENTS, None):
            self._reconcile(deployment["metadata"]["namespace"], deployment["metadata"]["name"])

    def _reconcile(self, namespace: str, name: str) -> None:
        try:
            deployment = self._registry.get(DEPLOYMENTS, namespace, name)
            if deployment["metadata"].get("deletionTimestamp"):
                return
            if self._pods:
                self._keep_pods(deployment)
            self._report(deployment)
        except ApiError as error:
            # The Deployment changed or went while this ran; the next change brings it back.
            log.debug("controller skipped %s/%s: %s", namespace, name, error.message)

    def _keep_pods(self, deployment: JsonObject) -> None:
        namespace = deployment["metadata"]["namespace"]
        uid = deployment["metadata"]["uid"]
        current = template_hash(deployment)
        owned = [
            pod
            for pod in self._registry.store.items(PODS, namespace)
            if any(ref.get("uid") == uid for ref in pod["metadata"].get("ownerReferences") or [])
        ]
        keep = [p for p in owned if p["metadata"].get("labels", {}).get(TEMPLATE_HASH) == current]
        doomed = [p for p in owned if p not in keep]
        wanted = int(deployment["spec"].get("replicas", 1))
        doomed += keep[wanted:]
        for pod in doomed:
            self._registry.delete(PODS, namespace, pod["metadata"]["name"], {})

        template = deployment["spec"].get("template", {})
        labels = {**(template.get("metadata", {}).get("labels") or {}), TEMPLATE_HASH: current}
        containers = [
            (c["name"], c.get("image", "")) for c in template.get("spec", {}).get("containers", [])
        ]
        for _ in range(wanted - len(keep)):
            suffix = "".join(
                secrets.choice(string.ascii_lowercase + string.digits) for _ in range(5)
            )
            body = pod_body(
                f"{deployment['metadata']['name']}-{current}-{suffix}",
                labels,
                containers=containers,
                owner=deployment,
            )
            self._registry.create(PODS, namespace, body, keep_status=True)

    def _report(self, deployment: JsonObject) -> None:
        wanted = int(deployment["spec"].get("replicas", 1))
        old = deployment.get("status") or {}
        status: dict[str, Any] = {"observedGeneration": deployment["metadata"]["generation"]}
        if wanted:
            # Zero counts are left out, as the API server's encoding omits them.
            for field in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas"):
                status[field] = wanted
        status["conditions"] = [
            _condition(
                old,
                "Available",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
            ),
            _condition(
                old,
                "Progressing",
                "NewReplicaSetAvailable",
                f'ReplicaSet "{deployment["metadata"]["name"]}" has successfully progressed.',
            ),
        ]
        metadata = deployment["metadata"]
        self._registry.replace_status(
            DEPLOYMENTS,
            metadata["namespace"],
            metadata["name"],
            {"metadata": {"resourceVersion": metadata["resourceVersion"]}, "status": status},
        )


def _condition(old: JsonObject, kind: str, reason: str, message: str) -> JsonObject:
    """A True condition, keeping its times when it already held, so reports are no-ops."""
    for existing in old.get("conditions") or []:
        if (existing.get("type"), existing.get("status"), existing.get("reason")) == (
            kind,
            "True",
            reason,
        ):
            return {**existing, "message": message}
    stamp = now()
    return {
        "type": kind,
        "status": "True",
        "lastUpdateTime": stamp,
        "lastTransitionTime": stamp,
        "reason": reason,
        "message": message,
    }
