"""Reads come from the watch cache: no request per read, changes arrive through the watch,
which resumes after a drop, lists again after 410 Gone, and retries while the API server is
away. A caller sees its own writes at once."""

from __future__ import annotations

import pytest
from kubernetes import client

from fnplane.server.domain import FunctionSpec, FunctionUpdate
from fnplane.server.errors import NotFound
from fnplane.server.kubernetes.backend import KubernetesBackend
from tests.fakekube import FakeKubeApiServer
from tests.kubernetes.conftest import NAMESPACE, caught_up, unmanaged_deployment
from tests.support.waiting import wait_until


def _spec(name: str, replicas: int = 1) -> FunctionSpec:
    return FunctionSpec(name=name, image="nginx:alpine", replicas=replicas)


def _warm(kube: KubernetesBackend, fake: FakeKubeApiServer) -> None:
    """Makes the first read (the list) and waits until the watch is open."""
    kube.list(NAMESPACE)
    wait_until(lambda: fake.open_watches >= 1, what="the watch to open")


def _scale(apps: client.AppsV1Api, name: str, replicas: int) -> None:
    """Changes a Deployment behind fnplane's back, as kubectl scale would."""
    apps.patch_namespaced_deployment(
        name,
        NAMESPACE,
        {"spec": {"replicas": replicas}},
        _content_type="application/merge-patch+json",
    )


def _replicas(kube: KubernetesBackend, name: str) -> int:
    return kube.get(NAMESPACE, name).spec.replicas


def test_a_hundred_lists_on_a_warm_cache_make_no_request(
    kube: KubernetesBackend, fake: FakeKubeApiServer
) -> None:
    for name in ("alpha", "beta", "gamma"):
        kube.create(NAMESPACE, _spec(name))
    _warm(kube, fake)
    fake.reset_requests()

    for _ in range(100):
        assert [f.name for f in kube.list(NAMESPACE)] == ["alpha", "beta", "gamma"]
    for _ in range(100):
        assert kube.get(NAMESPACE, "beta").name == "beta"
    with pytest.raises(NotFound):
        kube.get(NAMESPACE, "missing")

    assert fake.requests == []


def test_the_first_read_of_a_namespace_lists_it_once(
    kube: KubernetesBackend, fake: FakeKubeApiServer
) -> None:
    fake.reset_requests()

    kube.list("team-a")
    kube.list("team-a")
    kube.list(NAMESPACE)

    lists = [r for r in fake.requests if r.verb == "list"]
    # Services first, so that no function is ever seen before its Service is known.
    assert [(r.resource, r.namespace) for r in lists] == [
        ("services", "team-a"),
        ("deployments", "team-a"),
        ("services", NAMESPACE),
        ("deployments", NAMESPACE),
    ]
    assert all(r.query["labelSelector"] == "app.kubernetes.io/managed-by=fnplane" for r in lists)


def test_changes_made_by_others_arrive_through_the_watch(
    kube: KubernetesBackend, fake: FakeKubeApiServer, apps: client.AppsV1Api
) -> None:
    kube.create(NAMESPACE, _spec("alpha"))
    _warm(kube, fake)

    _scale(apps, "alpha", 4)
    wait_until(lambda: _replicas(kube, "alpha") == 4, what="the scale to arrive")

    apps.delete_namespaced_deployment("alpha", NAMESPACE)
    wait_until(lambda: kube.list(NAMESPACE) == [], what="the delete to arrive")


def test_a_caller_sees_its_own_writes_before_the_watch_delivers_them(
    kube: KubernetesBackend, fake: FakeKubeApiServer
) -> None:
    _warm(kube, fake)
    # Every watch stream now stays silent: only the writes' own answers can update the cache.
    fake.faults.fail_next(1000, verb="watch", disconnect=True)
    fake.drop_watches(abrupt=True)

    kube.create(NAMESPACE, _spec("alpha"))
    assert [f.name for f in kube.list(NAMESPACE)] == ["alpha"]

    kube.update(NAMESPACE, FunctionUpdate(name="alpha", replicas=3))
    assert _replicas(kube, "alpha") == 3

    kube.delete(NAMESPACE, "alpha")
    assert kube.list(NAMESPACE) == []
    with pytest.raises(NotFound):
        kube.get(NAMESPACE, "alpha")
    fake.faults.clear()


def test_a_dropped_watch_resumes_from_its_last_version_without_listing_again(
    kube: KubernetesBackend, fake: FakeKubeApiServer, apps: client.AppsV1Api
) -> None:
    kube.create(NAMESPACE, _spec("alpha"))
    _warm(kube, fake)
    _scale(apps, "alpha", 2)
    wait_until(lambda: _replicas(kube, "alpha") == 2)
    seen = fake.object("deployments", NAMESPACE, "alpha")
    assert seen is not None
    fake.reset_requests()
    fake.faults.fail_next(1, verb="watch", disconnect=True)

    fake.drop_watches(abrupt=True)
    _scale(apps, "alpha", 5)

    wait_until(lambda: _replicas(kube, "alpha") == 5, what="the change made while away")
    assert fake.request_count(verb="list") == 0
    resumed = [
        r.query.get("resourceVersion")
        for r in fake.requests
        if r.verb == "watch" and r.resource == "deployments"
    ]
    assert resumed[0] == seen["metadata"]["resourceVersion"]


def test_an_expired_version_makes_the_watch_list_again(
    kube: KubernetesBackend, fake: FakeKubeApiServer, apps: client.AppsV1Api
) -> None:
    kube.create(NAMESPACE, _spec("alpha"))
    kube.create(NAMESPACE, _spec("beta"))
    _warm(kube, fake)
    # While the watch is away, beta goes and alpha changes; then the history is compacted,
    # so the watch's resourceVersion is too old to resume from.
    fake.faults.fail_next(1000, verb="watch", code=503, reason="ServiceUnavailable")
    fake.drop_watches(abrupt=True)
    wait_until(lambda: fake.open_watches == 0)
    _scale(apps, "alpha", 7)
    apps.delete_namespaced_deployment("beta", NAMESPACE)
    fake.compact()
    fake.reset_requests()
    fake.faults.clear()

    wait_until(
        lambda: [(f.name, f.spec.replicas) for f in kube.list(NAMESPACE)] == [("alpha", 7)],
        what="the fresh list",
    )
    assert fake.request_count(verb="list", resource="deployments") >= 1


def test_a_410_error_event_on_an_open_watch_lists_again(
    kube: KubernetesBackend, fake: FakeKubeApiServer, apps: client.AppsV1Api
) -> None:
    kube.create(NAMESPACE, _spec("alpha"))
    _warm(kube, fake)
    fake.reset_requests()

    fake.expire_watches()
    wait_until(lambda: fake.request_count(verb="list") >= 1, what="a fresh list")
    wait_until(lambda: fake.open_watches >= 1, what="a new watch")
    _scale(apps, "alpha", 6)

    wait_until(lambda: _replicas(kube, "alpha") == 6, what="changes after the fresh list")


def test_reads_go_on_from_memory_while_the_api_server_is_away(
    kube: KubernetesBackend, fake: FakeKubeApiServer, apps: client.AppsV1Api
) -> None:
    kube.create(NAMESPACE, _spec("alpha"))
    _warm(kube, fake)

    fake.pause()
    try:
        assert [f.name for f in kube.list(NAMESPACE)] == ["alpha"]
    finally:
        fake.resume()
    wait_until(lambda: fake.open_watches >= 1, what="the watch to reconnect")
    _scale(apps, "alpha", 3)

    wait_until(lambda: _replicas(kube, "alpha") == 3, what="changes after the reconnect")


def test_failing_watch_requests_are_retried_until_one_succeeds(
    kube: KubernetesBackend, fake: FakeKubeApiServer, apps: client.AppsV1Api
) -> None:
    kube.create(NAMESPACE, _spec("alpha"))
    _warm(kube, fake)
    fake.reset_requests()
    fake.faults.fail_next(3, verb="watch")

    fake.drop_watches(abrupt=True)
    _scale(apps, "alpha", 2)

    wait_until(lambda: _replicas(kube, "alpha") == 2, what="the change after the failures")
    assert fake.request_count(verb="watch") >= 4


def test_bookmarks_move_the_resume_point_forward(
    kube: KubernetesBackend, fake: FakeKubeApiServer, apps: client.AppsV1Api
) -> None:
    kube.create(NAMESPACE, _spec("alpha"))
    _warm(kube, fake)
    # A change the watch does not select (no managed-by label) still moves the version on.
    apps.create_namespaced_deployment(NAMESPACE, unmanaged_deployment("other"))
    latest = fake.store.revision
    caught_up(kube, fake)
    fake.reset_requests()
    fake.drop_watches()

    wait_until(
        lambda: fake.request_count(verb="watch", resource="deployments") >= 1,
        what="the watch to resume",
    )
    resumed = [r for r in fake.requests if r.verb == "watch" and r.resource == "deployments"]
    assert resumed[0].query.get("resourceVersion") == str(latest)
