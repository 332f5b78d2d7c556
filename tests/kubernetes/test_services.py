"""A function's Service, followed by the cache: a function without one cannot be reached,
and says so; a function being created or deleted never seems to have lost it."""

from __future__ import annotations

import threading
from typing import Any

from kubernetes import client

from fnplane.server.domain import FunctionEvent, FunctionSpec, Status
from fnplane.server.kubernetes.backend import KubernetesBackend
from fnplane.server.kubernetes.cache import SERVICE_MISSING
from fnplane.server.kubernetes.objects import service_for
from tests.fakekube import FakeKubeApiServer
from tests.kubernetes.conftest import NAMESPACE, deployment, report
from tests.support.waiting import wait_until


def _running(kube: KubernetesBackend, apps: client.AppsV1Api, name: str) -> None:
    kube.create(NAMESPACE, FunctionSpec(name=name, image="nginx:alpine"))
    report(apps, name, updated=1, available=1)
    wait_until(lambda: kube.get(NAMESPACE, name).status is Status.RUNNING)


def test_a_service_deleted_behind_fnplanes_back_makes_the_function_failed(
    kube: KubernetesBackend, apps: client.AppsV1Api, core: client.CoreV1Api
) -> None:
    _running(kube, apps, "alpha")

    core.delete_namespaced_service("alpha", NAMESPACE)

    wait_until(lambda: kube.get(NAMESPACE, "alpha").status is Status.FAILED)
    function = kube.get(NAMESPACE, "alpha")
    assert function.status_message == SERVICE_MISSING
    assert [f.status for f in kube.list(NAMESPACE)] == [Status.FAILED]


def test_the_function_recovers_when_its_service_is_back(
    kube: KubernetesBackend, apps: client.AppsV1Api, core: client.CoreV1Api
) -> None:
    _running(kube, apps, "alpha")
    core.delete_namespaced_service("alpha", NAMESPACE)
    wait_until(lambda: kube.get(NAMESPACE, "alpha").status is Status.FAILED)

    spec = FunctionSpec(name="alpha", image="nginx:alpine")
    body: dict[str, Any] = service_for(spec, deployment(apps, "alpha"))
    core.create_namespaced_service(NAMESPACE, client.V1Service.model_validate(body))

    wait_until(lambda: kube.get(NAMESPACE, "alpha").status is Status.RUNNING)
    assert kube.get(NAMESPACE, "alpha").status_message == ""


def test_watchers_never_see_a_function_without_its_service_while_creates_run(
    kube: KubernetesBackend, fake: FakeKubeApiServer
) -> None:
    kube.list(NAMESPACE)
    watch = kube.watch(NAMESPACE)
    events: list[FunctionEvent] = []
    done = threading.Event()

    def collect() -> None:
        for event in watch:
            events.append(event)
        done.set()

    threading.Thread(target=collect, daemon=True).start()
    names = [f"fn-{i}" for i in range(20)]
    for name in names:
        kube.create(NAMESPACE, FunctionSpec(name=name, image="nginx:alpine"))
    wait_until(lambda: {e.function.name for e in events if e.function} >= set(names))
    watch.close()
    assert done.wait(5)

    failed = [e for e in events if e.function and e.function.status is Status.FAILED]
    assert failed == []


def test_a_function_deleted_by_someone_else_is_told_deleted_not_failed(
    kube: KubernetesBackend, apps: client.AppsV1Api, fake: FakeKubeApiServer
) -> None:
    _running(kube, apps, "alpha")
    watch = kube.watch(NAMESPACE)
    events: list[FunctionEvent] = []

    def collect() -> None:
        for event in watch:
            events.append(event)

    threading.Thread(target=collect, daemon=True).start()
    apps.delete_namespaced_deployment("alpha", NAMESPACE)

    wait_until(lambda: any(e.type.value == "DELETED" for e in events))
    fake.collect_garbage()
    wait_until(lambda: fake.object("services", NAMESPACE, "alpha") is None)
    watch.close()

    told = [(e.type.value, e.function.status) for e in events if e.function]
    assert ("DELETED", Status.RUNNING) in told
    assert all(status is not Status.FAILED for _, status in told)
