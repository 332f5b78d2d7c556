"""Getting a token: open mode for anyone, credentialed mode only for a configured API key."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import grpc
import jwt
import pytest

from fnplane.server import app
from fnplane.server.auth_keys import hashed
from fnplane.server.config import ServerConfig
from fnplane.server.demo import DemoBackend
from fnplane.v1 import auth_pb2, auth_pb2_grpc
from fnplane.v1 import functions_pb2 as pb
from fnplane.v1.functions_pb2_grpc import FunctionServiceStub
from tests.auth.conftest import credentialed_config
from tests.grpc_errors import details
from tests.support.tokens import TENANT_KEYS, TENANT_SECRET, with_token


def issue(channel: grpc.Channel, api_key: str = "") -> auth_pb2.IssueTokenResponse:
    return auth_pb2_grpc.AuthServiceStub(channel).IssueToken(
        auth_pb2.IssueTokenRequest(api_key=api_key), timeout=10
    )


def refused_issue(channel: grpc.Channel, api_key: str) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as refused:
        issue(channel, api_key)
    return refused.value


def test_open_mode_gives_anyone_a_token_for_default(channel: grpc.Channel) -> None:
    before = int(time.time())
    reply = issue(channel)

    assert reply.namespace == "default"
    assert reply.expires_in == 3600
    assert before + 3600 <= reply.expires_at.seconds <= int(time.time()) + 3600
    claims = jwt.decode(reply.token, options={"verify_signature": False})
    assert claims["namespace"] == "default"
    assert claims["exp"] == reply.expires_at.seconds
    assert {"sub", "iat", "nbf", "jti"} <= claims.keys()
    assert jwt.get_unverified_header(reply.token)["alg"] == "HS256"


def test_each_token_has_its_own_id(channel: grpc.Channel) -> None:
    first, second = issue(channel).token, issue(channel).token

    ids = {jwt.decode(t, options={"verify_signature": False})["jti"] for t in (first, second)}

    assert len(ids) == 2


def test_open_mode_warns_at_start_that_anyone_gets_a_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    running = app.start(ServerConfig(listen="127.0.0.1:0"), backend=DemoBackend())
    running.stop(grace=0)

    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("open mode" in w and "anyone" in w for w in warnings)
    assert any("made at random" in r.getMessage() for r in caplog.records)


def test_a_token_from_open_mode_works_for_functions(channel: grpc.Channel) -> None:
    functions = FunctionServiceStub(with_token(channel, issue(channel).token))

    functions.CreateFunction(pb.CreateFunctionRequest(name="my-app", image="nginx:alpine"))

    assert [f.name for f in functions.ListFunctions(pb.ListFunctionsRequest()).functions] == [
        "my-app"
    ]


def test_an_api_key_gets_a_token_for_its_namespace(secured: grpc.Channel) -> None:
    reply = issue(secured, TENANT_KEYS["team-b"])

    assert reply.namespace == "team-b"
    claims = jwt.decode(reply.token, TENANT_SECRET, algorithms=["HS256"])
    assert claims["namespace"] == "team-b"
    assert claims["sub"].startswith("key-")


@pytest.mark.parametrize(
    ("api_key", "reason"),
    [("", "api_key: required"), ("not-a-key", "api_key: not a key this server knows")],
    ids=["missing", "wrong"],
)
def test_credentialed_mode_refuses_a_missing_or_wrong_key(
    secured: grpc.Channel, api_key: str, reason: str
) -> None:
    error = refused_issue(secured, api_key)

    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert reason in details(error)


def test_a_key_differing_in_its_last_character_is_refused(secured: grpc.Channel) -> None:
    almost = TENANT_KEYS["team-a"][:-1] + "X"

    assert refused_issue(secured, almost).code() == grpc.StatusCode.UNAUTHENTICATED


def test_keys_may_be_stored_hashed_in_a_file(tmp_path: Path) -> None:
    key_file = tmp_path / "keys"
    key_file.write_text(
        "# who may use fnplane\n"
        f"{hashed('key-held-by-team-c-only-abcdef')}=team-c\n"
        "plain-key-of-team-d-0123456789=team-d  # a plain key works too\n"
    )
    config = credentialed_config(api_keys="", api_keys_file=str(key_file))
    running = app.start(config, backend=DemoBackend())
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            assert issue(channel, "key-held-by-team-c-only-abcdef").namespace == "team-c"
            assert issue(channel, "plain-key-of-team-d-0123456789").namespace == "team-d"
            error = refused_issue(channel, hashed("key-held-by-team-c-only-abcdef"))
            assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        running.stop(grace=0)


def test_token_lifetime_is_configurable() -> None:
    running = app.start(credentialed_config(token_lifetime_seconds=120), backend=DemoBackend())
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            reply = issue(channel, TENANT_KEYS["team-a"])
    finally:
        running.stop(grace=0)

    claims = jwt.decode(reply.token, TENANT_SECRET, algorithms=["HS256"])
    assert reply.expires_in == 120
    assert claims["exp"] - claims["iat"] == 120


def test_open_mode_tokens_die_with_the_server_unless_a_secret_is_set() -> None:
    def token_then_restart(config: ServerConfig) -> grpc.RpcError | None:
        first = app.start(config, backend=DemoBackend())
        with grpc.insecure_channel(f"127.0.0.1:{first.port}") as channel:
            token = issue(channel).token
        first.stop(grace=0)

        second = app.start(config, backend=DemoBackend())
        try:
            with grpc.insecure_channel(f"127.0.0.1:{second.port}") as channel:
                FunctionServiceStub(with_token(channel, token)).ListFunctions(
                    pb.ListFunctionsRequest(), timeout=10
                )
        except grpc.RpcError as error:
            return error
        finally:
            second.stop(grace=0)
        return None

    refused = token_then_restart(ServerConfig(listen="127.0.0.1:0"))
    assert refused is not None
    assert refused.code() == grpc.StatusCode.UNAUTHENTICATED
    assert (
        token_then_restart(ServerConfig(listen="127.0.0.1:0", token_secret=TENANT_SECRET)) is None
    )
