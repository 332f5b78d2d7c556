"""Native gRPC (HTTP/2, application/grpc) on Envoy's public port reaches the same server."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from fnplane.v1 import functions_pb2 as pb
from fnplane.v1 import functions_pb2_grpc
from tests.rest.conftest import Api
from tests.support.stack import Stack
from tests.support.tokens import signed_in

pytestmark = pytest.mark.envoy


@pytest.fixture
def through_envoy(stack: Stack) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(stack.grpc_target) as channel:
        grpc.channel_ready_future(channel).result(timeout=10)
        yield channel


def test_a_typed_client_works_through_the_rest_port(through_envoy: grpc.Channel, api: Api) -> None:
    functions = functions_pb2_grpc.FunctionServiceStub(signed_in(through_envoy))
    reply = functions.CreateFunction(
        pb.CreateFunctionRequest(name="typed", image="nginx:alpine", replicas=2), timeout=10
    )
    assert reply.message == "function created successfully"

    # The same server answers REST: what gRPC made, REST lists, and the other way round.
    assert [f["name"] for f in api("GET", "/v1/functions").json()] == ["typed"]
    api("POST", "/v1/functions", body={"name": "rest-made", "image": "nginx"})
    listed = functions.ListFunctions(pb.ListFunctionsRequest(), timeout=10)
    assert [f.name for f in listed.functions] == ["rest-made", "typed"]
    assert listed.functions[1].replicas == 2


def test_grpc_errors_stay_grpc_statuses(through_envoy: grpc.Channel, api: Api) -> None:
    functions = functions_pb2_grpc.FunctionServiceStub(signed_in(through_envoy))
    with pytest.raises(grpc.RpcError) as missing:
        functions.GetFunction(pb.GetFunctionRequest(name="ghost"), timeout=10)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert "ghost" in (missing.value.details() or "")

    anonymous = functions_pb2_grpc.FunctionServiceStub(through_envoy)
    with pytest.raises(grpc.RpcError) as refused:
        anonymous.ListFunctions(pb.ListFunctionsRequest(), timeout=10)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_health_checks_work_through_envoy(through_envoy: grpc.Channel) -> None:
    answer = health_pb2_grpc.HealthStub(through_envoy).Check(
        health_pb2.HealthCheckRequest(), timeout=10
    )
    assert answer.status == health_pb2.HealthCheckResponse.SERVING


def test_a_grpc_call_over_the_size_limit_is_refused(through_envoy: grpc.Channel, api: Api) -> None:
    functions = functions_pb2_grpc.FunctionServiceStub(signed_in(through_envoy))
    huge = pb.CreateFunctionRequest(name="huge", image="nginx", env={"B": "x" * 2 * 1024 * 1024})
    with pytest.raises(grpc.RpcError) as refused:
        functions.CreateFunction(huge, timeout=10)
    assert "Too Large" in (refused.value.details() or "")
    assert api("GET", "/v1/functions").json() == []
