"""The streaming commands: `fnplane functions watch` and `fnplane functions logs NAME`.

Both run until the server ends the stream or the user presses Ctrl-C (exit code 130); with
`-o json` each event or line is one JSON object per line, as the REST API streams them.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import click
import yaml

from fnplane.client.commands import ClientCommand, client_options
from fnplane.client.config import ClientConfig
from fnplane.client.failures import EXIT_CODES_HELP, CommandFailed, ExitCode, reported
from fnplane.client.models import rfc3339
from fnplane.client.streams import FunctionEvent, parse_since


def _config(settings: dict[str, Any]) -> ClientConfig:
    return ClientConfig(**{k: v for k, v in settings.items() if k != "output"})


def _since_option(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_since(value)
    except ValueError as error:
        raise click.BadParameter(str(error), ctx=ctx, param=param) from None


def _print_line(shape: dict[str, Any], form: str | None, human: str) -> None:
    if form == "json":
        click.echo(json.dumps(shape, ensure_ascii=False))
    elif form == "yaml":
        click.echo("---\n" + yaml.safe_dump(shape, sort_keys=False, allow_unicode=True), nl=False)
    else:
        click.echo(human)


def _event_line(event: FunctionEvent) -> str:
    if event.function is None:
        return "-- the functions above existed when the watch began; changes follow --"
    function = event.function
    ready = f"{function.ready_replicas}/{function.replicas}"
    return (
        f"{event.type:<9} {function.name}  {function.status} {ready}  {function.image}"
        f"  ({rfc3339(datetime.now(UTC))})"
    )


@click.command(cls=ClientCommand, epilog=EXIT_CODES_HELP)
@client_options
def watch(**settings: Any) -> None:
    """Print your namespace's functions, then every change to them as it happens, until
    Ctrl-C.

    \b
    Examples:
      fnplane functions watch
      fnplane functions watch -o json | jq .function.status
    """
    config = _config(settings)
    form = settings["output"]
    with _interruptible(), reported("watch functions", config), config.connect() as client:
        for event in client.watch():
            _print_line(event.as_rest(), form, _event_line(event))
    raise CommandFailed(
        "the server ended the watch (it may be stopping); run the command again",
        ExitCode.UNREACHABLE,
    )


@click.command(cls=ClientCommand, epilog=EXIT_CODES_HELP)
@click.argument("name")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines as they come.")
@click.option(
    "--tail",
    type=click.IntRange(min=0),
    default=None,
    help="Only the last N lines of each pod.",
)
@click.option(
    "--since",
    callback=_since_option,
    default=None,
    metavar="DURATION|TIME",
    help="Only lines since a duration ago (10m, 1h30m) or an RFC 3339 time.",
)
@client_options
def logs(
    name: str, follow: bool, tail: int | None, since: datetime | None, **settings: Any
) -> None:
    """Print the log lines of the function NAME's pods, each with its pod and time.
    Needs the kubernetes backend.

    \b
    Examples:
      fnplane functions logs hello --tail 20
      fnplane functions logs hello --since 10m --follow
    """
    config = _config(settings)
    form = settings["output"]
    action = f"read the logs of function {name}"
    with _interruptible(), reported(action, config), config.connect() as client:
        for line in client.logs(name, tail_lines=tail, since=since, follow=follow):
            stamp = line.time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            _print_line(line.as_rest(), form, f"{line.pod} {stamp} {line.text}")


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """Makes Ctrl-C the quiet, ordinary end of a stream: exit code 130, no traceback."""
    try:
        yield
    except KeyboardInterrupt:
        raise SystemExit(130) from None
