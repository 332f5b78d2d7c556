"""The README says what is true: its commands are the ones CI runs, its settings are current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_settings_tables_match_the_configuration() -> None:
    check = subprocess.run(
        [sys.executable, "scripts/readme_settings.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )

    assert check.returncode == 0, check.stderr


def test_ci_runs_the_test_command_the_readme_opens_with() -> None:
    opening = (ROOT / "README.md").read_text().split("## ", 1)[0]
    commands = [line.split("#")[0].strip() for line in opening.splitlines() if "scripts/" in line]
    ci = (ROOT / ".ci" / "run").read_text().splitlines()

    run, test = commands
    assert run.endswith("fnplane up")
    assert test in ci
