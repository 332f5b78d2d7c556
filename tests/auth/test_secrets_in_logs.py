"""No token, API key or signing secret ever reaches a log line or an error message."""

from __future__ import annotations

import logging

import grpc
import pytest

from fnplane.server import app
from fnplane.server.demo import DemoBackend
from fnplane.v1 import functions_pb2 as pb
from fnplane.v1.functions_pb2_grpc import FunctionServiceStub
from tests.auth.conftest import credentialed_config
from tests.auth.forgeries import mint
from tests.grpc_errors import details
from tests.support.tokens import TENANT_KEYS, TENANT_SECRET, issue_token, with_token

WRONG_KEY = "wrong-key-someone-guessed-0123456789"


def test_logs_and_errors_hold_no_token_key_or_secret(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    running = app.start(credentialed_config(), backend=DemoBackend())
    sensitive = [TENANT_SECRET, WRONG_KEY, *TENANT_KEYS.values()]
    messages: list[str] = []

    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            token = issue_token(channel, TENANT_KEYS["team-a"])
            sensitive.append(token)
            functions = FunctionServiceStub(with_token(channel, token))
            functions.CreateFunction(pb.CreateFunctionRequest(name="app", image="nginx:alpine"))
            functions.ListFunctions(pb.ListFunctionsRequest())

            for key in (WRONG_KEY, ""):
                try:
                    issue_token(channel, key)
                except grpc.RpcError as error:
                    messages.append(details(error))

            forged = [
                mint("a-secret-the-server-does-not-know-at-all"),
                mint(exp=1_000, iat=500, nbf=500),
                mint(None, algorithm="none"),
                TENANT_KEYS["team-b"],
                WRONG_KEY,
            ]
            sensitive += forged
            for bad in forged:
                try:
                    FunctionServiceStub(with_token(channel, bad)).ListFunctions(
                        pb.ListFunctionsRequest()
                    )
                except grpc.RpcError as error:
                    messages.append(details(error))
    finally:
        running.stop(grace=1)

    assert len(messages) == 7, "every bad key and token was refused"
    logged = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert "token issued to key-" in logged, "the log does record what happened"
    assert "ListFunctions UNAUTHENTICATED" in logged
    # A token's parts (header, claims, signature) count too: none may leak on its own.
    pieces = {part for value in sensitive for part in value.split(".") if part}
    for piece in pieces:
        assert piece not in logged
        for message in messages:
            assert piece not in message
