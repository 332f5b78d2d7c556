"""A function's state as the cluster reports it: replica counts and status from its Deployment.

The status follows the Deployment controller's own facts, in this order:

- "Stopped": zero replicas are desired.
- "Deploying": the controller has not yet observed the Deployment's current generation
  (its conditions still speak of an older spec).
- "Failed": the Progressing condition is False (for example ProgressDeadlineExceeded) or a
  ReplicaFailure condition is True; the condition's message becomes the status message.
- "Running": the rollout of the current generation is complete (every replica updated, no old
  replica left) and all desired replicas are available.
- "Deploying": anything else, that is, a rollout in progress.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fnplane.server.domain import Function, Status
from fnplane.server.kubernetes.objects import KubeObject, spec_of


def function_of(deployment: KubeObject, namespace: str) -> Function:
    """Answers the function a Deployment fnplane made stands for, as it is now."""
    spec = spec_of(deployment)
    observed = deployment.get("status") or {}
    status, message = status_of(deployment)
    return Function(
        spec=spec,
        namespace=namespace,
        created_at=_timestamp(deployment["metadata"].get("creationTimestamp")),
        available_replicas=observed.get("availableReplicas") or 0,
        ready_replicas=observed.get("readyReplicas") or 0,
        updated_replicas=observed.get("updatedReplicas") or 0,
        status=status,
        status_message=message,
    )


def status_of(deployment: KubeObject) -> tuple[Status, str]:
    """Answers the status of a Deployment and, for "Failed", the reason in the cluster's
    words."""
    desired = deployment.get("spec", {}).get("replicas", 1)
    if desired == 0:
        return Status.STOPPED, ""

    observed = deployment.get("status") or {}
    generation = deployment["metadata"].get("generation", 0)
    if observed.get("observedGeneration", 0) < generation:
        return Status.DEPLOYING, ""

    for condition in observed.get("conditions") or []:
        if _failed(condition):
            return Status.FAILED, _explain(condition)

    updated = observed.get("updatedReplicas") or 0
    total = observed.get("replicas") or 0
    available = observed.get("availableReplicas") or 0
    if updated >= desired and total <= updated and available >= desired:
        return Status.RUNNING, ""
    return Status.DEPLOYING, ""


def _failed(condition: dict[str, Any]) -> bool:
    kind, value = condition.get("type"), condition.get("status")
    return (kind == "Progressing" and value == "False") or (
        kind == "ReplicaFailure" and value == "True"
    )


def _explain(condition: dict[str, Any]) -> str:
    # The message is the cluster's explanation; a condition without one still has a reason.
    return str(
        condition.get("message")
        or condition.get("reason")
        or f"{condition.get('type')} condition is {condition.get('status')}"
    )


def _timestamp(value: str | None) -> datetime:
    # The API server always sets creationTimestamp; an object without one has not been
    # stored yet, and "now" is the honest answer for it.
    if not value:
        return datetime.now(UTC).replace(microsecond=0)
    return datetime.fromisoformat(value)
