"""The client's token: asked for by itself, replaced shortly before it expires, and replaced
at once when the server stops accepting it."""

from __future__ import annotations

import logging

import pytest

from fnplane.client import FunctionsClient
from fnplane.client.tokens import refresh_margin
from tests.client.conftest import FakeClock, StartServer, credentialed, tokens_issued
from tests.support.tokens import TENANT_KEYS
from tests.support.waiting import free_port, wait_until


def test_a_token_is_replaced_shortly_before_it_expires(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="fnplane.auth")
    lifetime = 60
    running = start_server(**credentialed(token_lifetime_seconds=lifetime))
    clock = FakeClock()
    with FunctionsClient(
        f"127.0.0.1:{running.port}", api_key=TENANT_KEYS["team-a"], clock=clock
    ) as client:
        client.create("hello", image="nginx:alpine")
        client.list()
        first = client.token()
        assert first.expires_in == lifetime
        assert tokens_issued(caplog) == 1

        replace_at = clock.now + lifetime - refresh_margin(lifetime)
        clock.now = replace_at - 0.5
        client.get("hello")
        assert client.token() is first
        assert tokens_issued(caplog) == 1

        clock.now = replace_at
        client.get("hello")
        assert tokens_issued(caplog) == 2
        second = client.token()
        assert second is not first
        assert second.token != first.token
        assert second.namespace == "team-a"


def test_the_margin_is_a_share_of_short_lifetimes_and_capped_for_long_ones() -> None:
    assert refresh_margin(3600) == 30
    assert refresh_margin(60) == 12
    assert refresh_margin(2) == 1
    assert all(refresh_margin(t) < t for t in (2, 10, 60, 3600))


def test_calls_keep_working_across_real_token_expiry(start_server: StartServer) -> None:
    running = start_server(**credentialed(token_lifetime_seconds=2))
    with FunctionsClient(f"127.0.0.1:{running.port}", api_key=TENANT_KEYS["team-b"]) as client:
        client.create("hello", image="nginx:alpine")
        first = client.token()

        replaced: bool = wait_until(
            lambda: client.token().token != first.token, timeout=10, what="token replaced"
        )

        assert replaced
        assert client.token().expires_at > first.expires_at
        assert client.get("hello").name == "hello"


def test_a_token_the_server_refuses_is_replaced_and_the_call_sent_again(
    start_server: StartServer,
) -> None:
    port = free_port()
    first_server = start_server(listen=f"127.0.0.1:{port}")
    with FunctionsClient(f"127.0.0.1:{port}", timeout=5) as client:
        client.create("hello", image="nginx:alpine")
        token = client.token()
        first_server.stop(grace=0)

        # The new server signs with a new random secret, so it refuses the token held.
        start_server(listen=f"127.0.0.1:{port}")
        assert wait_until(lambda: client.list() == [], what="listed on the new server")

        assert client.token().token != token.token
