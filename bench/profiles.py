"""Profiles of the server under load, taken with py-spy while a gRPC load runs.

Only the thread holding the GIL is sampled (`--gil`), so a profile shows where the server's
Python time goes rather than where its idle threads wait. Each profile is an SVG flame graph.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path


def py_spy() -> str | None:
    """Answers the py-spy binary (the `bench` extra installs it), or None."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


@contextlib.contextmanager
def recording(pid: int, output: Path, *, seconds: float) -> Iterator[None]:
    """Samples process `pid` for `seconds` while the block runs; writes `output` (SVG)."""
    binary = py_spy()
    if binary is None:
        raise RuntimeError("py-spy is not installed: pip install -e '.[bench]'")
    output.parent.mkdir(parents=True, exist_ok=True)
    argv = [
        binary,
        "record",
        f"--pid={pid}",
        f"--output={output}",
        f"--duration={max(1, round(seconds))}",
        "--rate=200",
        "--gil",
        "--nonblocking",
    ]
    spy = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        try:
            spy.wait(timeout=seconds + 30)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait()
