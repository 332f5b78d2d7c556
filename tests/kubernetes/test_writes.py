"""Writes are careful: create is all or nothing, update retries on a conflict with the fresh
object, and objects fnplane did not make are never touched."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from kubernetes import client

from fnplane.server.domain import FunctionSpec, FunctionUpdate
from fnplane.server.errors import (
    AlreadyExists,
    Conflict,
    DeadlineExceeded,
    NotFound,
    Unavailable,
)
from fnplane.server.kubernetes.backend import UPDATE_ATTEMPTS, KubernetesBackend
from tests.fakekube import FakeKubeApiServer
from tests.fakekube.store import JsonObject
from tests.kubernetes.conftest import NAMESPACE, caught_up, deployment, unmanaged_deployment
from tests.support.waiting import wait_until

SPEC = FunctionSpec(name="alpha", image="nginx:alpine", replicas=2)


def test_a_service_that_cannot_be_made_takes_the_deployment_with_it(
    kube: KubernetesBackend, fake: FakeKubeApiServer
) -> None:
    fake.faults.fail_next(1, verb="create", resource="services")

    with pytest.raises(Unavailable):
        kube.create(NAMESPACE, SPEC)

    assert fake.objects("deployments", NAMESPACE) == []
    assert fake.objects("services", NAMESPACE) == []
    assert kube.list(NAMESPACE) == []
    kube.create(NAMESPACE, SPEC)
    assert [f.name for f in kube.list(NAMESPACE)] == ["alpha"]


def test_a_service_name_taken_by_someone_else_is_already_exists_and_nothing_is_left(
    kube: KubernetesBackend, fake: FakeKubeApiServer, core: client.CoreV1Api
) -> None:
    core.create_namespaced_service(
        NAMESPACE,
        client.V1Service(
            metadata=client.V1ObjectMeta(name="alpha"),
            spec=client.V1ServiceSpec(ports=[client.V1ServicePort(port=80)]),
        ),
    )

    with pytest.raises(AlreadyExists, match="a Service of that name"):
        kube.create(NAMESPACE, SPEC)

    assert fake.objects("deployments", NAMESPACE) == []
    [service] = fake.objects("services", NAMESPACE)
    assert "ownerReferences" not in service["metadata"]


def test_an_update_that_meets_a_conflict_is_applied_to_the_fresh_object(
    kube: KubernetesBackend, fake: FakeKubeApiServer, apps: client.AppsV1Api
) -> None:
    kube.create(NAMESPACE, SPEC)
    fake.faults.fail_next(
        1,
        verb="patch",
        resource="deployments",
        code=409,
        reason="Conflict",
        message='Operation cannot be fulfilled on deployments.apps "alpha": the object has '
        "been modified; please apply your changes to the latest version and try again",
    )
    fake.reset_requests()

    updated = kube.update(NAMESPACE, FunctionUpdate(name="alpha", image="nginx:1.27"))

    assert updated.spec.image == "nginx:1.27"
    assert fake.request_count(verb="patch", resource="deployments") == 2
    assert fake.request_count(verb="get", resource="deployments") == 2
    [container] = deployment(apps, "alpha")["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "nginx:1.27"


def test_an_update_after_a_change_by_someone_else_keeps_that_change_where_not_updated(
    kube: KubernetesBackend, apps: client.AppsV1Api
) -> None:
    kube.create(NAMESPACE, SPEC)
    apps.patch_namespaced_deployment(
        "alpha", NAMESPACE, {"spec": {"replicas": 9}}, _content_type="application/merge-patch+json"
    )

    updated = kube.update(NAMESPACE, FunctionUpdate(name="alpha", image="nginx:1.27"))

    assert (updated.spec.image, updated.spec.replicas) == ("nginx:1.27", 9)


def test_a_stale_write_is_refused_by_the_api_server_and_retried(
    kube: KubernetesBackend,
    fake: FakeKubeApiServer,
    apps: client.AppsV1Api,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kube.create(NAMESPACE, SPEC)
    # Between the backend's read and its patch, someone scales the Deployment: the patch
    # carries the old resourceVersion and the API server itself answers 409 Conflict.
    original = fake.registry.patch

    def scale_first(*args: Any, **kwargs: Any) -> JsonObject:
        monkeypatch.setattr(fake.registry, "patch", original)
        apps.patch_namespaced_deployment(
            "alpha",
            NAMESPACE,
            {"spec": {"replicas": 4}},
            _content_type="application/merge-patch+json",
        )
        return original(*args, **kwargs)

    monkeypatch.setattr(fake.registry, "patch", scale_first)
    fake.reset_requests()

    updated = kube.update(NAMESPACE, FunctionUpdate(name="alpha", image="nginx:1.27"))

    assert (updated.spec.image, updated.spec.replicas) == ("nginx:1.27", 4)
    assert fake.request_count(verb="patch", resource="deployments") == 3


def test_an_object_that_keeps_changing_is_a_conflict_after_a_few_attempts(
    kube: KubernetesBackend, fake: FakeKubeApiServer
) -> None:
    kube.create(NAMESPACE, SPEC)
    fake.faults.fail_next(
        UPDATE_ATTEMPTS, verb="patch", resource="deployments", code=409, reason="Conflict"
    )

    with pytest.raises(Conflict, match="kept changing"):
        kube.update(NAMESPACE, FunctionUpdate(name="alpha", replicas=3))


def test_a_deployment_fnplane_did_not_make_is_never_touched(
    kube: KubernetesBackend, fake: FakeKubeApiServer, apps: client.AppsV1Api
) -> None:
    apps.create_namespaced_deployment(NAMESPACE, unmanaged_deployment("alpha"))
    before = fake.object("deployments", NAMESPACE, "alpha")

    with pytest.raises(NotFound):
        kube.get(NAMESPACE, "alpha")
    assert kube.list(NAMESPACE) == []
    with pytest.raises(NotFound):
        kube.update(NAMESPACE, FunctionUpdate(name="alpha", replicas=5))
    with pytest.raises(NotFound):
        kube.delete(NAMESPACE, "alpha")
    with pytest.raises(AlreadyExists):
        kube.create(NAMESPACE, SPEC)

    assert fake.object("deployments", NAMESPACE, "alpha") == before
    assert fake.objects("services", NAMESPACE) == []


def test_a_deleted_function_can_be_made_again_at_once(
    kube: KubernetesBackend, fake: FakeKubeApiServer
) -> None:
    kube.create(NAMESPACE, SPEC)
    kube.delete(NAMESPACE, "alpha")

    again = kube.create(NAMESPACE, SPEC)

    assert again.name == "alpha"
    [service] = fake.objects("services", NAMESPACE)
    [owner] = service["metadata"]["ownerReferences"]
    made = fake.object("deployments", NAMESPACE, "alpha")
    assert made is not None
    assert owner["uid"] == made["metadata"]["uid"]


def test_a_create_reported_failed_but_carried_out_at_once_leaves_nothing(
    kube: KubernetesBackend, fake: FakeKubeApiServer
) -> None:
    # The API server makes the Deployment, then fails before it answers.
    fake.faults.fail_next(1, verb="create", resource="deployments", after_write=True)

    with pytest.raises(Unavailable):
        kube.create(NAMESPACE, SPEC)

    assert fake.objects("deployments", NAMESPACE) == []
    assert kube.list(NAMESPACE) == []
    kube.create(NAMESPACE, SPEC)


def test_a_create_that_timed_out_and_was_carried_out_later_leaves_nothing(
    fake: FakeKubeApiServer,
) -> None:
    impatient = KubernetesBackend(fake.api_client(), timeout=0.3, backoff=(0.05, 0.2))
    try:
        impatient.list(NAMESPACE)
        fake.faults.delay(1, verb="create", resource="deployments", count=1)
        since = fake.store.revision

        with pytest.raises(DeadlineExceeded):
            impatient.create(NAMESPACE, SPEC)

        wait_until(
            lambda: [c.type for c in fake.store.changes_after(since)] == ["ADDED", "DELETED"],
            what="the late Deployment to be made and removed",
        )
        assert impatient.list(NAMESPACE) == []
    finally:
        impatient.close()


def test_a_failed_create_never_removes_another_creators_function_of_that_name(
    kube: KubernetesBackend, fake: FakeKubeApiServer
) -> None:
    fake.faults.fail_next(1, verb="create", resource="deployments", code=503)
    with pytest.raises(Unavailable):
        kube.create(NAMESPACE, SPEC)
    other = KubernetesBackend(fake.api_client())
    try:
        other.create(NAMESPACE, SPEC)
    finally:
        other.close()

    caught_up(kube, fake)
    assert [f.name for f in kube.list(NAMESPACE)] == ["alpha"]
    assert fake.object("deployments", NAMESPACE, "alpha") is not None


def test_a_retry_after_a_timed_out_create_succeeds_even_if_the_first_was_carried_out(
    fake: FakeKubeApiServer,
) -> None:
    impatient = KubernetesBackend(fake.api_client(), timeout=0.3, backoff=(0.05, 0.2))
    try:
        impatient.list(NAMESPACE)
        # The watch stays away, so only the retry itself can find the late Deployment.
        fake.faults.fail_next(1000, verb="watch", code=503, reason="ServiceUnavailable")
        fake.drop_watches(abrupt=True)
        fake.faults.delay(1, verb="create", resource="deployments", count=1)
        with pytest.raises(DeadlineExceeded):
            impatient.create(NAMESPACE, SPEC)
        wait_until(lambda: fake.object("deployments", NAMESPACE, "alpha") is not None)

        created = impatient.create(NAMESPACE, replace(SPEC, image="nginx:1.27"))

        assert created.spec.image == "nginx:1.27"
        stored = fake.object("deployments", NAMESPACE, "alpha")
        assert stored is not None
        assert stored["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
        assert [s["metadata"]["name"] for s in fake.objects("services", NAMESPACE)] == ["alpha"]
    finally:
        fake.faults.clear()
        impatient.close()
