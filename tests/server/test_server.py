"""The server around the servicer: health, reflection, logs, hidden crashes, graceful stop."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from fnplane.server import app
from fnplane.server.config import ServerConfig
from fnplane.server.demo import DemoBackend
from fnplane.server.domain import Function
from fnplane.v1 import functions_pb2 as pb
from fnplane.v1.functions_pb2_grpc import FunctionServiceStub
from tests.grpc_errors import failure
from tests.support.tokens import signed_in
from tests.support.waiting import wait_until


@pytest.fixture
def demo() -> DemoBackend:
    return DemoBackend()


@pytest.fixture(params=["demo"])
def backend(demo: DemoBackend) -> DemoBackend:
    """These tests are about the server, not backends: the demo backend stands in."""
    return demo


@pytest.mark.parametrize("service", ["", "fnplane.v1.FunctionService"])
def test_health_says_serving(channel: grpc.Channel, service: str) -> None:
    health = health_pb2_grpc.HealthStub(channel)

    reply = health.Check(health_pb2.HealthCheckRequest(service=service))

    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_describes_the_function_service_without_proto_files(
    channel: grpc.Channel,
) -> None:
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    requests = iter(
        [
            reflection_pb2.ServerReflectionRequest(list_services=""),
            reflection_pb2.ServerReflectionRequest(
                file_containing_symbol="fnplane.v1.FunctionService"
            ),
        ]
    )

    listed, described = list(reflection.ServerReflectionInfo(requests))

    services = {s.name for s in listed.list_services_response.service}
    assert {"fnplane.v1.FunctionService", "grpc.health.v1.Health"} <= services
    files = [
        descriptor_pb2.FileDescriptorProto.FromString(raw)
        for raw in described.file_descriptor_response.file_descriptor_proto
    ]
    methods = {m.name for f in files for s in f.service for m in s.method}
    assert {"CreateFunction", "ListFunctions", "GetFunction"} <= methods
    assert {"UpdateFunction", "DeleteFunction"} <= methods


def test_each_call_logs_one_line_with_method_code_duration_and_function(
    functions: FunctionServiceStub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="fnplane.access")

    functions.CreateFunction(pb.CreateFunctionRequest(name="my-app", image="nginx:alpine"))
    failure(lambda: functions.GetFunction(pb.GetFunctionRequest(name="ghost")))

    lines = [r.getMessage() for r in caplog.records if r.name == "fnplane.access"]
    assert len(lines) == 2
    created, missing = lines
    assert created.startswith("/fnplane.v1.FunctionService/CreateFunction OK ")
    assert created.endswith("ms function=my-app")
    assert missing.startswith("/fnplane.v1.FunctionService/GetFunction NOT_FOUND ")
    assert missing.endswith("function=ghost")


def test_a_crash_in_a_backend_is_internal_without_a_traceback(
    functions: FunctionServiceStub,
    demo: DemoBackend,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(namespace: str) -> list[Function]:
        raise RuntimeError("secret internals at /srv/fnplane/backend.py line 12")

    monkeypatch.setattr(demo, "list", broken)

    error = failure(lambda: functions.ListFunctions(pb.ListFunctionsRequest()))

    assert error.code() == grpc.StatusCode.INTERNAL
    assert error.details() == "internal error; the server log has details"
    logged = [r for r in caplog.records if r.exc_info]
    assert logged, "the server log keeps the traceback"
    exc_info = logged[0].exc_info
    assert exc_info is not None
    assert "secret internals" in str(exc_info[1])


def test_graceful_stop_lets_calls_in_flight_finish_and_refuses_new_ones(
    demo: DemoBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = app.start(ServerConfig(listen="127.0.0.1:0"), backend=demo)
    entered, release = threading.Event(), threading.Event()
    real_list = demo.list

    def slow_list(namespace: str) -> list[Function]:
        entered.set()
        release.wait(10)
        return real_list(namespace)

    monkeypatch.setattr(demo, "list", slow_list)
    channel = grpc.insecure_channel(f"127.0.0.1:{running.port}")
    functions = FunctionServiceStub(signed_in(channel))

    with ThreadPoolExecutor(2) as pool:
        in_flight = pool.submit(functions.ListFunctions, pb.ListFunctionsRequest(), timeout=10)
        assert entered.wait(10)
        stopping = pool.submit(running.stop, 10)

        # A new call made while stopping is refused, while the old one still runs.
        def refused() -> bool:
            try:
                functions.GetFunction(pb.GetFunctionRequest(name="a"), timeout=1)
            except grpc.RpcError as error:
                return error.code() == grpc.StatusCode.UNAVAILABLE
            return False

        wait_until(refused, what="new calls refused while stopping")
        assert not in_flight.done()
        release.set()

        assert list(in_flight.result(timeout=10).functions) == []
        stopping.result(timeout=10)
    channel.close()
