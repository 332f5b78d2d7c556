"""A program a user might write with fnplane's Python client; the tests type-check it with
`mypy --strict` and run it against a real server.

Usage: python example_program.py HOST:PORT [API_KEY]
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime

from fnplane.client import (
    AlreadyExists,
    AsyncFunctionsClient,
    Confirmation,
    FieldViolation,
    FnplaneError,
    Function,
    FunctionsClient,
    InvalidArgument,
    NotFound,
    Token,
)


def deploy(client: FunctionsClient, name: str, image: str) -> Function:
    """Creates the function, or updates its image when it exists already."""
    try:
        client.create(name, image=image, replicas=2, env={"MODE": "example"})
    except AlreadyExists:
        return client.update(name, image=image)
    return client.get(name, timeout=10.0)


def problems(client: FunctionsClient) -> list[FieldViolation]:
    """Answers what the server says is wrong with a bad function."""
    try:
        client.create("Not A Name", image="")
    except InvalidArgument as error:
        return list(error.violations)
    return []


async def names(server: str, api_key: str) -> list[str]:
    async with AsyncFunctionsClient(server, api_key=api_key) as client:
        token: Token = await client.token()
        assert token.namespace
        return [function.name for function in await client.list()]


def main(server: str, api_key: str = "") -> int:
    with FunctionsClient(server, api_key=api_key, timeout=5.0) as client:
        function = deploy(client, "example", "nginx:alpine")
        created: datetime = function.created_at
        ready: int = function.ready_replicas
        env: dict[str, str] = dict(function.env)
        print(f"{function.name}: {ready}/{function.replicas} ready, created {created:%F}, {env}")

        fields = sorted(violation.field for violation in problems(client))
        print("fields at fault:", ", ".join(fields))

        gone: Confirmation = client.delete("example")
        try:
            client.get(gone.name)
        except NotFound as error:
            print("deleted:", error.code.name, error.message)
        except FnplaneError as error:
            print("unexpected:", error)
            return 1

    print("functions left:", asyncio.run(names(server, api_key)))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
