"""The client and the command line through Envoy's public port, as users reach fnplane on
:8080: one credentialed `fnplane up` for the module, and REST as the yardstick for output."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result

from fnplane.client import (
    AlreadyExists,
    AsyncFunctionsClient,
    FunctionsClient,
    InvalidArgument,
    NotFound,
    Unauthenticated,
)
from fnplane.client.cli import cli
from fnplane.client.failures import ExitCode
from tests.support.stack import Stack, running_stack
from tests.support.tokens import TENANT_KEYS, TENANT_SECRET, api_keys_setting

pytestmark = pytest.mark.envoy

KEY = TENANT_KEYS["team-a"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`fnplane up` in credentialed mode: each key of TENANT_KEYS reaches its namespace."""
    env = {
        "FNPLANE_API_KEYS": api_keys_setting(TENANT_KEYS),
        "FNPLANE_TOKEN_SECRET": TENANT_SECRET,
    }
    with running_stack(tmp_path_factory.mktemp("client") / "up.log", env=env) as started:
        yield started


@pytest.fixture
def client(stack: Stack) -> Iterator[FunctionsClient]:
    """A client of team-a through Envoy; the namespace is emptied after the test."""
    with FunctionsClient(stack.grpc_target, api_key=KEY, timeout=10) as made:
        yield made
        for function in made.list():
            made.delete(function.name)


def run_fnplane(stack: Stack, *args: str, api_key: str = KEY) -> Result:
    """Runs `fnplane ARGS` against the stack's public port."""
    env = {"FNPLANE_SERVER": stack.grpc_target, "FNPLANE_API_KEY": api_key}
    result = CliRunner().invoke(cli, list(args), env=env, prog_name="fnplane")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_the_client_manages_functions_through_envoy(client: FunctionsClient) -> None:
    client.create("hello", image="nginx:alpine", replicas=2, env={"A": "1"})

    assert client.get("hello").env == {"A": "1"}
    assert client.update("hello", replicas=0).status == "Stopped"
    assert [f.name for f in client.list()] == ["hello"]
    assert client.token().namespace == "team-a"

    with pytest.raises(AlreadyExists):
        client.create("hello", image="nginx:alpine")
    with pytest.raises(InvalidArgument) as refused:
        client.create("Bad_Name", image="has space")
    assert {v.field for v in refused.value.violations} == {"name", "image"}

    client.delete("hello")
    with pytest.raises(NotFound):
        client.get("hello")


def test_a_wrong_key_is_refused_through_envoy(stack: Stack) -> None:
    with (
        FunctionsClient(stack.grpc_target, api_key="wrong") as client,
        pytest.raises(Unauthenticated),
    ):
        client.list()


def test_the_asyncio_client_works_through_envoy(stack: Stack, client: FunctionsClient) -> None:
    async def scenario() -> list[str]:
        async with AsyncFunctionsClient(stack.grpc_target, api_key=KEY) as twin:
            await twin.create("from-asyncio", image="nginx:alpine")
            return [f.name for f in await twin.list()]

    assert asyncio.run(scenario()) == ["from-asyncio"]
    assert client.get("from-asyncio").replicas == 1


def test_machine_output_is_what_rest_answers(stack: Stack, client: FunctionsClient) -> None:
    made = run_fnplane(
        stack, "functions", "create", "hello", "--image", "nginx:alpine", "--env", "A=1"
    )
    assert made.exit_code == 0, made.stderr
    token = client.token().token

    listed = run_fnplane(stack, "functions", "list", "-o", "json")
    got = run_fnplane(stack, "functions", "get", "hello", "-o", "json")

    assert json.loads(listed.stdout) == stack.call("GET", "/v1/functions", token=token).json()
    assert json.loads(got.stdout) == stack.call("GET", "/v1/functions/hello", token=token).json()
    issued = json.loads(run_fnplane(stack, "token", "-o", "json").stdout)
    rest_issued = stack.call("POST", "/auth/token", body={"api_key": KEY}).json()
    assert list(issued) == list(rest_issued)
    assert issued["namespace"] == rest_issued["namespace"] == "team-a"


def test_the_table_and_a_bare_token_through_envoy(stack: Stack, client: FunctionsClient) -> None:
    client.create("hello", image="nginx:alpine", replicas=3)

    table = run_fnplane(stack, "functions", "list")
    token = run_fnplane(stack, "token")

    assert table.exit_code == 0, table.stderr
    assert table.stdout.splitlines()[1].split()[:4] == ["hello", "nginx:alpine", "3/3", "Running"]
    assert token.exit_code == 0
    reply = stack.call("GET", "/v1/functions", token=token.stdout.strip())
    assert [f["name"] for f in reply.json()] == ["hello"]


def test_failures_through_envoy_exit_with_their_codes(
    stack: Stack, client: FunctionsClient
) -> None:
    client.create("hello", image="nginx:alpine")
    cases = [
        (["functions", "get", "ghost"], KEY, ExitCode.NOT_FOUND, "ghost"),
        (
            ["functions", "create", "Bad_Name", "--image", "x"],
            KEY,
            ExitCode.INVALID_INPUT,
            "name:",
        ),
        (["functions", "create", "hello", "--image", "x"], KEY, ExitCode.ALREADY_EXISTS, "hello"),
        (["functions", "list"], "wrong", ExitCode.AUTH_FAILED, "not authenticated"),
    ]
    for args, key, code, mention in cases:
        result = run_fnplane(stack, *args, api_key=key)
        assert result.exit_code == code, (args, result.stderr)
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("fnplane: cannot ")
        assert mention in lines[0]
