"""The installed `fnplane` console script, run as a separate process the way a shell runs it."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from fnplane import client
from fnplane.client.failures import ExitCode
from tests.support.processes import fnplane_argv, printed_by_fresh_python
from tests.support.waiting import free_port


def run(*args: str, server: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FNPLANE_")}
    env["FNPLANE_SERVER"] = server
    return subprocess.run(
        fnplane_argv(*args), env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_console_script_manages_functions_and_fails_in_one_line(address: str) -> None:
    made = run(
        "functions", "create", "hello", "--image", "nginx:alpine", "-o", "json", server=address
    )
    nowhere = f"127.0.0.1:{free_port()}"
    down = run("functions", "list", server=nowhere)

    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout) == {"name": "hello", "message": "function created successfully"}
    assert down.returncode == ExitCode.UNREACHABLE
    assert down.stderr.startswith(f"fnplane: cannot list functions: fnplane at {nowhere}")
    assert len(down.stderr.splitlines()) == 1
    assert "Traceback" not in down.stderr
    assert down.stdout == ""


def test_the_command_line_loads_a_commands_code_only_when_that_command_runs() -> None:
    # `fnplane up` starts its server and Envoy sooner when the command line has not first
    # loaded the client and gRPC, and client commands never load the server.
    program = (
        "import sys\n"
        "from fnplane.client.cli import cli\n"
        "loaded = {name for name in ('grpc', 'fnplane.client.functions', 'fnplane.server.app')"
        " if name in sys.modules}\n"
        "cli.get_command(None, 'up')\n"
        "print(sorted(loaded), 'grpc' in sys.modules, 'fnplane.client.functions' in sys.modules)\n"
    )
    assert printed_by_fresh_python(program) == ["[]", "False", "False"]


def test_every_public_name_of_the_client_package_can_be_imported_from_it() -> None:
    # The package loads its modules when a name is first used; each name must still resolve.
    for name in client.__all__:
        assert getattr(client, name).__name__ == name
        assert name in dir(client)
    with pytest.raises(AttributeError, match="no attribute 'Missing'"):
        client.Missing  # noqa: B018
