"""Watches as the API documents them: events, replay, timeouts, bookmarks and 410 Gone."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import kubernetes.client
import pytest
import urllib3
from kubernetes import watch
from kubernetes.client import ApiException

from tests.fakekube import FakeKubeApiServer
from tests.fakekube.answers import metadata_of, version_of
from tests.fakekube.manifests import deployment
from tests.support.waiting import wait_until


class Collected:
    """A watch run on a thread by the official client, collecting its events."""

    def __init__(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self.events: list[dict[str, Any]] = []
        self.error: BaseException | None = None
        self.watch = watch.Watch()
        self._thread = threading.Thread(target=self._run, args=(call, args, kwargs), daemon=True)
        self._thread.start()

    def _run(self, call: Callable[..., Any], args: Any, kwargs: Any) -> None:
        try:
            for event in self.watch.stream(call, *args, **kwargs):
                self.events.append(event)
        except BaseException as error:  # kept for the test to look at
            self.error = error

    def names(self) -> list[tuple[str, str]]:
        return [(e["type"], e["object"].metadata.name) for e in self.events]

    def finish(self) -> None:
        self._thread.join(timeout=10)
        assert not self._thread.is_alive(), "the watch did not end"


def raw_events(call: Callable[..., Any], *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
    """The events of a watch read as the JSON lines the server sends, until it ends."""
    response = call(*args, watch=True, _preload_content=False, **kwargs)
    try:
        return [json.loads(line) for line in response.read().splitlines() if line.strip()]
    finally:
        response.release_conn()


@pytest.fixture
def watches() -> Iterator[list[Collected]]:
    made: list[Collected] = []
    yield made
    for collected in made:
        collected.watch.stop()


def test_watch_streams_added_modified_deleted(
    fake: FakeKubeApiServer, apps: kubernetes.client.AppsV1Api, watches: list[Collected]
) -> None:
    listed = apps.list_namespaced_deployment("team-a")
    start = metadata_of(listed).resource_version
    watches.append(Collected(apps.list_namespaced_deployment, "team-a", resource_version=start))
    wait_until(lambda: fake.open_watches == 1, what="the watch to open")

    apps.create_namespaced_deployment("team-a", deployment("echo"))
    apps.patch_namespaced_deployment("echo", "team-a", {"spec": {"replicas": 2}})
    apps.delete_namespaced_deployment("echo", "team-a")

    seen = wait_until(lambda: len(watches[0].events) == 3 and watches[0], what="3 events")
    assert seen.names() == [("ADDED", "echo"), ("MODIFIED", "echo"), ("DELETED", "echo")]
    versions = [int(e["object"].metadata.resource_version) for e in seen.events]
    assert versions == sorted(versions) and versions[0] > version_of(listed)


def test_watch_replays_changes_after_a_resource_version(
    apps: kubernetes.client.AppsV1Api,
) -> None:
    created = apps.create_namespaced_deployment("team-a", deployment("echo"))
    apps.patch_namespaced_deployment("echo", "team-a", {"spec": {"replicas": 2}})
    apps.create_namespaced_deployment("team-a", deployment("other"))

    replay = watch.Watch().stream(
        apps.list_namespaced_deployment,
        "team-a",
        resource_version=metadata_of(created).resource_version,
        timeout_seconds=1,
    )

    assert [(e["type"], e["object"].metadata.name) for e in replay] == [
        ("MODIFIED", "echo"),
        ("ADDED", "other"),
    ]


def test_watch_without_a_version_starts_with_the_current_objects(
    apps: kubernetes.client.AppsV1Api,
) -> None:
    apps.create_namespaced_deployment("team-a", deployment("b"))
    apps.create_namespaced_deployment("team-a", deployment("a"))
    apps.create_namespaced_deployment("team-b", deployment("elsewhere"))

    events = list(
        watch.Watch().stream(apps.list_namespaced_deployment, "team-a", timeout_seconds=1)
    )

    assert sorted((e["type"], e["object"].metadata.name) for e in events) == [
        ("ADDED", "a"),
        ("ADDED", "b"),
    ]


def test_watch_ends_after_timeout_seconds(
    fake: FakeKubeApiServer, apps: kubernetes.client.AppsV1Api
) -> None:
    # The client stops on its own when the server ends the stream; no event was due.
    events = list(
        watch.Watch().stream(apps.list_namespaced_deployment, "team-a", timeout_seconds=1)
    )

    assert events == []
    assert fake.open_watches == 0


def test_watch_across_all_namespaces(
    fake: FakeKubeApiServer, apps: kubernetes.client.AppsV1Api, watches: list[Collected]
) -> None:
    start = metadata_of(apps.list_deployment_for_all_namespaces()).resource_version
    watches.append(Collected(apps.list_deployment_for_all_namespaces, resource_version=start))
    wait_until(lambda: fake.open_watches == 1, what="the watch to open")

    apps.create_namespaced_deployment("team-a", deployment("one"))
    apps.create_namespaced_deployment("team-b", deployment("two"))

    seen = wait_until(lambda: len(watches[0].events) == 2 and watches[0], what="2 events")
    assert [e["object"].metadata.namespace for e in seen.events] == ["team-a", "team-b"]


def test_label_selected_watch_sees_objects_enter_and_leave(
    fake: FakeKubeApiServer, apps: kubernetes.client.AppsV1Api, watches: list[Collected]
) -> None:
    start = metadata_of(apps.list_namespaced_deployment("team-a")).resource_version
    watches.append(
        Collected(
            apps.list_namespaced_deployment,
            "team-a",
            label_selector="tier=gold",
            resource_version=start,
        )
    )
    wait_until(lambda: fake.open_watches == 1, what="the watch to open")

    apps.create_namespaced_deployment("team-a", deployment("plain"))
    apps.patch_namespaced_deployment("plain", "team-a", {"metadata": {"labels": {"tier": "gold"}}})
    apps.patch_namespaced_deployment("plain", "team-a", {"spec": {"replicas": 2}})
    apps.patch_namespaced_deployment("plain", "team-a", {"metadata": {"labels": {"tier": None}}})

    seen = wait_until(lambda: len(watches[0].events) == 3 and watches[0], what="3 events")
    assert [e["type"] for e in seen.events] == ["ADDED", "MODIFIED", "DELETED"]


def test_field_selected_watch_follows_one_object(
    apps: kubernetes.client.AppsV1Api,
) -> None:
    start = metadata_of(apps.list_namespaced_deployment("team-a")).resource_version
    apps.create_namespaced_deployment("team-a", deployment("one"))
    apps.create_namespaced_deployment("team-a", deployment("two"))

    events = list(
        watch.Watch().stream(
            apps.list_namespaced_deployment,
            "team-a",
            field_selector="metadata.name=two",
            resource_version=start,
            timeout_seconds=1,
        )
    )

    assert [e["object"].metadata.name for e in events] == ["two"]


def test_watch_from_a_compacted_version_answers_410_gone(
    fake: FakeKubeApiServer, apps: kubernetes.client.AppsV1Api
) -> None:
    old = apps.create_namespaced_deployment("team-a", deployment("echo"))
    apps.patch_namespaced_deployment("echo", "team-a", {"spec": {"replicas": 2}})
    fake.compact()

    with pytest.raises(ApiException) as caught:
        list(
            watch.Watch().stream(
                apps.list_namespaced_deployment,
                "team-a",
                resource_version=metadata_of(old).resource_version,
                timeout_seconds=1,
            )
        )

    assert caught.value.status == 410
    assert "Expired: too old resource version" in str(caught.value.reason)


def test_raw_watch_error_event_carries_a_gone_status(
    fake: FakeKubeApiServer, apps: kubernetes.client.AppsV1Api
) -> None:
    old = apps.create_namespaced_deployment("team-a", deployment("echo"))
    apps.patch_namespaced_deployment("echo", "team-a", {"spec": {"replicas": 2}})
    fake.compact()

    events = raw_events(
        apps.list_namespaced_deployment,
        "team-a",
        resource_version=metadata_of(old).resource_version,
    )

    assert len(events) == 1
    assert events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert (status["kind"], status["status"], status["code"], status["reason"]) == (
        "Status",
        "Failure",
        410,
        "Expired",
    )


def test_history_is_bounded(apps: kubernetes.client.AppsV1Api) -> None:
    with FakeKubeApiServer(history=3) as small:
        small_apps = kubernetes.client.AppsV1Api(small.api_client())
        first = small_apps.create_namespaced_deployment("team-a", deployment("echo"))
        for replicas in (2, 3, 4, 5):
            small_apps.patch_namespaced_deployment(
                "echo", "team-a", {"spec": {"replicas": replicas}}
            )

        with pytest.raises(ApiException) as caught:
            list(
                watch.Watch().stream(
                    small_apps.list_namespaced_deployment,
                    "team-a",
                    resource_version=metadata_of(first).resource_version,
                    timeout_seconds=1,
                )
            )
    assert caught.value.status == 410


def test_bookmarks_carry_the_latest_version_when_allowed(
    apps: kubernetes.client.AppsV1Api, core: kubernetes.client.CoreV1Api
) -> None:
    listed = apps.list_namespaced_deployment("team-a")
    start = metadata_of(listed).resource_version
    core.read_namespace("elsewhere")  # a write to another resource moves the version on

    events = raw_events(
        apps.list_namespaced_deployment,
        "team-a",
        resource_version=start,
        allow_watch_bookmarks=True,
        timeout_seconds=1,
    )

    assert [e["type"] for e in events] == ["BOOKMARK"]
    assert int(events[0]["object"]["metadata"]["resourceVersion"]) > version_of(listed)


def test_initial_events_end_with_a_bookmark(apps: kubernetes.client.AppsV1Api) -> None:
    apps.create_namespaced_deployment("team-a", deployment("echo"))

    events = raw_events(
        apps.list_namespaced_deployment,
        "team-a",
        send_initial_events=True,
        resource_version_match="NotOlderThan",
        allow_watch_bookmarks=True,
        timeout_seconds=1,
    )

    assert [e["type"] for e in events[:2]] == ["ADDED", "BOOKMARK"]
    annotations = events[1]["object"]["metadata"]["annotations"]
    assert annotations == {"k8s.io/initial-events-end": "true"}


def test_dropped_watch_ends_the_stream_and_resumes_from_its_version(
    fake: FakeKubeApiServer, apps: kubernetes.client.AppsV1Api, watches: list[Collected]
) -> None:
    start = metadata_of(apps.list_namespaced_deployment("team-a")).resource_version
    watches.append(Collected(apps.list_namespaced_deployment, "team-a", resource_version=start))
    wait_until(lambda: fake.open_watches == 1, what="the watch to open")
    apps.create_namespaced_deployment("team-a", deployment("before"))
    wait_until(lambda: len(watches[0].events) == 1, what="the first event")

    fake.drop_watches()
    # The client's Watch reconnects from the last version it saw, so nothing is lost.
    wait_until(lambda: fake.request_count("watch", "deployments") == 2, what="a new watch")
    wait_until(lambda: fake.open_watches == 1, what="the watch to reopen")
    apps.create_namespaced_deployment("team-a", deployment("after"))

    seen = wait_until(lambda: len(watches[0].events) == 2 and watches[0], what="2 events")
    assert seen.names() == [("ADDED", "before"), ("ADDED", "after")]
    watch_requests = [r for r in fake.requests if r.verb == "watch"]
    first_version = seen.events[0]["object"].metadata.resource_version
    assert watch_requests[1].query["resourceVersion"] == first_version


def test_abruptly_dropped_watch_breaks_the_clients_stream(
    fake: FakeKubeApiServer, apps: kubernetes.client.AppsV1Api, watches: list[Collected]
) -> None:
    watches.append(Collected(apps.list_namespaced_deployment, "team-a"))
    wait_until(lambda: fake.open_watches == 1, what="the watch to open")

    fake.drop_watches(abrupt=True)

    collected = watches[0]
    collected.finish()
    assert isinstance(collected.error, urllib3.exceptions.HTTPError)


def test_expired_watch_gets_a_gone_error(
    fake: FakeKubeApiServer, apps: kubernetes.client.AppsV1Api, watches: list[Collected]
) -> None:
    watches.append(Collected(apps.list_namespaced_deployment, "team-a", timeout_seconds=30))
    wait_until(lambda: fake.open_watches == 1, what="the watch to open")

    fake.expire_watches()

    collected = watches[0]
    collected.finish()
    assert isinstance(collected.error, ApiException)
    assert collected.error.status == 410
