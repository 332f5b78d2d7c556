"""SIGTERM under load: calls in flight finish, new calls are refused cleanly, and every
process of the stack is gone afterwards.

Calls on the demo backend take microseconds, so "in flight" would be a matter of luck. The
stack runs the Kubernetes backend on the fake API server instead, which holds every create
for a second: the test knows a call is in flight because the fake has received it.
"""

from __future__ import annotations

import signal
import threading
import urllib.error
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from fnplane.server import app
from fnplane.server.config import ServerConfig
from fnplane.server.kubernetes.backend import KubernetesBackend
from fnplane.v1 import functions_pb2 as pb
from fnplane.v1.functions_pb2_grpc import FunctionServiceStub
from tests.fakekube import FakeKubeApiServer
from tests.support.stack import Reply, Stack, running_stack
from tests.support.tokens import signed_in
from tests.support.waiting import wait_until

pytestmark = pytest.mark.envoy

IN_FLIGHT = 8
HOLD_SECONDS = 1.0
"""How long the fake API server holds each create; well inside the stack's grace of 2 s."""


@pytest.fixture
def slow_cluster(tmp_path: Path) -> Iterator[tuple[FakeKubeApiServer, Path]]:
    with FakeKubeApiServer() as fake:
        fake.faults.delay(HOLD_SECONDS, verb="create", resource="deployments")
        yield fake, fake.write_kubeconfig(tmp_path / "kubeconfig")


def _processes_in_group(group: int) -> list[int]:
    """The pids of every process still in process group `group`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended while being looked at
        # Fields after the command (in parentheses, which may hold spaces): state, ppid, pgrp.
        fields = stat.rpartition(")")[2].split()
        if int(fields[2]) == group:
            found.append(int(entry.name))
    return found


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _refused_cleanly(outcome: Reply | OSError) -> bool:
    """A refusal a client can act on: the connection is refused, or a 503 with fnplane's
    JSON error saying the server is not reachable."""
    if isinstance(outcome, OSError):
        reason = getattr(outcome, "reason", outcome)
        return isinstance(reason, ConnectionRefusedError)
    if outcome.status != 503:
        return False
    body = outcome.json()
    return bool(body.get("message")) and body.get("code") == grpc.StatusCode.UNAVAILABLE.value[0]


def _try(stack: Stack, method: str, path: str, **options: object) -> Reply | OSError:
    try:
        return stack.call(method, path, **options)
    except (urllib.error.URLError, OSError) as error:
        return error


def test_sigterm_to_up_finishes_calls_in_flight_and_refuses_new_ones(
    tmp_path: Path, slow_cluster: tuple[FakeKubeApiServer, Path]
) -> None:
    fake, kubeconfig = slow_cluster
    args = ["--backend=kubernetes", f"--kubeconfig={kubeconfig}", "--metrics-port=0"]
    with running_stack(tmp_path / "up.log", args=args) as stack:
        up = stack.child.process.pid
        parts = _children(up)
        token = stack.token()
        stack.call("GET", "/v1/functions", token=token)  # the first read lists once
        answers: dict[str, Reply | OSError] = {}

        def create(name: str) -> None:
            body = {"name": name, "image": "nginx:alpine"}
            answers[name] = _try(stack, "POST", "/v1/functions", body=body, token=token)

        callers = [
            threading.Thread(target=create, args=(f"inflight-{i}",)) for i in range(IN_FLIGHT)
        ]
        for caller in callers:
            caller.start()
        wait_until(
            lambda: fake.request_count(verb="create", resource="deployments") == IN_FLIGHT,
            what="every create to be in flight at the API server",
        )

        stack.child.signal(signal.SIGTERM)
        late: list[Reply | OSError] = []

        def refused_now() -> bool:
            late.append(_try(stack, "GET", "/v1/functions", token=token))
            return not (isinstance(late[-1], Reply) and late[-1].status == 200)

        wait_until(refused_now, timeout=30, what="a call after SIGTERM to be refused")
        for caller in callers:
            caller.join(timeout=30)

        assert stack.child.process.wait(timeout=30) == 0, stack.child.output()

    statuses = {name: a.status if isinstance(a, Reply) else repr(a) for name, a in answers.items()}
    assert statuses == {f"inflight-{i}": 200 for i in range(IN_FLIGHT)}, statuses
    refusals = [o for o in late if not (isinstance(o, Reply) and o.status == 200)]
    assert all(_refused_cleanly(o) for o in refusals), [
        o if isinstance(o, OSError) else (o.status, o.body) for o in refusals
    ]
    made = {d["metadata"]["name"] for d in fake.objects("deployments", "default")}
    assert made == set(answers), "every accepted create was carried out"
    assert len(fake.objects("services", "default")) == IN_FLIGHT
    # `fnplane up` runs each child in a process group of its own.
    for group in (up, *parts):
        assert _processes_in_group(group) == [], f"left running after fnplane up: {group}"


def test_sigterm_to_serve_finishes_calls_in_flight_and_refuses_new_ones(
    slow_cluster: tuple[FakeKubeApiServer, Path],
) -> None:
    # The same, against the gRPC server alone, as `fnplane serve` runs it (app.serve stops
    # on SIGTERM with RunningServer.stop(grace)), in this process.
    fake, _ = slow_cluster
    backend = KubernetesBackend(fake.api_client(), timeout=5)
    running = app.start(ServerConfig(listen="127.0.0.1:0", metrics_port=0), backend=backend)
    outcomes: dict[str, str] = {}
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            functions = FunctionServiceStub(signed_in(channel))
            functions.ListFunctions(pb.ListFunctionsRequest(), timeout=10)

            def create(name: str) -> None:
                request = pb.CreateFunctionRequest(name=name, image="nginx:alpine")
                try:
                    functions.CreateFunction(request, timeout=10)
                    outcomes[name] = "OK"
                except grpc.RpcError as error:
                    outcomes[name] = f"{error.code().name}: {error.details()}"

            callers = [
                threading.Thread(target=create, args=(f"inflight-{i}",)) for i in range(IN_FLIGHT)
            ]
            for caller in callers:
                caller.start()
            wait_until(
                lambda: fake.request_count(verb="create", resource="deployments") == IN_FLIGHT
            )
            stopping = threading.Thread(target=running.stop, args=(5.0,))
            stopping.start()
            wait_until(lambda: _refuses(functions), what="a new call to be refused")
            for caller in callers:
                caller.join(timeout=30)
            stopping.join(timeout=30)
    finally:
        running.stop(grace=1)
        backend.close()

    assert outcomes == {f"inflight-{i}": "OK" for i in range(IN_FLIGHT)}, outcomes


def _refuses(functions: FunctionServiceStub) -> bool:
    try:
        functions.ListFunctions(pb.ListFunctionsRequest(), timeout=5)
    except grpc.RpcError as error:
        assert error.code() is grpc.StatusCode.UNAVAILABLE, error
        return True
    return False
