"""What the command line prints: Rich views for people, JSON and YAML for programs.

The machine formats carry the REST API's field names and shapes (times in RFC 3339 with a
Z), so a script can switch between `curl` and `fnplane ... -o json` without changes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import click
import yaml
from rich.console import Console
from rich.table import Table
from rich.text import Text

from fnplane.client.models import Confirmation, Function, Token

MACHINE_FORMATS = ("json", "yaml")

_STATUS_STYLES = {
    "Running": "green",
    "Deploying": "yellow",
    "Failed": "bold red",
    "Stopped": "dim",
}


def machine(shape: Any, output: str) -> None:
    """Prints a REST-shaped value as JSON or YAML."""
    if output == "json":
        click.echo(json.dumps(shape, indent=2, ensure_ascii=False))
    else:
        click.echo(yaml.safe_dump(shape, sort_keys=False, allow_unicode=True), nl=False)


def age(created_at: datetime, now: datetime | None = None) -> str:
    """Answers how long ago `created_at` was, in the largest unit that reads well: 42s, 5m,
    3h, 12d."""
    seconds = max(0, int(((now or datetime.now(UTC)) - created_at).total_seconds()))
    for unit, size, up_to in (("s", 1, 120), ("m", 60, 120), ("h", 3600, 48)):
        if seconds < size * up_to:
            return f"{seconds // size}{unit}"
    return f"{seconds // 86400}d"


def function_table(functions: Sequence[Function], *, now: datetime | None = None) -> Table:
    """Answers the table `fnplane functions list` prints: one row per function."""
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("NAME", overflow="fold")
    table.add_column("IMAGE", overflow="fold", ratio=1)
    table.add_column("READY", no_wrap=True)
    table.add_column("STATUS", no_wrap=True)
    table.add_column("AGE", no_wrap=True, justify="right")
    for function in functions:
        table.add_row(
            function.name,
            function.image,
            f"{function.ready_replicas}/{function.replicas}",
            _status(function.status),
            age(function.created_at, now),
        )
    return table


def function_details(function: Function, *, now: datetime | None = None) -> Table:
    """Answers the view `get` and `update` print: each field of one function on its line."""
    table = Table(box=None, pad_edge=False, show_header=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    status = _status(function.status)
    if function.status_message:
        status.append(f" ({function.status_message})")
    created = f"{function.created_at:%Y-%m-%d %H:%M:%S} UTC ({age(function.created_at, now)} ago)"
    rows: list[tuple[str, str | Text]] = [
        ("Name", function.name),
        ("Image", function.image),
        ("Status", status),
        (
            "Replicas",
            f"{function.replicas} desired, {function.ready_replicas} ready, "
            f"{function.available_replicas} available, {function.updated_replicas} updated",
        ),
        ("Created", created),
        ("Env", _pairs(function.env)),
    ]
    resources = {
        "cpu request": function.cpu_request,
        "cpu limit": function.cpu_limit,
        "memory request": function.memory_request,
        "memory limit": function.memory_limit,
    }
    if any(resources.values()):
        rows.append(("Resources", ", ".join(f"{k} {v}" for k, v in resources.items() if v)))
    if function.labels:
        rows.append(("Labels", _pairs(function.labels)))
    if function.annotations:
        rows.append(("Annotations", _pairs(function.annotations)))
    for label, value in rows:
        table.add_row(label, value)
    return table


def show_functions(functions: Sequence[Function], output: str | None) -> None:
    """Prints a list of functions: a table, or the REST array as JSON or YAML."""
    if output:
        machine([f.as_rest() for f in functions], output)
    elif not functions:
        click.echo(
            "No functions yet; create one with: fnplane functions create NAME --image IMAGE"
        )
    else:
        Console().print(function_table(functions))


def show_function(function: Function, output: str | None) -> None:
    """Prints one function: its details, or its REST object as JSON or YAML."""
    if output:
        machine(function.as_rest(), output)
    else:
        Console().print(function_details(function))


def show_confirmation(confirmation: Confirmation, done: str, output: str | None) -> None:
    """Prints a create or delete confirmation: a sentence, or the REST reply."""
    if output:
        machine(confirmation.as_rest(), output)
    else:
        click.echo(f"{done} function {confirmation.name}.")


def show_token(token: Token, output: str | None) -> None:
    """Prints a token: bare, so `$(fnplane token)` works, or the REST reply."""
    if output:
        machine(token.as_rest(), output)
    else:
        click.echo(token.token)


def _status(status: str) -> Text:
    return Text(status, style=_STATUS_STYLES.get(status, ""))


def _pairs(values: Mapping[str, str]) -> str:
    return "\n".join(f"{key}={value}" for key, value in sorted(values.items())) or "-"
