"""The README's command-line section says what the code does: its settings and exit codes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from fnplane.client.config import ClientConfig
from fnplane.client.failures import EXIT_CODES_HELP, ExitCode
from fnplane.server.config import env_var, flag

README = Path(__file__).parents[2] / "README.md"


def client_section() -> str:
    text = README.read_text()
    start = text.index("## The command line and the Python client")
    return text[start : text.index("\n## ", start + 1)]


def test_every_setting_is_documented_with_its_flag_variable_and_help() -> None:
    section = client_section()
    for item in dataclasses.fields(ClientConfig):
        row = next(
            (line for line in section.splitlines() if line.startswith(f"| `{flag(item.name)}` |")),
            None,
        )
        assert row is not None, f"{flag(item.name)} is missing from the README"
        assert f"`{env_var(item.name)}`" in row
        assert item.metadata["help"] in row


def test_every_exit_code_is_documented_in_the_readme_and_in_help() -> None:
    section = client_section()
    for code in ExitCode:
        assert f"\n| {code.value} | " in section, code
        assert f"\n  {code.value}  " in EXIT_CODES_HELP, code
