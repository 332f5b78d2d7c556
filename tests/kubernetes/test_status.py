"""Status follows the cluster: the test plays the Deployment controller through /status and
watches the function's status change, delivered by the watch."""

from __future__ import annotations

from kubernetes import client

from fnplane.server.domain import Function, FunctionSpec, FunctionUpdate, Status
from fnplane.server.kubernetes.backend import KubernetesBackend
from tests.kubernetes.conftest import NAMESPACE, condition, report
from tests.support.waiting import wait_until

SPEC = FunctionSpec(name="worker", image="nginx:alpine", replicas=2)


def _seen(kube: KubernetesBackend, status: Status) -> Function:
    """Waits until a Get shows `status` (the watch delivers the controller's write)."""
    return wait_until(
        lambda: (f := kube.get(NAMESPACE, "worker")).status is status and f,
        what=f"status {status}",
    )


def test_a_new_function_is_deploying_until_its_rollout_completes(
    kube: KubernetesBackend, apps: client.AppsV1Api
) -> None:
    created = kube.create(NAMESPACE, SPEC)
    assert created.status is Status.DEPLOYING

    report(apps, "worker", updated=2, available=1)
    deploying = wait_until(
        lambda: (f := kube.get(NAMESPACE, "worker")).available_replicas == 1 and f
    )
    assert deploying.status is Status.DEPLOYING

    report(apps, "worker", updated=2, available=2)
    running = _seen(kube, Status.RUNNING)
    assert (running.available_replicas, running.ready_replicas, running.updated_replicas) == (
        2,
        2,
        2,
    )
    assert running.status_message == ""


def test_an_unobserved_generation_is_deploying_even_with_all_replicas_available(
    kube: KubernetesBackend, apps: client.AppsV1Api
) -> None:
    kube.create(NAMESPACE, SPEC)
    report(apps, "worker", updated=2, available=2)
    _seen(kube, Status.RUNNING)

    updated = kube.update(NAMESPACE, FunctionUpdate(name="worker", image="nginx:1.27"))

    assert updated.status is Status.DEPLOYING
    assert kube.get(NAMESPACE, "worker").status is Status.DEPLOYING


def test_old_replicas_still_running_keep_the_function_deploying(
    kube: KubernetesBackend, apps: client.AppsV1Api
) -> None:
    kube.create(NAMESPACE, SPEC)

    report(apps, "worker", updated=2, available=2, total=3)
    wait_until(lambda: kube.get(NAMESPACE, "worker").available_replicas == 2)
    assert kube.get(NAMESPACE, "worker").status is Status.DEPLOYING

    report(apps, "worker", updated=2, available=2, total=2)
    _seen(kube, Status.RUNNING)


def test_a_progress_deadline_exceeded_is_failed_with_the_controllers_message(
    kube: KubernetesBackend, apps: client.AppsV1Api
) -> None:
    kube.create(NAMESPACE, SPEC)
    message = 'ReplicaSet "worker-5d9c" has timed out progressing.'

    report(
        apps,
        "worker",
        updated=2,
        available=0,
        conditions=(condition("Progressing", "False", "ProgressDeadlineExceeded", message),),
    )

    failed = _seen(kube, Status.FAILED)
    assert failed.status_message == message


def test_a_replica_failure_is_failed_with_its_message(
    kube: KubernetesBackend, apps: client.AppsV1Api
) -> None:
    kube.create(NAMESPACE, SPEC)
    message = 'pods "worker-5d9c-x" is forbidden: exceeded quota: compute'

    report(
        apps,
        "worker",
        updated=0,
        available=0,
        conditions=(
            condition("Progressing", "True", "ReplicaSetUpdated", "progressing"),
            condition("ReplicaFailure", "True", "FailedCreate", message),
        ),
    )

    assert _seen(kube, Status.FAILED).status_message == message


def test_a_failed_rollout_fixed_by_an_update_is_deploying_again(
    kube: KubernetesBackend, apps: client.AppsV1Api
) -> None:
    kube.create(NAMESPACE, SPEC)
    report(
        apps,
        "worker",
        updated=2,
        available=0,
        conditions=(condition("Progressing", "False", "ProgressDeadlineExceeded", "stuck"),),
    )
    _seen(kube, Status.FAILED)

    fixed = kube.update(NAMESPACE, FunctionUpdate(name="worker", image="nginx:1.27"))

    assert (fixed.status, fixed.status_message) == (Status.DEPLOYING, "")


def test_zero_desired_replicas_is_stopped(kube: KubernetesBackend) -> None:
    stopped = kube.create(NAMESPACE, FunctionSpec(name="worker", image="nginx:alpine", replicas=0))

    assert stopped.status is Status.STOPPED
    assert kube.get(NAMESPACE, "worker").status is Status.STOPPED


def test_created_at_is_the_deployments_creation_timestamp(
    kube: KubernetesBackend, apps: client.AppsV1Api
) -> None:
    function = kube.create(NAMESPACE, SPEC)

    stored = apps.read_namespaced_deployment("worker", NAMESPACE)
    assert stored.metadata is not None
    assert function.created_at == stored.metadata.creation_timestamp
