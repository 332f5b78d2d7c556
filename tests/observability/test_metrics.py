"""The Prometheus metrics a server serves on its metrics port, after calls of known outcome."""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from fnplane.server import app
from fnplane.server.config import ServerConfig
from fnplane.server.demo import DemoBackend
from fnplane.server.kubernetes.backend import KubernetesBackend
from fnplane.v1 import functions_pb2 as pb
from fnplane.v1 import functions_pb2_grpc
from tests.fakekube import FakeKubeApiServer
from tests.support.tokens import signed_in
from tests.support.waiting import free_port

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
CREATE = "fnplane.v1.FunctionService/CreateFunction"
GET = "fnplane.v1.FunctionService/GetFunction"
HEALTH_CHECK = "grpc.health.v1.Health/Check"


@pytest.fixture
def metered() -> Iterator[app.RunningServer]:
    """A demo server with its metrics on a free port."""
    config = ServerConfig(listen="127.0.0.1:0", backend="demo", metrics_port=free_port())
    running = app.start(config, backend=DemoBackend())
    try:
        yield running
    finally:
        running.stop(grace=1)


@pytest.fixture
def stub(metered: app.RunningServer) -> Iterator[functions_pb2_grpc.FunctionServiceStub]:
    with grpc.insecure_channel(f"127.0.0.1:{metered.port}") as channel:
        yield functions_pb2_grpc.FunctionServiceStub(signed_in(channel))


def scrape(server: app.RunningServer) -> Samples:
    """Answers every sample /metrics shows, by name and labels."""
    url = f"http://127.0.0.1:{server.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as answer:
        text = answer.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def test_calls_are_counted_by_method_and_code(
    metered: app.RunningServer, stub: functions_pb2_grpc.FunctionServiceStub
) -> None:
    for name in ("one", "two"):
        stub.CreateFunction(pb.CreateFunctionRequest(name=name, image="nginx:alpine"))
    with pytest.raises(grpc.RpcError):
        stub.CreateFunction(pb.CreateFunctionRequest(name="one", image="nginx:alpine"))
    with pytest.raises(grpc.RpcError):
        stub.GetFunction(pb.GetFunctionRequest(name="missing"))

    samples = scrape(metered)

    assert value(samples, "fnplane_grpc_calls_total", method=CREATE, code="OK") == 2
    assert value(samples, "fnplane_grpc_calls_total", method=CREATE, code="ALREADY_EXISTS") == 1
    assert value(samples, "fnplane_grpc_calls_total", method=GET, code="NOT_FOUND") == 1
    assert value(samples, "fnplane_grpc_call_duration_seconds_count", method=CREATE) == 3
    assert value(samples, "fnplane_grpc_call_duration_seconds_count", method=GET) == 1


def test_calls_refused_for_their_token_and_calls_needing_none_are_counted_too(
    metered: app.RunningServer,
) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{metered.port}") as channel:
        with pytest.raises(grpc.RpcError) as refused:
            functions_pb2_grpc.FunctionServiceStub(channel).GetFunction(
                pb.GetFunctionRequest(name="any")
            )
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())

    samples = scrape(metered)

    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert value(samples, "fnplane_grpc_calls_total", method=GET, code="UNAUTHENTICATED") == 1
    assert value(samples, "fnplane_grpc_calls_total", method=HEALTH_CHECK, code="OK") == 1


def test_functions_are_counted_by_namespace_and_status_at_scrape_time(
    metered: app.RunningServer, stub: functions_pb2_grpc.FunctionServiceStub
) -> None:
    stub.CreateFunction(pb.CreateFunctionRequest(name="up", image="nginx:alpine"))
    stub.CreateFunction(pb.CreateFunctionRequest(name="also-up", image="nginx:alpine"))
    stub.CreateFunction(pb.CreateFunctionRequest(name="down", image="nginx:alpine", replicas=0))

    samples = scrape(metered)
    assert value(samples, "fnplane_functions", namespace="default", status="Running") == 2
    assert value(samples, "fnplane_functions", namespace="default", status="Stopped") == 1

    stub.DeleteFunction(pb.DeleteFunctionRequest(name="down"))
    samples = scrape(metered)
    assert value(samples, "fnplane_functions", namespace="default", status="Stopped") is None
    assert value(samples, "fnplane_functions", namespace="default", status="Running") == 2


def test_latency_histograms_carry_no_function_names(
    metered: app.RunningServer, stub: functions_pb2_grpc.FunctionServiceStub
) -> None:
    stub.CreateFunction(pb.CreateFunctionRequest(name="distinctive", image="nginx:alpine"))
    samples = scrape(metered)
    histogram = [labels for name, labels in samples if name.startswith("fnplane_grpc_call_dur")]
    assert histogram
    assert all("distinctive" not in dict(labels).values() for labels in histogram)


def test_servers_side_by_side_count_apart(stub: functions_pb2_grpc.FunctionServiceStub) -> None:
    stub.CreateFunction(pb.CreateFunctionRequest(name="here", image="nginx:alpine"))
    other = app.start(
        ServerConfig(listen="127.0.0.1:0", metrics_port=free_port()), backend=DemoBackend()
    )
    try:
        assert value(scrape(other), "fnplane_grpc_calls_total", method=CREATE, code="OK") is None
    finally:
        other.stop(grace=1)


def test_a_taken_metrics_port_is_logged_and_the_api_still_serves(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        running = app.start(
            ServerConfig(listen="127.0.0.1:0", metrics_port=port), backend=DemoBackend()
        )
        try:
            assert running.metrics_port == 0
            assert f"metrics not served: cannot listen on 127.0.0.1 port {port}" in caplog.text
            with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
                stub = functions_pb2_grpc.FunctionServiceStub(signed_in(channel))
                assert stub.ListFunctions(pb.ListFunctionsRequest()).functions == []
        finally:
            running.stop(grace=1)


def test_kubernetes_requests_and_the_watch_cache_are_measured() -> None:
    with FakeKubeApiServer() as fake:
        backend = KubernetesBackend(fake.api_client(), backoff=(0.05, 0.5))
        config = ServerConfig(listen="127.0.0.1:0", metrics_port=free_port())
        running = app.start(config, backend=backend)
        try:
            with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
                stub = functions_pb2_grpc.FunctionServiceStub(signed_in(channel))
                stub.CreateFunction(pb.CreateFunctionRequest(name="web", image="nginx:alpine"))
                with pytest.raises(grpc.RpcError):
                    stub.CreateFunction(pb.CreateFunctionRequest(name="web", image="nginx"))

            samples = scrape(running)
            creates = {
                dict(labels)["outcome"]: count
                for (name, labels), count in samples.items()
                if name == "fnplane_kubernetes_requests_total" and ("verb", "create") in labels
            }
            # The second create is refused by the API server with 409 Conflict.
            assert creates["409"] == 1
            assert sum(creates.values()) == fake.request_count(verb="create")
            lists = value(samples, "fnplane_kubernetes_requests_total", verb="list", outcome="ok")
            assert lists == fake.request_count(verb="list")
            assert value(samples, "fnplane_kubernetes_request_duration_seconds_count", verb="list")
            assert value(samples, "fnplane_watch_cache_functions") == 1
            age = value(samples, "fnplane_watch_cache_last_event_age_seconds")
            assert age is not None and age >= 0
            assert value(samples, "fnplane_functions", namespace="default", status="Deploying")
        finally:
            running.stop(grace=1)
