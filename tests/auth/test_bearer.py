"""The bearer check over gRPC: which calls need a token, and every way a token is refused."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import message_factory
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from fnplane.v1 import auth_pb2, auth_pb2_grpc, functions_pb2
from fnplane.v1 import functions_pb2 as pb
from fnplane.v1.functions_pb2_grpc import FunctionServiceStub
from tests.auth.forgeries import REFUSED
from tests.grpc_errors import details
from tests.support.tokens import TENANT_KEYS, issue_token

FUNCTION_METHODS = functions_pb2.DESCRIPTOR.services_by_name["FunctionService"].methods


def list_with(channel: grpc.Channel, authorization: str | None) -> grpc.RpcError:
    """Calls ListFunctions with `authorization` as the header (None: no header) and answers
    the error it ends with."""
    metadata = () if authorization is None else (("authorization", authorization),)
    with pytest.raises(grpc.RpcError) as refused:
        FunctionServiceStub(channel).ListFunctions(
            pb.ListFunctionsRequest(), metadata=metadata, timeout=10
        )
    return refused.value


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_bad_authorization_is_unauthenticated_saying_which(
    secured: grpc.Channel, case: str
) -> None:
    make, reason = REFUSED[case]
    authorization = make()

    error = list_with(secured, authorization)

    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert reason in details(error)
    if authorization and " " in authorization:
        assert authorization.split(" ", 1)[1] not in details(error)


def test_a_good_token_serves_the_call(secured: grpc.Channel) -> None:
    token = issue_token(secured, TENANT_KEYS["team-a"])

    reply = FunctionServiceStub(secured).ListFunctions(
        pb.ListFunctionsRequest(), metadata=(("authorization", f"Bearer {token}"),), timeout=10
    )

    assert list(reply.functions) == []


def test_the_scheme_is_case_insensitive(secured: grpc.Channel) -> None:
    token = issue_token(secured, TENANT_KEYS["team-a"])

    reply = FunctionServiceStub(secured).ListFunctions(
        pb.ListFunctionsRequest(), metadata=(("authorization", f"bearer {token}"),), timeout=10
    )

    assert list(reply.functions) == []


@pytest.mark.parametrize("method", [m.name for m in FUNCTION_METHODS])
def test_every_function_method_needs_a_token(secured: grpc.Channel, method: str) -> None:
    descriptor = functions_pb2.DESCRIPTOR.services_by_name["FunctionService"]
    rpc = descriptor.methods_by_name[method]
    request = message_factory.GetMessageClass(rpc.input_type)

    with pytest.raises(grpc.RpcError) as refused:
        answer = getattr(FunctionServiceStub(secured), method)(request(), timeout=10)
        if rpc.server_streaming:
            list(answer)

    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_health_reflection_and_token_issuing_need_no_token(secured: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(secured).Check(health_pb2.HealthCheckRequest())
    assert health.status == health_pb2.HealthCheckResponse.SERVING

    reflection = reflection_pb2_grpc.ServerReflectionStub(secured)
    answers = reflection.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10
    )
    services = {s.name for a in answers for s in a.list_services_response.service}
    assert "fnplane.v1.FunctionService" in services
    assert "fnplane.v1.AuthService" in services

    issued = auth_pb2_grpc.AuthServiceStub(secured).IssueToken(
        auth_pb2.IssueTokenRequest(api_key=TENANT_KEYS["team-b"]), timeout=10
    )
    assert issued.namespace == "team-b"
