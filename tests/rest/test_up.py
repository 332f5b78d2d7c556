"""`fnplane up`: serves gRPC itself with Envoy as its child, reports readiness, and stops both."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import urllib.request
from pathlib import Path

import grpc
import pytest

from fnplane.v1 import functions_pb2 as pb
from fnplane.v1.functions_pb2_grpc import FunctionServiceStub
from tests.support.processes import fnplane_argv
from tests.support.stack import READY_LINE, Stack, call, running_stack
from tests.support.waiting import free_port, port_answers, serving, wait_until

pytestmark = pytest.mark.envoy


def children_of(pid: int) -> list[int]:
    """Answers the pids of a process's children (Linux /proc)."""
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def command_of(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def envoy_of(stack: Stack) -> int:
    """Answers the pid of the stack's Envoy, its one child."""
    children = children_of(stack.child.process.pid)
    assert len(children) == 1, [command_of(pid) for pid in children]
    assert Path(command_of(children[0]).split()[0]).name == "envoy"
    return children[0]


def every_port_answers(stack: Stack) -> bool:
    ports = (stack.http_port, stack.grpc_port, stack.dashboard_port, stack.admin_port)
    return all(port_answers(port) for port in ports)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_up_starts_every_part_and_a_signal_stops_them_all(tmp_path: Path, signum: int) -> None:
    with running_stack(tmp_path / "up.log") as stack:
        output = stack.child.output()
        for url in (stack.api, stack.dashboard, f"http://127.0.0.1:{stack.admin_port}"):
            assert url.replace("127.0.0.1", "localhost") in output or url in output, output
        assert f"127.0.0.1:{stack.grpc_port}" in output
        assert every_port_answers(stack)
        with urllib.request.urlopen(f"http://127.0.0.1:{stack.admin_port}/ready") as ready:
            assert ready.status == 200
        assert serving(f"127.0.0.1:{stack.grpc_port}")
        envoy = envoy_of(stack)

        stack.child.signal(signum)
        assert stack.child.process.wait(timeout=30) == 0
        assert not running(envoy), "Envoy still runs after fnplane up stopped"
        ports = (stack.http_port, stack.grpc_port, stack.dashboard_port, stack.admin_port)
        assert not any(port_answers(port) for port in ports)


def test_up_says_ready_on_its_descriptor_only_when_every_port_serves(tmp_path: Path) -> None:
    # running_stack waits for the READY line on --ready-fd, and nothing else.
    with running_stack(tmp_path / "up.log") as stack:
        assert READY_LINE in stack.child.output()
        assert stack.call("GET", "/v1/functions", token=stack.token()).status == 200
        assert call("GET", stack.dashboard + "/").status == 200
        assert serving(f"127.0.0.1:{stack.http_port}")


def test_when_envoy_dies_up_stops_the_server_and_fails(tmp_path: Path) -> None:
    with running_stack(tmp_path / "up.log") as stack:
        os.kill(envoy_of(stack), signal.SIGKILL)

        assert stack.child.process.wait(timeout=30) != 0
        assert "Envoy exited" in stack.child.output()
        assert not port_answers(stack.grpc_port)


def run_up(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        fnplane_argv("up", "--backend=demo", *args),
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **(env or {})},
        check=False,
    )


def free_ports(flags: tuple[str, ...]) -> list[str]:
    return [f"{flag}={free_port()}" for flag in flags]


PORT_FLAGS = ("--http-port", "--grpc-port", "--dashboard-port", "--admin-port")


@pytest.mark.parametrize("taken", PORT_FLAGS)
def test_a_taken_port_is_one_line_and_a_failure(taken: str) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        others = free_ports(tuple(flag for flag in PORT_FLAGS if flag != taken))
        done = run_up("--http-host=127.0.0.1", f"{taken}={port}", *others)

    assert done.returncode != 0
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    assert str(port) in lines[0] and taken in lines[0] and "in use" in lines[0]


def test_a_missing_envoy_is_one_line_and_a_failure(tmp_path: Path) -> None:
    missing = tmp_path / "no-envoy-here"
    for done in (
        run_up("--envoy", str(missing), *free_ports(PORT_FLAGS)),
        run_up(*free_ports(PORT_FLAGS), env={"FNPLANE_ENVOY": str(missing)}),
    ):
        assert done.returncode != 0
        lines = (done.stdout + done.stderr).strip().splitlines()
        assert len(lines) == 1, lines
        assert "Envoy not found" in lines[0] and str(missing) in lines[0]


def test_settings_reach_the_server(tmp_path: Path) -> None:
    key, secret = "up-test-key-0123456789abcdef", "up-test-secret-" + "s" * 32
    env = {"FNPLANE_MAX_REQUEST_BYTES": "2048"}
    args = ("--api-keys", f"{key}=default", "--token-secret", secret)
    with running_stack(tmp_path / "up.log", args=args, env=env) as stack:
        assert stack.call("POST", "/auth/token", body={}).status == 401
        issued = stack.call("POST", "/auth/token", body={"api_key": key})
        assert issued.status == 200, issued.body

        big = {"name": "big", "image": "nginx", "env": {"BLOB": "x" * 4096}}
        reply = stack.call("POST", "/v1/functions", body=big, token=issued.json()["token"])
        assert reply.status == 413
        assert "2048 bytes" in reply.json()["message"]


def test_envoy_stops_when_up_is_killed_outright(tmp_path: Path) -> None:
    with running_stack(tmp_path / "up.log") as stack:
        envoy = envoy_of(stack)
        os.kill(stack.child.process.pid, signal.SIGKILL)
        stack.child.process.wait(timeout=10)
        wait_until(
            lambda: not running(envoy),
            timeout=20,
            what="Envoy to stop after fnplane up was killed",
        )


def test_a_setting_the_server_refuses_stops_up_and_envoy(tmp_path: Path) -> None:
    ports = free_ports(PORT_FLAGS)
    done = run_up("--http-host=127.0.0.1", "--token-secret=too-short", *ports)

    assert done.returncode == 1
    assert "fnplane: the token signing secret has 9 bytes; it needs at least 32" in done.stderr
    assert "Traceback" not in done.stderr
    assert not any(port_answers(int(port.partition("=")[2])) for port in ports)


def test_a_stop_ends_open_watches_rather_than_waiting_out_the_grace(tmp_path: Path) -> None:
    with (
        running_stack(tmp_path / "up.log", args=["--grace-seconds=60"]) as stack,
        grpc.insecure_channel(stack.grpc_target) as channel,
    ):
        watch = FunctionServiceStub(channel).WatchFunctions(
            pb.WatchFunctionsRequest(),
            metadata=(("authorization", f"Bearer {stack.token()}"),),
            timeout=120,
        )
        assert next(iter(watch)).type == "SYNCED"

        stack.child.signal(signal.SIGTERM)
        # Waiting out the grace period would take a minute.
        assert stack.child.process.wait(timeout=20) == 0
        assert list(watch) == []
