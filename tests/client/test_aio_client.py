"""The asyncio client against a real server: the same methods, results and exceptions as
the blocking one."""

from __future__ import annotations

import asyncio
import inspect
import logging

import grpc
import pytest

from fnplane.client import (
    AlreadyExists,
    AsyncFunctionsClient,
    Confirmation,
    DeadlineExceeded,
    Function,
    FunctionsClient,
    InvalidArgument,
    NotFound,
    Unauthenticated,
    Unavailable,
)
from fnplane.server import errors as server_errors
from tests.client.conftest import (
    FakeClock,
    ScriptedBackend,
    StartServer,
    credentialed,
    tokens_issued,
)
from tests.support.certificates import self_signed
from tests.support.tokens import TENANT_KEYS
from tests.support.waiting import free_port

PUBLIC_METHODS = ("create", "list", "get", "update", "delete", "token", "close")


def test_both_clients_have_the_same_methods_and_options() -> None:
    for method in PUBLIC_METHODS:
        blocking = inspect.signature(getattr(FunctionsClient, method))
        asynchronous = inspect.signature(getattr(AsyncFunctionsClient, method))
        assert blocking.parameters.keys() == asynchronous.parameters.keys(), method
        assert inspect.iscoroutinefunction(getattr(AsyncFunctionsClient, method)), method
    assert (
        inspect.signature(FunctionsClient).parameters.keys()
        == inspect.signature(AsyncFunctionsClient).parameters.keys()
    )


def test_a_function_goes_through_its_life(address: str) -> None:
    async def scenario() -> None:
        async with AsyncFunctionsClient(address) as client:
            created = await client.create("hello", image="nginx:alpine", env={"A": "1"})
            assert created == Confirmation(name="hello", message="function created successfully")

            function = await client.get("hello")
            assert isinstance(function, Function)
            assert (function.replicas, function.env, function.status) == (1, {"A": "1"}, "Running")

            updated = await client.update("hello", replicas=0, env={})
            assert (updated.replicas, updated.env, updated.status) == (0, {}, "Stopped")

            listed = await asyncio.gather(client.list(), client.list())
            assert [[f.name for f in found] for found in listed] == [["hello"], ["hello"]]

            deleted = await client.delete("hello")
            assert deleted.name == "hello"
            assert await client.list() == []
            assert (await client.token()).namespace == "default"

    asyncio.run(scenario())


def test_failures_raise_the_same_exceptions(address: str) -> None:
    async def scenario() -> None:
        async with AsyncFunctionsClient(address) as client:
            with pytest.raises(NotFound) as missing:
                await client.get("nope")
            assert missing.value.code == grpc.StatusCode.NOT_FOUND

            await client.create("hello", image="nginx:alpine")
            with pytest.raises(AlreadyExists):
                await client.create("hello", image="nginx:alpine")

            with pytest.raises(InvalidArgument) as refused:
                await client.update("hello", image="has space", replicas=-1)
            assert {v.field for v in refused.value.violations} == {"image", "replicas"}

    asyncio.run(scenario())


def test_an_unknown_api_key_is_unauthenticated(keyed_address: str) -> None:
    async def scenario() -> None:
        async with AsyncFunctionsClient(keyed_address, api_key="not-a-key") as client:
            with pytest.raises(Unauthenticated):
                await client.list()

    asyncio.run(scenario())


def test_safe_calls_are_retried_and_deadlines_hold(scripted: tuple[str, ScriptedBackend]) -> None:
    address, backend = scripted

    async def scenario() -> None:
        async with AsyncFunctionsClient(address, timeout=5) as client:
            backend.fail_next("list", *[server_errors.Unavailable("cluster unreachable")] * 2)
            assert await client.list() == []
            assert backend.calls["list"] == 3

            backend.fail_next("create", server_errors.Unavailable("cluster unreachable"))
            with pytest.raises(Unavailable):
                await client.create("hello", image="nginx:alpine")
            assert backend.calls["create"] == 1

            await client.create("hello", image="nginx:alpine")
            backend.stalled.set()
            with pytest.raises(DeadlineExceeded):
                await client.get("hello", timeout=0.3)
            backend.stalled.clear()
            backend.release()
            assert (await client.get("hello", timeout=10)).name == "hello"

    asyncio.run(scenario())


def test_the_token_is_replaced_before_it_expires(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="fnplane.auth")
    running = start_server(**credentialed(token_lifetime_seconds=60))
    clock = FakeClock()

    async def scenario() -> None:
        async with AsyncFunctionsClient(
            f"127.0.0.1:{running.port}", api_key=TENANT_KEYS["team-a"], clock=clock
        ) as client:
            await asyncio.gather(*(client.list() for _ in range(5)))
            assert tokens_issued(caplog) == 1

            clock.now += 60
            await asyncio.gather(*(client.list() for _ in range(5)))
            assert tokens_issued(caplog) == 2

    asyncio.run(scenario())


def test_an_address_nothing_listens_on_is_unavailable() -> None:
    async def scenario() -> None:
        async with AsyncFunctionsClient(f"127.0.0.1:{free_port()}") as client:
            with pytest.raises(Unavailable):
                await client.list()

    asyncio.run(scenario())


def test_a_refused_token_is_replaced_and_tls_works(
    start_server: StartServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    certificate = self_signed(tmp_path_factory.mktemp("tls"))
    tls = {"tls_cert": str(certificate.cert_path), "tls_key": str(certificate.key_path)}
    port = free_port()
    first_server = start_server(listen=f"127.0.0.1:{port}", **tls)

    async def scenario() -> None:
        async with AsyncFunctionsClient(
            f"127.0.0.1:{port}", tls=True, root_certificates=certificate.pem
        ) as client:
            await client.create("hello", image="nginx:alpine")
            held = await client.token()
            first_server.stop(grace=0)

            # The new server signs with a new random secret, so it refuses the token held.
            start_server(listen=f"127.0.0.1:{port}", **tls)
            for _ in range(50):
                try:
                    assert await client.list() == []
                    break
                except Unavailable:
                    await asyncio.sleep(0.1)
            assert (await client.token()).token != held.token

    asyncio.run(scenario())
