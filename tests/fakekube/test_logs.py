"""Pods played by tests, and their logs read the way the kubelet serves them."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import kubernetes.client
import pytest
from kubernetes import watch
from kubernetes.client import ApiException

from tests.fakekube import FakeKubeApiServer
from tests.fakekube.answers import metadata_of, name_of, raw, status_of
from tests.support.waiting import wait_until

LABELS = {"app.kubernetes.io/name": "echo"}


@pytest.fixture
def pod(fake: FakeKubeApiServer) -> str:
    fake.add_pod("team-a", "echo-1", LABELS)
    return "echo-1"


def status_of_pod(pod: kubernetes.client.V1Pod) -> kubernetes.client.V1PodStatus:
    assert pod.status is not None, "the fake answers every pod with its status"
    return pod.status


def test_added_pods_list_by_label(
    fake: FakeKubeApiServer, core: kubernetes.client.CoreV1Api
) -> None:
    fake.add_pod("team-a", "echo-1", LABELS)
    fake.add_pod("team-a", "echo-2", LABELS, phase="Pending", ready=False)
    fake.add_pod("team-a", "other-1", {"app.kubernetes.io/name": "other"})

    listed = core.list_namespaced_pod("team-a", label_selector="app.kubernetes.io/name=echo")

    assert [(name_of(p), status_of_pod(p).phase) for p in listed.items] == [
        ("echo-1", "Running"),
        ("echo-2", "Pending"),
    ]
    containers = status_of_pod(listed.items[0]).container_statuses
    assert containers is not None
    assert containers[0].ready is True


def test_logs_answer_every_line(
    fake: FakeKubeApiServer, core: kubernetes.client.CoreV1Api, pod: str
) -> None:
    for line in ("one", "two", "three"):
        fake.append_log("team-a", pod, line)

    assert core.read_namespaced_pod_log(pod, "team-a") == "one\ntwo\nthree\n"


def test_tail_lines_answers_the_last_lines(
    fake: FakeKubeApiServer, core: kubernetes.client.CoreV1Api, pod: str
) -> None:
    for line in ("one", "two", "three"):
        fake.append_log("team-a", pod, line)

    assert core.read_namespaced_pod_log(pod, "team-a", tail_lines=2) == "two\nthree\n"
    assert core.read_namespaced_pod_log(pod, "team-a", tail_lines=0) == ""


def test_since_seconds_and_since_time_skip_older_lines(
    fake: FakeKubeApiServer, core: kubernetes.client.CoreV1Api, pod: str
) -> None:
    now = datetime.now(UTC)
    fake.append_log("team-a", pod, "old", at=now - timedelta(hours=1))
    fake.append_log("team-a", pod, "recent", at=now - timedelta(seconds=5))

    assert core.read_namespaced_pod_log(pod, "team-a", since_seconds=600) == "recent\n"
    since = (now - timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    path = f"/api/v1/namespaces/team-a/pods/{pod}/log"
    answered = core.api_client.call_api(
        "GET", fake.url + path + f"?sinceTime={since}", header_params={}
    )
    answered.read()
    assert answered.data == b"recent\n"


def test_timestamps_prefix_each_line(
    fake: FakeKubeApiServer, core: kubernetes.client.CoreV1Api, pod: str
) -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    fake.append_log("team-a", pod, "hello", at=at)

    answered = core.read_namespaced_pod_log(pod, "team-a", timestamps=True)

    assert answered == "2026-01-02T03:04:05.678000000Z hello\n"


def test_follow_streams_lines_as_they_are_appended(
    fake: FakeKubeApiServer, core: kubernetes.client.CoreV1Api, pod: str
) -> None:
    fake.append_log("team-a", pod, "before")
    seen: list[str] = []
    stream = watch.Watch()

    def follow() -> None:
        for line in stream.stream(core.read_namespaced_pod_log, pod, "team-a", follow=True):
            seen.append(line)

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    wait_until(lambda: seen == ["before"], what="the existing line")

    fake.append_log("team-a", pod, "after")
    wait_until(lambda: seen == ["before", "after"], what="the appended line")
    fake.end_log("team-a", pod)
    reader.join(timeout=10)

    assert not reader.is_alive()
    assert seen == ["before", "after"]


def test_a_pod_with_several_containers_needs_a_container_name(
    fake: FakeKubeApiServer, core: kubernetes.client.CoreV1Api
) -> None:
    fake.add_pod("team-a", "multi", LABELS, containers=("app", "proxy"))
    fake.append_log("team-a", "multi", "from proxy", container="proxy")

    with pytest.raises(ApiException) as caught:
        core.read_namespaced_pod_log("multi", "team-a")

    assert caught.value.status == 400
    assert status_of(caught.value)["message"] == (
        "a container name must be specified for pod multi, choose one of: [app proxy]"
    )
    answered = core.read_namespaced_pod_log("multi", "team-a", container="proxy")
    assert answered == "from proxy\n"


def test_logs_of_a_missing_pod_answer_not_found(core: kubernetes.client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_pod_log("nothing", "team-a")

    assert caught.value.status == 404


def test_logs_of_a_pending_pod_are_a_bad_request(
    fake: FakeKubeApiServer, core: kubernetes.client.CoreV1Api
) -> None:
    fake.add_pod("team-a", "waiting", LABELS, phase="Pending", ready=False)

    with pytest.raises(ApiException) as caught:
        core.read_namespaced_pod_log("waiting", "team-a")

    assert caught.value.status == 400
    assert "is waiting to start" in status_of(caught.value)["message"]


def test_log_reads_are_recorded_as_pods_log(
    fake: FakeKubeApiServer, core: kubernetes.client.CoreV1Api, pod: str
) -> None:
    core.read_namespaced_pod_log(pod, "team-a", tail_lines=1)

    assert fake.request_count("get", "pods/log") == 1


def test_deleting_the_pod_ends_a_follow(
    fake: FakeKubeApiServer, core: kubernetes.client.CoreV1Api, pod: str
) -> None:
    fake.append_log("team-a", pod, "last words")
    response = raw(
        core.read_namespaced_pod_log(pod, "team-a", follow=True, _preload_content=False)
    )
    try:
        core.delete_namespaced_pod(pod, "team-a")
        # The stream ends (read returns) once the pod is gone.
        assert response.read() == b"last words\n"
    finally:
        response.release_conn()


def test_a_refused_log_read_names_the_subresource(
    fake: FakeKubeApiServer, core: kubernetes.client.CoreV1Api, pod: str
) -> None:
    fake.faults.forbid(verb="get", resource="pods/log")

    with pytest.raises(ApiException) as caught:
        core.read_namespaced_pod_log(pod, "team-a")

    assert caught.value.status == 403
    assert (
        'cannot get resource "pods/log" in API group ""'
        in json.loads(caught.value.body or "{}")["message"]
    )


def test_previous_logs_of_a_container_that_never_restarted_are_a_bad_request(
    core: kubernetes.client.CoreV1Api, pod: str
) -> None:
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_pod_log(pod, "team-a", previous=True)

    assert caught.value.status == 400
    assert "previous terminated container" in json.loads(caught.value.body or "{}")["message"]


def test_pods_added_by_the_test_reach_pod_watches(
    fake: FakeKubeApiServer, core: kubernetes.client.CoreV1Api
) -> None:
    start = metadata_of(core.list_namespaced_pod("team-a")).resource_version
    fake.add_pod("team-a", "echo-1", LABELS)
    core.patch_namespaced_pod_status("echo-1", "team-a", {"status": {"phase": "Succeeded"}})

    events = list(
        watch.Watch().stream(
            core.list_namespaced_pod, "team-a", resource_version=start, timeout_seconds=1
        )
    )

    assert [(e["type"], e["object"].status.phase) for e in events] == [
        ("ADDED", "Running"),
        ("MODIFIED", "Succeeded"),
    ]
