"""The blocking client against a real server: results, errors, deadlines and retries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest

from fnplane.client import (
    AlreadyExists,
    Confirmation,
    DeadlineExceeded,
    FnplaneError,
    Function,
    FunctionsClient,
    InvalidArgument,
    InvalidOption,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)
from fnplane.server import errors as server_errors
from fnplane.v1 import functions_pb2 as pb
from fnplane.v1 import functions_pb2_grpc
from tests.client.conftest import ScriptedBackend, StartServer
from tests.support.certificates import self_signed
from tests.support.tokens import TENANT_KEYS
from tests.support.waiting import free_port


def test_a_function_goes_through_create_get_update_list_and_delete(address: str) -> None:
    with FunctionsClient(address) as client:
        created = client.create(
            "hello", image="nginx:alpine", replicas=2, env={"GREETING": "hi"}, cpu_limit="500m"
        )
        assert created == Confirmation(name="hello", message="function created successfully")

        function = client.get("hello")
        assert isinstance(function, Function)
        assert (function.name, function.image, function.replicas) == ("hello", "nginx:alpine", 2)
        assert function.env == {"GREETING": "hi"}
        assert function.cpu_limit == "500m"
        assert function.status == "Running"
        assert function.ready_replicas == 2
        assert function.created_at.tzinfo is not None
        assert abs(datetime.now(UTC) - function.created_at) < timedelta(minutes=1)

        updated = client.update("hello", image="nginx:1.27", replicas=3)
        assert (updated.image, updated.replicas, updated.env) == (
            "nginx:1.27",
            3,
            {"GREETING": "hi"},
        )

        client.create("another", image="busybox")
        assert [f.name for f in client.list()] == ["another", "hello"]
        assert client.get("another").replicas == 1

        deleted = client.delete("hello")
        assert deleted == Confirmation(name="hello", message="function deleted successfully")
        assert [f.name for f in client.list()] == ["another"]


def test_results_cannot_be_changed(address: str) -> None:
    with FunctionsClient(address) as client:
        client.create("hello", image="nginx:alpine")
        function = client.get("hello")
        with pytest.raises(AttributeError):
            function.replicas = 5  # type: ignore[misc]


def test_update_changes_exactly_the_options_given(address: str) -> None:
    with FunctionsClient(address) as client:
        client.create(
            "hello", image="nginx:alpine", replicas=2, env={"A": "1"}, labels={"team": "x"}
        )

        stopped = client.update("hello", replicas=0)
        assert (stopped.replicas, stopped.status, stopped.image) == (0, "Stopped", "nginx:alpine")
        assert stopped.env == {"A": "1"}

        replaced = client.update("hello", env={"B": "2"})
        assert replaced.env == {"B": "2"}
        assert replaced.labels == {"team": "x"}

        cleared = client.update("hello", env={}, labels={})
        assert (cleared.env, cleared.labels) == ({}, {})
        assert client.get("hello").env == {}


def test_missing_and_taken_names_raise_their_exceptions(address: str) -> None:
    with FunctionsClient(address) as client:
        with pytest.raises(NotFound) as missing:
            client.get("nope")
        assert missing.value.code == grpc.StatusCode.NOT_FOUND
        assert "nope" in missing.value.message

        with pytest.raises(NotFound):
            client.update("nope", replicas=1)
        with pytest.raises(NotFound):
            client.delete("nope")

        client.create("hello", image="nginx:alpine")
        with pytest.raises(AlreadyExists) as taken:
            client.create("hello", image="busybox")
        assert taken.value.code == grpc.StatusCode.ALREADY_EXISTS
        assert client.get("hello").image == "nginx:alpine"


def test_invalid_input_names_every_field_at_fault(address: str) -> None:
    with FunctionsClient(address) as client:
        with pytest.raises(InvalidArgument) as refused:
            client.create("Bad_Name", image="has space", replicas=500, env={"1X": "v"})

        error = refused.value
        assert error.code == grpc.StatusCode.INVALID_ARGUMENT
        assert isinstance(error, FnplaneError)
        fields = {v.field for v in error.violations}
        assert {"name", "image", "replicas"} <= fields
        assert any(f.startswith("env") for f in fields)
        assert all(v.description for v in error.violations)
        assert "name" in error.message
        assert client.list() == []


def test_an_unknown_api_key_is_unauthenticated(keyed_address: str) -> None:
    with FunctionsClient(keyed_address, api_key="not-a-key") as client:
        with pytest.raises(Unauthenticated) as refused:
            client.list()
        assert refused.value.code == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(Unauthenticated):
            client.token()


def test_an_api_key_reaches_its_own_namespace_only(keyed_address: str) -> None:
    with (
        FunctionsClient(keyed_address, api_key=TENANT_KEYS["team-a"]) as team_a,
        FunctionsClient(keyed_address, api_key=TENANT_KEYS["team-b"]) as team_b,
    ):
        assert team_a.token().namespace == "team-a"
        team_a.create("hello", image="nginx:alpine")

        assert [f.name for f in team_a.list()] == ["hello"]
        assert team_b.list() == []
        with pytest.raises(NotFound):
            team_b.get("hello")


def test_a_refusal_by_the_backend_is_permission_denied(
    scripted: tuple[str, ScriptedBackend],
) -> None:
    address, backend = scripted
    backend.fail_next("create", server_errors.PermissionDenied("the cluster forbids it"))
    with FunctionsClient(address) as client, pytest.raises(PermissionDenied) as refused:
        client.create("hello", image="nginx:alpine")
    assert refused.value.code == grpc.StatusCode.PERMISSION_DENIED
    assert refused.value.message == "the cluster forbids it"


def test_calls_carry_a_token_the_server_checks(address: str) -> None:
    # Without the client's token the server refuses the same call.
    with grpc.insecure_channel(address) as channel:
        with pytest.raises(grpc.RpcError) as bare:
            functions_pb2_grpc.FunctionServiceStub(channel).ListFunctions(
                pb.ListFunctionsRequest(), timeout=5
            )
        assert bare.value.code() == grpc.StatusCode.UNAUTHENTICATED

    with FunctionsClient(address) as client:
        assert client.list() == []
        token = client.token()
        assert token.namespace == "default"
        assert token.expires_in > 0
        assert token.expires_at > datetime.now(UTC)
        assert token.token not in repr(token)


def test_safe_calls_are_retried_when_unavailable(scripted: tuple[str, ScriptedBackend]) -> None:
    address, backend = scripted
    backend.fail_next("list", *[server_errors.Unavailable("cluster unreachable")] * 2)
    backend.fail_next("get", *[server_errors.Unavailable("cluster unreachable")] * 2)
    with FunctionsClient(address) as client:
        assert client.list() == []
        assert backend.calls["list"] == 3

        client.create("hello", image="nginx:alpine")
        assert client.get("hello").name == "hello"
        assert backend.calls["get"] == 3


def test_retries_give_up_after_a_few_attempts(scripted: tuple[str, ScriptedBackend]) -> None:
    address, backend = scripted
    backend.fail_next("list", *[server_errors.Unavailable("cluster unreachable")] * 10)
    with FunctionsClient(address) as client, pytest.raises(Unavailable) as failed:
        client.list()
    assert failed.value.message == "cluster unreachable"
    assert backend.calls["list"] == 4


@pytest.mark.parametrize("method", ["create", "update", "delete"])
def test_calls_that_change_something_are_never_retried(
    scripted: tuple[str, ScriptedBackend], method: str
) -> None:
    address, backend = scripted
    with FunctionsClient(address) as client:
        client.create("hello", image="nginx:alpine")
        backend.calls.clear()
        backend.fail_next(method, server_errors.Unavailable("cluster unreachable"))

        with pytest.raises(Unavailable):
            if method == "create":
                client.create("second", image="nginx:alpine")
            elif method == "update":
                client.update("hello", replicas=2)
            else:
                client.delete("hello")
        assert backend.calls[method] == 1


def test_each_call_has_a_deadline_which_a_call_may_override(
    scripted: tuple[str, ScriptedBackend],
) -> None:
    address, backend = scripted
    with FunctionsClient(address, timeout=0.3) as client:
        client.create("hello", image="nginx:alpine")
        backend.stalled.set()

        with pytest.raises(DeadlineExceeded) as late:
            client.get("hello")
        assert late.value.code == grpc.StatusCode.DEADLINE_EXCEEDED

        with pytest.raises(DeadlineExceeded):
            client.get("hello", timeout=0.1)

        backend.stalled.clear()
        backend.release()
        assert client.get("hello", timeout=10).name == "hello"


def test_an_address_nothing_listens_on_is_unavailable() -> None:
    with FunctionsClient(f"127.0.0.1:{free_port()}", timeout=5) as client:
        with pytest.raises(Unavailable) as down:
            client.list()
        assert down.value.code == grpc.StatusCode.UNAVAILABLE
        with pytest.raises(Unavailable):
            client.create("hello", image="nginx:alpine")


def test_leaving_the_block_closes_the_channel(address: str) -> None:
    with FunctionsClient(address) as client:
        assert client.list() == []
    with pytest.raises(ValueError, match="closed channel"):
        client.list()


def test_tls_channels_check_the_server_certificate(
    start_server: StartServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    certificate = self_signed(tmp_path_factory.mktemp("tls"))
    running = start_server(tls_cert=str(certificate.cert_path), tls_key=str(certificate.key_path))
    address = f"127.0.0.1:{running.port}"

    with FunctionsClient(address, tls=True, root_certificates=certificate.pem) as client:
        client.create("hello", image="nginx:alpine")
        assert [f.name for f in client.list()] == ["hello"]

    named = f"localhost:{running.port}"
    with FunctionsClient(
        named, tls=True, root_certificates=certificate.pem, server_name="localhost"
    ) as client:
        assert client.get("hello").name == "hello"

    # Not trusting the certificate, or not speaking TLS at all, reaches nothing.
    with FunctionsClient(address, tls=True, timeout=3) as untrusting, pytest.raises(Unavailable):
        untrusting.list()
    with FunctionsClient(address, timeout=3) as plain, pytest.raises(Unavailable):
        plain.list()


@pytest.mark.parametrize(
    ("server", "timeout", "complaint"),
    [("", 5.0, "not HOST:PORT"), ("a host:80", 5.0, "not HOST:PORT"), ("x:1", 0, "timeout")],
)
def test_options_that_cannot_work_are_refused_at_once(
    server: str, timeout: float, complaint: str
) -> None:
    with pytest.raises(InvalidOption, match=complaint):
        FunctionsClient(server, timeout=timeout)
