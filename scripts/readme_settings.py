"""Writes the README's tables of settings from the configuration dataclasses.

The tables sit between `<!-- settings:start -->` and `<!-- settings:end -->`; with --check
nothing is written and the exit code says whether the README is up to date.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from fnplane.client.config import ClientConfig
from fnplane.server.config import ServerConfig, settings_table
from fnplane.server.stack import UpConfig

START, END = "<!-- settings:start -->", "<!-- settings:end -->"
README = Path(__file__).resolve().parent.parent / "README.md"


def render() -> str:
    """Answers the settings section: what `serve` takes, what `up` adds, what clients take."""
    server_fields = {item.name for item in dataclasses.fields(ServerConfig)}
    up_only = [item for item in dataclasses.fields(UpConfig) if item.name not in server_fields]
    return "\n\n".join(
        [
            "`fnplane serve` (and `fnplane up`, which passes them to the server it runs):",
            settings_table(ServerConfig),
            "`fnplane up` also takes:",
            settings_table(UpConfig, fields=up_only),
            "`fnplane functions ...` and `fnplane token` take:",
            settings_table(ClientConfig),
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether it is current")
    args = parser.parse_args()

    text = README.read_text()
    before, start, rest = text.partition(START)
    _, end, after = rest.partition(END)
    if not (start and end):
        print(f"{README}: the markers {START} and {END} are missing", file=sys.stderr)
        return 2
    current = f"{before}{START}\n{render()}\n{END}{after}"
    if args.check:
        if current != text:
            print("README.md's settings are out of date: run scripts/generate", file=sys.stderr)
            return 1
        return 0
    README.write_text(current)
    return 0


if __name__ == "__main__":
    sys.exit(main())
