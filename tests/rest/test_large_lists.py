"""A List far larger than Envoy's default buffers still reaches a REST user whole."""

from __future__ import annotations

from pathlib import Path

import grpc

from fnplane.v1 import functions_pb2 as pb
from fnplane.v1.functions_pb2_grpc import FunctionServiceStub
from tests.support.stack import running_stack
from tests.support.tokens import signed_in

FUNCTIONS = 300
ENV = {f"VAR_{i}": "x" * 500 for i in range(10)}  # about 5 KB a function, 1.5 MB in all


def test_a_list_of_more_than_a_mebibyte_is_answered_whole(tmp_path: Path) -> None:
    with running_stack(tmp_path / "up.log") as stack:
        with grpc.insecure_channel(stack.grpc_target) as channel:
            functions = FunctionServiceStub(signed_in(channel))
            for i in range(FUNCTIONS):
                request = pb.CreateFunctionRequest(name=f"fn-{i:04}", image="nginx", env=ENV)
                functions.CreateFunction(request, timeout=10)

        reply = stack.call("GET", "/v1/functions", token=stack.token())

        assert reply.status == 200, reply.body[:200]
        assert len(reply.body) > 1024 * 1024
        listed = reply.json()
        assert [f["name"] for f in listed] == [f"fn-{i:04}" for i in range(FUNCTIONS)]
        assert all(f["env"] == ENV for f in listed)
