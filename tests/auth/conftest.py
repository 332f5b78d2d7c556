"""Fixtures for the auth tests: a credentialed server on the demo backend."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from fnplane.server import app
from fnplane.server.config import ServerConfig
from fnplane.server.demo import DemoBackend
from tests.support.tokens import TENANT_KEYS, TENANT_SECRET, api_keys_setting


def credentialed_config(**changes: Any) -> ServerConfig:
    """Answers the configuration of a credentialed test server, with `changes` applied."""
    settings: dict[str, Any] = {
        "listen": "127.0.0.1:0",
        "backend": "demo",
        "token_secret": TENANT_SECRET,
        "api_keys": api_keys_setting(TENANT_KEYS),
        **changes,
    }
    return ServerConfig(**settings)


@pytest.fixture
def secured() -> Iterator[grpc.Channel]:
    """A channel to a credentialed server on the demo backend (TENANT_KEYS, TENANT_SECRET)."""
    running = app.start(credentialed_config(), backend=DemoBackend())
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as opened:
            grpc.channel_ready_future(opened).result(timeout=10)
            yield opened
    finally:
        running.stop(grace=1)
