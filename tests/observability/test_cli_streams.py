"""`fnplane functions watch` and `fnplane functions logs` as a user runs them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from click.testing import CliRunner, Result

from fnplane.client.cli import cli
from fnplane.client.streams import parse_since
from fnplane.server import app
from fnplane.server.config import ServerConfig
from fnplane.server.demo import DemoBackend
from fnplane.server.kubernetes.backend import KubernetesBackend
from fnplane.server.kubernetes.objects import CONTAINER, fnplane_labels
from fnplane.v1 import functions_pb2 as pb
from fnplane.v1 import functions_pb2_grpc
from tests.fakekube import FakeKubeApiServer
from tests.support.processes import Child, fnplane_argv
from tests.support.tokens import signed_in
from tests.support.waiting import wait_until


def fnplane(*args: str, server: str) -> Result:
    environment = {"FNPLANE_SERVER": server, "FNPLANE_API_KEY": None}
    result = CliRunner().invoke(cli, list(args), env=environment, prog_name="fnplane")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def demo() -> Iterator[app.RunningServer]:
    running = app.start(ServerConfig(listen="127.0.0.1:0", metrics_port=0), backend=DemoBackend())
    try:
        yield running
    finally:
        running.stop(grace=1)


@pytest.fixture
def kube_server() -> Iterator[app.RunningServer]:
    """A server on a fake cluster where function "web" has one pod with two lines."""
    with FakeKubeApiServer() as fake:
        backend = KubernetesBackend(fake.api_client(), backoff=(0.05, 0.5))
        running = app.start(ServerConfig(listen="127.0.0.1:0", metrics_port=0), backend=backend)
        try:
            with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
                stub = functions_pb2_grpc.FunctionServiceStub(signed_in(channel))
                stub.CreateFunction(pb.CreateFunctionRequest(name="web", image="nginx:alpine"))
            fake.add_pod("default", "web-1", fnplane_labels("web"), containers=(CONTAINER,))
            fake.append_log("default", "web-1", "old line", at=datetime.now(UTC) - timedelta(1))
            fake.append_log("default", "web-1", "new line")
            yield running
        finally:
            running.stop(grace=1)


def test_watch_prints_each_change_as_a_json_line(demo: app.RunningServer, tmp_path: Path) -> None:
    address = f"127.0.0.1:{demo.port}"
    with grpc.insecure_channel(address) as channel:
        stub = functions_pb2_grpc.FunctionServiceStub(signed_in(channel))
        stub.CreateFunction(pb.CreateFunctionRequest(name="first", image="nginx:alpine"))
        argv = fnplane_argv("functions", "watch", "-o", "json", f"--server={address}")
        with Child(argv, log=tmp_path / "watch.log") as watching:
            wait_until(lambda: "SYNCED" in watching.output(), timeout=20, what="the snapshot")
            stub.CreateFunction(pb.CreateFunctionRequest(name="second", image="nginx:alpine"))
            wait_until(lambda: "second" in watching.output(), timeout=20, what="the change")
            events = [json.loads(line) for line in watching.output().splitlines()]

    assert [(e["type"], e.get("function", {}).get("name")) for e in events] == [
        ("ADDED", "first"),
        ("SYNCED", None),
        ("ADDED", "second"),
    ]
    assert events[2]["function"]["status"] == "Running"


def test_logs_prints_pod_time_and_text(kube_server: app.RunningServer) -> None:
    address = f"127.0.0.1:{kube_server.port}"
    everything = fnplane("functions", "logs", "web", server=address)
    assert everything.exit_code == 0, everything.output
    lines = everything.stdout.splitlines()
    assert [line.split(" ", 2)[2] for line in lines] == ["old line", "new line"]
    assert all(line.startswith("web-1 20") for line in lines)

    recent = fnplane("functions", "logs", "web", "--since", "1h", "-o", "json", server=address)
    assert [json.loads(line)["text"] for line in recent.stdout.splitlines()] == ["new line"]

    last = fnplane("functions", "logs", "web", "--tail", "1", server=address)
    assert last.stdout.splitlines()[0].endswith(" new line")


def test_logs_on_the_demo_backend_say_they_need_kubernetes(demo: app.RunningServer) -> None:
    result = fnplane("functions", "logs", "web", server=f"127.0.0.1:{demo.port}")
    assert result.exit_code == 1
    assert "kubernetes backend" in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_since_that_is_no_time_is_refused_before_any_call() -> None:
    result = fnplane("functions", "logs", "web", "--since", "yesterday", server="127.0.0.1:1")
    assert result.exit_code == 2
    assert "--since" in result.stderr and "'yesterday'" in result.stderr


def test_since_reads_durations_and_times() -> None:
    now = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)
    assert parse_since("10m", now=now) == now - timedelta(minutes=10)
    assert parse_since("1h30m", now=now) == now - timedelta(minutes=90)
    assert parse_since("2026-01-01T00:00:00Z") == datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="positive"):
        parse_since("0s", now=now)
