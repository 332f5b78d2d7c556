"""`fnplane serve`'s log lines: a time and a level on each, JSON objects in json mode, and the
request id of the call a line is about."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from fnplane.v1 import functions_pb2 as pb
from fnplane.v1 import functions_pb2_grpc
from tests.support.processes import Child, fnplane_argv
from tests.support.tokens import signed_in
from tests.support.waiting import free_port, port_answers, wait_until


@pytest.fixture(params=["json", "text"])
def serving(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Child, int]]:
    """`fnplane serve` with the demo backend, logging in the format of the parameter."""
    port = free_port()
    argv = fnplane_argv(
        "serve",
        f"--listen=127.0.0.1:{port}",
        "--backend=demo",
        "--metrics-port=0",
        f"--log-format={request.param}",
    )
    with Child(argv, log=tmp_path / "serve.log") as child:
        wait_until(lambda: port_answers(port) or not child.alive(), timeout=30, what="serve")
        assert child.alive(), child.output()
        yield child, port


def _call_with_request_id(port: int, request_id: str) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = functions_pb2_grpc.FunctionServiceStub(signed_in(channel))
        with pytest.raises(grpc.RpcError):
            stub.GetFunction(
                pb.GetFunctionRequest(name="ghost"), metadata=(("x-request-id", request_id),)
            )


def test_each_line_has_a_time_a_level_and_the_calls_request_id(
    serving: tuple[Child, int],
) -> None:
    child, port = serving
    json_mode = "--log-format=json" in child.argv
    _call_with_request_id(port, "req-42.a")

    wait_until(lambda: "req-42.a" in child.output(), timeout=10, what="the access line")
    lines = [line for line in child.output().splitlines() if line]
    assert len(lines) >= 3
    if json_mode:
        entries = [json.loads(line) for line in lines]
        for entry in entries:
            assert entry["time"] and entry["level"] in {"INFO", "WARNING", "ERROR", "DEBUG"}
        (access,) = [e for e in entries if e.get("request_id") == "req-42.a"]
        assert access["code"] == "NOT_FOUND" and access["function"] == "ghost"
    else:
        for line in lines:
            time, level = line.split(" ")[:2]
            assert time[:2] == "20" and "T" in time
            assert level in {"INFO", "WARNING", "ERROR", "DEBUG"}
        (access,) = [line for line in lines if "request_id=req-42.a" in line]
        assert "GetFunction NOT_FOUND" in access


def test_a_request_id_that_could_forge_log_lines_is_replaced(
    serving: tuple[Child, int],
) -> None:
    child, port = serving
    _call_with_request_id(port, "evil id level=ERROR")
    wait_until(lambda: "GetFunction" in child.output(), timeout=10, what="the access line")
    assert "evil" not in child.output()


def test_calls_without_a_request_id_get_one_each(serving: tuple[Child, int]) -> None:
    child, port = serving
    json_mode = "--log-format=json" in child.argv
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = functions_pb2_grpc.FunctionServiceStub(signed_in(channel))
        for _ in range(3):
            with pytest.raises(grpc.RpcError):
                stub.GetFunction(pb.GetFunctionRequest(name="ghost"))

    def access_ids() -> list[str]:
        lines = [line for line in child.output().splitlines() if "fnplane.access" in line]
        if json_mode:
            return [json.loads(line).get("request_id", "") for line in lines]
        return [line.partition(" request_id=")[2] for line in lines]

    wait_until(lambda: len(access_ids()) >= 3, timeout=10, what="three access lines")
    ids = access_ids()
    assert all(ids) and len(set(ids)) == len(ids)
