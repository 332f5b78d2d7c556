"""Watching a namespace's functions on the Kubernetes backend: the snapshot, then each change
once, whether made through fnplane, by the controller or by someone else; and the census of
functions by status, from memory."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from kubernetes import client

from fnplane.server.domain import EventType, FunctionEvent, FunctionSpec, FunctionUpdate
from fnplane.server.kubernetes.backend import KubernetesBackend
from fnplane.server.watch import FunctionWatch
from tests.fakekube import FakeKubeApiServer
from tests.kubernetes.conftest import NAMESPACE, caught_up, report
from tests.support.waiting import wait_until


class Collected:
    """The events of a watch, gathered by a thread of their own as they come."""

    def __init__(self, watch: FunctionWatch) -> None:
        self.watch = watch
        self.events: list[FunctionEvent] = []
        self.ended = threading.Event()
        self._thread = threading.Thread(target=self._gather, daemon=True)
        self._thread.start()

    def _gather(self) -> None:
        for event in self.watch:
            self.events.append(event)
        self.ended.set()

    def seen(self) -> list[tuple[str, str]]:
        return [(e.type.value, e.function.name if e.function else "") for e in self.events]

    def close(self) -> None:
        self.watch.close()
        self._thread.join(timeout=5)


@pytest.fixture
def watching(kube: KubernetesBackend) -> Iterator[Collected]:
    kube.create(NAMESPACE, FunctionSpec(name="alpha", image="nginx:alpine"))
    collected = Collected(kube.watch(NAMESPACE))
    try:
        yield collected
    finally:
        collected.close()


def test_a_watch_starts_with_the_functions_there_now(watching: Collected) -> None:
    wait_until(lambda: watching.seen() == [("ADDED", "alpha"), ("SYNCED", "")])


def test_own_writes_are_told_once_each(
    kube: KubernetesBackend, fake: FakeKubeApiServer, watching: Collected
) -> None:
    kube.create(NAMESPACE, FunctionSpec(name="beta", image="nginx:alpine"))
    kube.update(NAMESPACE, FunctionUpdate(name="alpha", replicas=2))
    kube.delete(NAMESPACE, "beta")
    # The watch of the cluster delivers the same changes again; they must not be told twice.
    caught_up(kube, fake)

    assert watching.seen() == [
        ("ADDED", "alpha"),
        ("SYNCED", ""),
        ("ADDED", "beta"),
        ("MODIFIED", "alpha"),
        ("DELETED", "beta"),
    ]
    assert watching.events[3].function is not None
    assert watching.events[3].function.spec.replicas == 2


def test_the_controllers_progress_and_others_changes_are_told(
    fake: FakeKubeApiServer, apps: client.AppsV1Api, watching: Collected
) -> None:
    wait_until(lambda: len(watching.events) == 2)

    report(apps, "alpha", updated=1, available=1)
    wait_until(lambda: len(watching.events) == 3, what="the status change")
    apps.delete_namespaced_deployment("alpha", NAMESPACE)
    wait_until(lambda: len(watching.events) == 4, what="the delete")

    modified, deleted = watching.events[2:]
    assert modified.type is EventType.MODIFIED
    assert modified.function is not None and modified.function.status.value == "Running"
    assert deleted.type is EventType.DELETED


def test_changes_missed_while_the_watch_was_away_are_told_after_listing_again(
    kube: KubernetesBackend, fake: FakeKubeApiServer, apps: client.AppsV1Api, watching: Collected
) -> None:
    kube.create(NAMESPACE, FunctionSpec(name="beta", image="nginx:alpine"))
    wait_until(lambda: len(watching.events) == 3)
    wait_until(lambda: fake.open_watches >= 1)
    fake.faults.fail_next(1000, verb="watch", code=503, reason="ServiceUnavailable")
    fake.drop_watches(abrupt=True)
    wait_until(lambda: fake.open_watches == 0)
    apps.delete_namespaced_deployment("beta", NAMESPACE)
    apps.patch_namespaced_deployment(
        "alpha", NAMESPACE, {"spec": {"replicas": 3}}, _content_type="application/merge-patch+json"
    )
    fake.compact()
    fake.faults.clear()

    wait_until(lambda: len(watching.events) == 5, what="the differences")
    assert sorted(watching.seen()[3:]) == [("DELETED", "beta"), ("MODIFIED", "alpha")]


def test_closing_the_backend_ends_its_watches(
    kube: KubernetesBackend, watching: Collected
) -> None:
    kube.close()

    assert watching.ended.wait(5)


def test_the_census_counts_functions_by_namespace_and_status(
    kube: KubernetesBackend, apps: client.AppsV1Api, fake: FakeKubeApiServer
) -> None:
    kube.create(NAMESPACE, FunctionSpec(name="alpha", image="nginx:alpine"))
    kube.create(NAMESPACE, FunctionSpec(name="beta", image="nginx:alpine"))
    kube.create(NAMESPACE, FunctionSpec(name="gamma", image="nginx:alpine", replicas=0))
    kube.create("team-a", FunctionSpec(name="alpha", image="nginx:alpine"))
    report(apps, "alpha", updated=1, available=1)
    wait_until(lambda: kube.get(NAMESPACE, "alpha").status.value == "Running")
    fake.reset_requests()

    census = kube.census()

    assert dict(census) == {
        (NAMESPACE, "Running"): 1,
        (NAMESPACE, "Deploying"): 1,
        (NAMESPACE, "Stopped"): 1,
        ("team-a", "Deploying"): 1,
    }
    assert fake.requests == []
