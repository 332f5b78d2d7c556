"""A user's program type-checks under `mypy --strict` with the client, mistakes in its use
are caught by the checker, and the program runs against a real server."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).with_name("example_program.py")

MISUSES = """\
from fnplane.client import AsyncFunctionsClient, FunctionsClient

with FunctionsClient("localhost:8080") as client:
    replicas: str = client.get("hello").replicas
    client.create("hello", "nginx:alpine")
    client.update("hello", replicas="3")
    client.get("hello").name = "other"


async def listed() -> None:
    async with AsyncFunctionsClient() as twin:
        for function in twin.list():
            print(function)
"""


def mypy_strict(program: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    """Runs `mypy --strict` on `program` as a user would: outside this repository, without
    its configuration, with fnplane installed."""
    argv = ["-m", "mypy", "--strict", "--config-file=", "--cache-dir", str(cache)]
    return subprocess.run(
        [sys.executable, *argv, program.name],
        cwd=program.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def cache(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """mypy's cache: kept between runs in pytest's cache when there is one."""
    kept = getattr(request.config, "cache", None)
    return Path(kept.mkdir("client-mypy")) if kept else tmp_path_factory.mktemp("mypy-cache")


def test_the_example_program_passes_mypy_strict(tmp_path: Path, cache: Path) -> None:
    program = tmp_path / EXAMPLE.name
    shutil.copy(EXAMPLE, program)

    checked = mypy_strict(program, cache)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Success" in checked.stdout


def test_mypy_catches_misuse_of_the_client(tmp_path: Path, cache: Path) -> None:
    program = tmp_path / "misuse.py"
    program.write_text(MISUSES)

    checked = mypy_strict(program, cache)

    assert checked.returncode == 1
    flagged = {
        int(line.split(":")[1]) for line in checked.stdout.splitlines() if ": error:" in line
    }
    assert flagged == {4, 5, 6, 7, 12}, checked.stdout


def test_the_example_program_runs(address: str) -> None:
    ran = subprocess.run(
        [sys.executable, str(EXAMPLE), address],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0].startswith("example: 2/2 ready, created ")
    assert lines[1] == "fields at fault: image, name"
    assert lines[2].startswith("deleted: NOT_FOUND")
    assert lines[3] == "functions left: []"
