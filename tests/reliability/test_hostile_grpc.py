"""Hostile and broken input over gRPC: only client-error codes, and refusals change nothing.

Hypothesis throws arbitrary unicode, control characters, huge strings, extreme numbers and
large maps at every RPC's request fields. Whatever it sends, the answer is OK or a code that
blames the request, always with a message, never INTERNAL or UNKNOWN.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fnplane.server import app
from fnplane.server.config import ServerConfig
from fnplane.server.validation import Limits
from fnplane.v1 import functions_pb2 as pb
from fnplane.v1.functions_pb2_grpc import FunctionServiceStub
from tests.backends import BACKENDS
from tests.grpc_errors import details
from tests.support.tokens import signed_in

CLIENT_ERRORS = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}
EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Names: mostly anything, sometimes a valid one so updates and deletes reach real functions.
names = st.one_of(
    st.text(max_size=80),
    st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]", fullmatch=True),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=60, max_size=5000),
)
images = st.one_of(
    st.text(max_size=600),
    st.sampled_from(["nginx:alpine", "redis", "ghcr.io/a/b:v1"]),
    st.text(alphabet="\x00\x07\n\r\t \u202e\ufeff", max_size=20),
)
replicas = st.one_of(st.none(), st.integers(min_value=-(2**31), max_value=2**31 - 1))
maps = st.dictionaries(st.text(max_size=40), st.text(max_size=200), max_size=120)
quantities = st.one_of(st.text(max_size=30), st.sampled_from(["", "1", "250m", "1e400", "-1Ki"]))


@pytest.fixture(scope="module", params=sorted(BACKENDS))
def channel(request: pytest.FixtureRequest) -> Iterator[grpc.Channel]:
    """One server per backend for all examples (Hypothesis makes many calls per test), and a
    channel to it that carries a token."""
    config = ServerConfig(listen="127.0.0.1:0", max_functions=50)
    with BACKENDS[request.param](Limits(max_functions=50)) as backend:
        running = app.start(config, backend=backend)
        try:
            with grpc.insecure_channel(f"127.0.0.1:{running.port}") as plain:
                yield signed_in(plain)
        finally:
            running.stop(grace=1)


@pytest.fixture(scope="module")
def functions(channel: grpc.Channel) -> FunctionServiceStub:
    return FunctionServiceStub(channel)


def snapshot(functions: FunctionServiceStub) -> list[bytes]:
    listed = functions.ListFunctions(pb.ListFunctionsRequest(), timeout=10).functions
    return [f.SerializeToString(deterministic=True) for f in listed]


def answer(call: Callable[[], object]) -> grpc.StatusCode:
    """Runs a call and answers its code, checking that a failure blames the request."""
    try:
        call()
    except grpc.RpcError as error:
        code = error.code()
        assert code in CLIENT_ERRORS, f"{code}: {error.details()}"
        assert error.details(), "a refusal carries a message"
        return code
    return grpc.StatusCode.OK


@EXAMPLES
@given(
    name=names,
    image=images,
    replica_count=replicas,
    env=maps,
    labels=maps,
    cpu=quantities,
    memory=quantities,
)
def test_create_with_any_fields(
    functions: FunctionServiceStub,
    name: str,
    image: str,
    replica_count: int | None,
    env: dict[str, str],
    labels: dict[str, str],
    cpu: str,
    memory: str,
) -> None:
    before = snapshot(functions)
    request = pb.CreateFunctionRequest(
        name=name,
        image=image,
        env=env,
        labels=labels,
        annotations=labels,
        cpu_request=cpu,
        memory_limit=memory,
    )
    if replica_count is not None:
        request.replicas = replica_count

    code = answer(lambda: functions.CreateFunction(request, timeout=10))

    if code == grpc.StatusCode.OK:
        functions.DeleteFunction(pb.DeleteFunctionRequest(name=name), timeout=10)
    assert snapshot(functions) == before


@EXAMPLES
@given(
    name=names,
    image=st.one_of(st.none(), images),
    replica_count=replicas,
    env=maps,
    paths=st.lists(st.text(max_size=20), max_size=4),
)
def test_update_with_any_fields(
    functions: FunctionServiceStub,
    name: str,
    image: str | None,
    replica_count: int | None,
    env: dict[str, str],
    paths: list[str],
) -> None:
    functions.CreateFunction(pb.CreateFunctionRequest(name="target", image="nginx"), timeout=10)
    try:
        before = snapshot(functions)
        request = pb.UpdateFunctionRequest(name=name, env=env, update_mask=FieldMask(paths=paths))
        if image is not None:
            request.image = image
        if replica_count is not None:
            request.replicas = replica_count

        code = answer(lambda: functions.UpdateFunction(request, timeout=10))

        if code != grpc.StatusCode.OK:
            assert snapshot(functions) == before
    finally:
        functions.DeleteFunction(pb.DeleteFunctionRequest(name="target"), timeout=10)


@EXAMPLES
@given(name=names)
def test_get_and_delete_with_any_name(functions: FunctionServiceStub, name: str) -> None:
    before = snapshot(functions)

    answer(lambda: functions.GetFunction(pb.GetFunctionRequest(name=name), timeout=10))
    answer(lambda: functions.DeleteFunction(pb.DeleteFunctionRequest(name=name), timeout=10))

    assert snapshot(functions) == before


def test_thousands_of_env_entries_are_refused_and_change_nothing(
    functions: FunctionServiceStub,
) -> None:
    env = {f"VAR_{i}": str(i) for i in range(5000)}

    code = answer(
        lambda: functions.CreateFunction(
            pb.CreateFunctionRequest(name="many", image="nginx", env=env), timeout=10
        )
    )

    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert snapshot(functions) == []


@pytest.mark.parametrize(
    "raw",
    [
        b"\x0a\x02\xff\xfe\x12\x05nginx",  # name holds invalid UTF-8
        b"\xff\xff\xff\xff",  # not protobuf at all
        b"\x0a\xff\xff\xff\xff\x0f",  # a length far past the end
    ],
    ids=["invalid utf-8", "garbage", "truncated"],
)
def test_undecodable_bytes_are_invalid_argument(
    channel: grpc.Channel, functions: FunctionServiceStub, raw: bytes
) -> None:
    # No serializers: the bytes go out as they are, and the answer comes back as bytes.
    create = channel.unary_unary(
        "/fnplane.v1.FunctionService/CreateFunction",
        request_serializer=None,
        response_deserializer=None,
    )

    with pytest.raises(grpc.RpcError) as refused:
        create(raw, timeout=10)

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid message" in details(refused.value)
    assert snapshot(functions) == []
