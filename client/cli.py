"""The fnplane command line: one `fnplane` command for people and scripts."""

from __future__ import annotations

import importlib
from typing import ClassVar

import click

from fnplane import __version__
from fnplane.client.commands import functions, token
from fnplane.client.stream_commands import logs, watch


class _Commands(click.Group):
    """The root group; the server's commands are imported only when one of them is run or
    listed, so a client command does not pay for loading the server and its backends."""

    LAZY: ClassVar[dict[str, str]] = {
        "serve": "fnplane.server.cli:serve",
        "up": "fnplane.server.cli:up",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.LAZY])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.LAZY:
            return super().get_command(ctx, name)
        module, _, attribute = self.LAZY[name].partition(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fnplane")
def cli() -> None:
    """Manage serverless functions on Kubernetes, and run the fnplane server."""


functions.add_command(watch)
functions.add_command(logs)
cli.add_command(functions)
cli.add_command(token)


def main() -> None:
    """Runs the command line (the `fnplane` console script)."""
    cli()
