"""The installed `fnplane` console script, run as a separate process the way a shell runs it."""

from __future__ import annotations

import json
import os
import subprocess

from fnplane.client.failures import ExitCode
from tests.support.processes import fnplane_argv
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
