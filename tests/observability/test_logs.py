"""GetFunctionLogs over gRPC with the Kubernetes backend on the fake API server: each line
with its pod and time; tail, since and follow; bad queries refused by field."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from fnplane.server import app
from fnplane.server.config import ServerConfig
from fnplane.server.kubernetes.backend import KubernetesBackend
from fnplane.server.kubernetes.objects import CONTAINER, fnplane_labels
from fnplane.v1 import functions_pb2 as pb
from fnplane.v1 import functions_pb2_grpc
from tests.fakekube import FakeKubeApiServer
from tests.grpc_errors import details
from tests.support.tokens import signed_in
from tests.support.waiting import wait_until

HOUR_AGO = datetime.now(UTC) - timedelta(hours=1)


@pytest.fixture
def cluster() -> Iterator[FakeKubeApiServer]:
    with FakeKubeApiServer() as fake:
        yield fake


@pytest.fixture
def stub(cluster: FakeKubeApiServer) -> Iterator[functions_pb2_grpc.FunctionServiceStub]:
    """A server on the fake cluster, with function "web" running in two pods that have
    logged: web-a an hour ago and just now, web-b just now."""
    backend = KubernetesBackend(cluster.api_client(), backoff=(0.05, 0.5))
    running = app.start(ServerConfig(listen="127.0.0.1:0", metrics_port=0), backend=backend)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            functions = functions_pb2_grpc.FunctionServiceStub(signed_in(channel))
            functions.CreateFunction(pb.CreateFunctionRequest(name="web", image="nginx:alpine"))
            for pod in ("web-a", "web-b"):
                cluster.add_pod("default", pod, fnplane_labels("web"), containers=(CONTAINER,))
            cluster.append_log("default", "web-a", "started", at=HOUR_AGO)
            cluster.append_log("default", "web-a", "GET / 200")
            cluster.append_log("default", "web-b", "GET /health 200")
            yield functions
    finally:
        running.stop(grace=1)


def _read(stream: Iterable[pb.LogLine]) -> list[tuple[str, str]]:
    return [(line.pod, line.text) for line in stream]


def test_lines_carry_their_pod_and_time(stub: functions_pb2_grpc.FunctionServiceStub) -> None:
    lines = list(stub.GetFunctionLogs(pb.GetFunctionLogsRequest(name="web"), timeout=20))
    assert [(line.pod, line.text) for line in lines] == [
        ("web-a", "started"),
        ("web-a", "GET / 200"),
        ("web-b", "GET /health 200"),
    ]
    first = lines[0].time.ToDatetime(tzinfo=UTC)
    assert abs(first - HOUR_AGO) < timedelta(seconds=1)


def test_tail_and_since_choose_the_lines(stub: functions_pb2_grpc.FunctionServiceStub) -> None:
    tail = stub.GetFunctionLogs(pb.GetFunctionLogsRequest(name="web", tail_lines=1), timeout=20)
    assert sorted(_read(tail)) == [("web-a", "GET / 200"), ("web-b", "GET /health 200")]

    recent = stub.GetFunctionLogs(
        pb.GetFunctionLogsRequest(name="web", since_seconds=600), timeout=20
    )
    assert ("web-a", "started") not in _read(recent)

    since = Timestamp()
    since.FromDatetime(HOUR_AGO - timedelta(minutes=1))
    older = stub.GetFunctionLogs(pb.GetFunctionLogsRequest(name="web", since_time=since))
    assert ("web-a", "started") in _read(older)


def test_follow_sends_lines_as_the_pods_write_them(
    stub: functions_pb2_grpc.FunctionServiceStub, cluster: FakeKubeApiServer
) -> None:
    stream = stub.GetFunctionLogs(
        pb.GetFunctionLogsRequest(name="web", tail_lines=0, follow=True), timeout=20
    )
    lines = iter(stream)
    try:
        # A line written once both pods' logs are being followed must come through.
        wait_until(
            lambda: _follows(cluster) == 2, timeout=10, what="both pods' logs to be followed"
        )
        cluster.append_log("default", "web-b", "late line")
        line = next(lines)
        assert (line.pod, line.text) == ("web-b", "late line")
    finally:
        stream.cancel()


def _follows(cluster: FakeKubeApiServer) -> int:
    return sum(
        1
        for request in cluster.requests
        if request.resource == "pods/log" and request.query.get("follow") == "true"
    )


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"tail_lines": -1}, "tail_lines"),
        ({"since_seconds": 0}, "since_seconds"),
        ({"since_seconds": 5, "since_time": Timestamp(seconds=1)}, "since_time"),
        ({"name": "Not_A_Name"}, "name"),
        ({"since_time": Timestamp(seconds=10**12)}, "since_time"),
    ],
)
def test_a_bad_query_names_its_field(
    stub: functions_pb2_grpc.FunctionServiceStub, request_fields: dict[str, Any], field: str
) -> None:
    request = pb.GetFunctionLogsRequest(**{"name": "web", **request_fields})
    with pytest.raises(grpc.RpcError) as raised:
        list(stub.GetFunctionLogs(request, timeout=20))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in details(raised.value)


def test_logs_of_a_missing_function_are_not_found(
    stub: functions_pb2_grpc.FunctionServiceStub,
) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        list(stub.GetFunctionLogs(pb.GetFunctionLogsRequest(name="nobody"), timeout=20))
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
