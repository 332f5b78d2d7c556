"""The fnplane command line: one `fnplane` command for people and scripts."""

from __future__ import annotations

from collections.abc import Callable

import click

from fnplane import __version__

# Each command's module is imported only when the command is run or listed: `fnplane up`
# then starts its server and Envoy without first loading the client, and a client command
# does not load the server and its backends.
# ruff: noqa: PLC0415


def _functions() -> click.Command:
    from fnplane.client.commands import functions
    from fnplane.client.stream_commands import logs, watch

    functions.add_command(watch)
    functions.add_command(logs)
    return functions


def _token() -> click.Command:
    from fnplane.client.commands import token

    return token


def _serve() -> click.Command:
    from fnplane.server.cli import serve

    return serve


def _up() -> click.Command:
    from fnplane.server.stack import up

    return up


_COMMANDS: dict[str, Callable[[], click.Command]] = {
    "functions": _functions,
    "token": _token,
    "serve": _serve,
    "up": _up,
}


class _Commands(click.Group):
    """The root group, loading each command when it is first asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        load = _COMMANDS.get(name)
        return None if load is None else load()


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fnplane")
def cli() -> None:
    """Manage serverless functions on Kubernetes, and run the fnplane server."""


def main() -> None:
    """Runs the command line (the `fnplane` console script)."""
    cli()
