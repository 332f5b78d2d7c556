"""A function's logs on the Kubernetes backend: read from its pods through pods/log, merged
in time order, or followed as they are written until the containers end or the caller hangs
up."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from fnplane.server.domain import FunctionSpec, LogLine, LogQuery
from fnplane.server.errors import NotFound, PermissionDenied
from fnplane.server.kubernetes.backend import KubernetesBackend
from fnplane.server.kubernetes.objects import fnplane_labels
from tests.fakekube import FakeKubeApiServer
from tests.kubernetes.conftest import NAMESPACE
from tests.support.waiting import wait_until

START = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def pods(kube: KubernetesBackend, fake: FakeKubeApiServer) -> list[str]:
    """Two running pods of function "web", and one of another function, with some lines."""
    kube.create(NAMESPACE, FunctionSpec(name="web", image="nginx:alpine", replicas=2))
    names = ["web-1", "web-2"]
    for name in names:
        fake.add_pod(NAMESPACE, name, fnplane_labels("web"), containers=("function",))
    fake.add_pod(NAMESPACE, "other-1", fnplane_labels("other"), containers=("function",))
    fake.append_log(NAMESPACE, "web-1", "one", at=START)
    fake.append_log(NAMESPACE, "web-2", "two", at=START + timedelta(seconds=1))
    fake.append_log(NAMESPACE, "web-1", "three", at=START + timedelta(seconds=2))
    fake.append_log(NAMESPACE, "other-1", "not web's", at=START)
    return names


def _texts(lines: list[LogLine]) -> list[tuple[str, str]]:
    return [(line.pod, line.text) for line in lines]


def test_the_lines_of_every_pod_come_merged_in_time_order(
    kube: KubernetesBackend, pods: list[str]
) -> None:
    lines = list(kube.logs(NAMESPACE, LogQuery(name="web")))

    assert _texts(lines) == [("web-1", "one"), ("web-2", "two"), ("web-1", "three")]
    assert lines[0].time == START


def test_tail_lines_counts_per_pod_and_since_leaves_out_older_lines(
    kube: KubernetesBackend, pods: list[str]
) -> None:
    tail = list(kube.logs(NAMESPACE, LogQuery(name="web", tail_lines=1)))
    since = list(kube.logs(NAMESPACE, LogQuery(name="web", since=START + timedelta(seconds=1))))

    assert _texts(tail) == [("web-2", "two"), ("web-1", "three")]
    assert _texts(since) == [("web-2", "two"), ("web-1", "three")]


def test_follow_gives_new_lines_until_every_container_ends(
    kube: KubernetesBackend, fake: FakeKubeApiServer, pods: list[str]
) -> None:
    stream = kube.logs(NAMESPACE, LogQuery(name="web", tail_lines=0, follow=True))
    received: list[LogLine] = []
    reader = threading.Thread(target=lambda: received.extend(stream), daemon=True)
    reader.start()

    fake.append_log(NAMESPACE, "web-2", "later")
    wait_until(lambda: _texts(received) == [("web-2", "later")], what="the new line")
    fake.append_log(NAMESPACE, "web-1", "last")
    for pod in pods:
        fake.end_log(NAMESPACE, pod)

    reader.join(timeout=10)
    assert not reader.is_alive()
    assert _texts(received) == [("web-2", "later"), ("web-1", "last")]


def test_closing_a_followed_stream_ends_it_at_once(
    kube: KubernetesBackend, pods: list[str]
) -> None:
    stream = kube.logs(NAMESPACE, LogQuery(name="web", follow=True))
    received: list[LogLine] = []
    reader = threading.Thread(target=lambda: received.extend(stream), daemon=True)
    reader.start()
    wait_until(lambda: len(received) == 3, what="the lines written so far")

    stream.close()

    reader.join(timeout=5)
    assert not reader.is_alive()


def test_logs_of_an_unknown_function_are_not_found(kube: KubernetesBackend) -> None:
    with pytest.raises(NotFound):
        kube.logs(NAMESPACE, LogQuery(name="missing"))


def test_a_refusal_to_read_pod_logs_names_the_subresource(
    kube: KubernetesBackend, fake: FakeKubeApiServer, pods: list[str]
) -> None:
    fake.faults.forbid(verb="get", resource="pods/log")

    with pytest.raises(PermissionDenied, match="get pods/log"):
        list(kube.logs(NAMESPACE, LogQuery(name="web")))
