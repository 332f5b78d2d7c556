"""Tenants: each token's namespace is a world of its own, and only allowed namespaces exist."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest

from fnplane.v1 import functions_pb2 as pb
from fnplane.v1.functions_pb2_grpc import FunctionServiceStub
from tests.auth.forgeries import mint
from tests.grpc_errors import details

StubFor = Callable[[str], FunctionServiceStub]


def create(functions: FunctionServiceStub, name: str, image: str = "nginx:alpine") -> None:
    functions.CreateFunction(pb.CreateFunctionRequest(name=name, image=image), timeout=10)


def names(functions: FunctionServiceStub) -> list[str]:
    return [
        f.name for f in functions.ListFunctions(pb.ListFunctionsRequest(), timeout=10).functions
    ]


def code_of(call: Callable[[], object]) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as failed:
        call()
    return failed.value.code()


def test_one_tenant_cannot_see_or_touch_another_tenants_function(functions_as: StubFor) -> None:
    team_a, team_b = functions_as("team-a"), functions_as("team-b")
    create(team_a, "billing")

    assert names(team_b) == []
    assert code_of(lambda: team_b.GetFunction(pb.GetFunctionRequest(name="billing"))) == (
        grpc.StatusCode.NOT_FOUND
    )
    assert (
        code_of(
            lambda: team_b.UpdateFunction(pb.UpdateFunctionRequest(name="billing", replicas=3))
        )
        == grpc.StatusCode.NOT_FOUND
    )
    assert (
        code_of(lambda: team_b.DeleteFunction(pb.DeleteFunctionRequest(name="billing")))
        == grpc.StatusCode.NOT_FOUND
    )

    function = team_a.GetFunction(pb.GetFunctionRequest(name="billing"))
    assert function.replicas == 1
    assert names(team_a) == ["billing"]


def test_the_same_name_lives_in_two_namespaces_apart(functions_as: StubFor) -> None:
    team_a, team_b = functions_as("team-a"), functions_as("team-b")
    create(team_a, "web", image="nginx:alpine")
    create(team_b, "web", image="httpd:2")

    team_b.DeleteFunction(pb.DeleteFunctionRequest(name="web"))

    assert team_a.GetFunction(pb.GetFunctionRequest(name="web")).image == "nginx:alpine"
    assert names(team_b) == []


@pytest.mark.parametrize("namespace", ["kube-system", "team-c"])
def test_a_token_for_a_namespace_not_allowed_is_permission_denied(
    secured: grpc.Channel, namespace: str
) -> None:
    # Signed with the server's own secret, as a leaked secret or another issuer would do.
    token = mint(namespace=namespace)

    with pytest.raises(grpc.RpcError) as refused:
        FunctionServiceStub(secured).ListFunctions(
            pb.ListFunctionsRequest(), metadata=(("authorization", f"Bearer {token}"),)
        )

    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert f"namespace '{namespace}' is not among the namespaces" in details(refused.value)
