"""Fixtures for the REST tests: one `fnplane up` for the whole folder, and a signed-in caller
that leaves no function behind."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.stack import Reply, Stack, running_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One `fnplane up` (demo backend, open mode) for every REST test."""
    with running_stack(tmp_path_factory.mktemp("rest") / "up.log") as started:
        yield started


@pytest.fixture(scope="session")
def token(stack: Stack) -> str:
    """A bearer token from POST /auth/token."""
    return stack.token()


@dataclass(frozen=True)
class Api:
    """The REST API of the shared stack, called with a bearer token unless told otherwise."""

    stack: Stack
    token: str

    def __call__(self, method: str, path: str, **options: Any) -> Reply:
        options.setdefault("token", self.token)
        return self.stack.call(method, path, **options)


@pytest.fixture
def api(stack: Stack, token: str) -> Iterator[Api]:
    """Calls the REST API; every function is deleted after the test."""
    caller = Api(stack, token)
    yield caller
    listed = caller("GET", "/v1/functions")
    for function in listed.json() if listed.status == 200 else []:
        caller("DELETE", f"/v1/functions/{function['name']}")
