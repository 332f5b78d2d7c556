"""The fnplane command line: one `fnplane` command for people and scripts."""

from __future__ import annotations

import click

from fnplane import __version__
from fnplane.server.cli import serve


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fnplane")
def cli() -> None:
    """Manage serverless functions on Kubernetes, and run the fnplane server."""


cli.add_command(serve)


def main() -> None:
    """Runs the command line (the `fnplane` console script)."""
    cli()
