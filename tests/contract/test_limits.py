"""Limits that protect the server: the per-namespace quota and the largest request."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from fnplane.server import app
from fnplane.server.config import ServerConfig
from fnplane.server.validation import Limits
from fnplane.v1 import functions_pb2 as pb
from fnplane.v1.functions_pb2_grpc import FunctionServiceStub
from tests.backends import BACKENDS
from tests.grpc_errors import details, failure
from tests.support.tokens import signed_in


@pytest.fixture(params=sorted(BACKENDS))
def small_server(request: pytest.FixtureRequest) -> Iterator[FunctionServiceStub]:
    """A server allowing 3 functions a namespace and requests of at most 64 KiB."""
    config = ServerConfig(listen="127.0.0.1:0", max_functions=3, max_request_bytes=64 * 1024)
    limits = Limits(max_replicas=config.max_replicas, max_functions=config.max_functions)
    with BACKENDS[request.param](limits) as backend:
        running = app.start(config, backend=backend)
        try:
            with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
                yield FunctionServiceStub(signed_in(channel))
        finally:
            running.stop(grace=1)


def test_create_past_the_quota_is_resource_exhausted_and_creates_nothing(
    small_server: FunctionServiceStub,
) -> None:
    for name in ("a", "b", "c"):
        small_server.CreateFunction(pb.CreateFunctionRequest(name=name, image="nginx"))

    error = failure(
        lambda: small_server.CreateFunction(pb.CreateFunctionRequest(name="d", image="nginx"))
    )

    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "delete one" in details(error)
    listed = small_server.ListFunctions(pb.ListFunctionsRequest()).functions
    assert [f.name for f in listed] == ["a", "b", "c"]


def test_a_deleted_function_frees_its_place_in_the_quota(
    small_server: FunctionServiceStub,
) -> None:
    for name in ("a", "b", "c"):
        small_server.CreateFunction(pb.CreateFunctionRequest(name=name, image="nginx"))
    small_server.DeleteFunction(pb.DeleteFunctionRequest(name="a"))

    small_server.CreateFunction(pb.CreateFunctionRequest(name="d", image="nginx"))

    listed = small_server.ListFunctions(pb.ListFunctionsRequest()).functions
    assert [f.name for f in listed] == ["b", "c", "d"]


def test_a_request_over_the_size_limit_is_refused_and_creates_nothing(
    small_server: FunctionServiceStub,
) -> None:
    huge = {f"K{i}": "x" * 1024 for i in range(80)}

    error = failure(
        lambda: small_server.CreateFunction(
            pb.CreateFunctionRequest(name="big", image="nginx", env=huge)
        )
    )

    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in details(error)
    assert list(small_server.ListFunctions(pb.ListFunctionsRequest()).functions) == []
