"""Server configuration: one typed object, filled from flags, then FNPLANE_* variables, then
defaults. Each field carries its own help text, which `--help` and the README both show.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def setting(default: Any, help: str, *, choices: tuple[str, ...] = ()) -> Any:
    """Declares a configuration field with its help text (and allowed values, if few)."""
    return field(default=default, metadata={"help": help, "choices": choices})


@dataclass(frozen=True, kw_only=True)
class ServerConfig:
    """How `fnplane serve` runs."""

    listen: str = setting("127.0.0.1:50051", "Address the gRPC server listens on, HOST:PORT.")
    backend: str = setting(
        "auto",
        "Where functions run: 'demo' keeps them in memory, 'kubernetes' runs them in a "
        "cluster, 'auto' picks kubernetes when a cluster answers and demo otherwise.",
        choices=("auto", "demo", "kubernetes"),
    )
    max_replicas: int = setting(100, "Most replicas a function may ask for.")
    grace_seconds: float = setting(
        10.0, "How long calls in flight may take to finish after SIGTERM or SIGINT."
    )
    workers: int = setting(16, "Threads serving calls at once.")
    log_level: str = setting(
        "info", "Least severe log level shown.", choices=("debug", "info", "warning", "error")
    )


def env_var(name: str) -> str:
    """Answers the environment variable that sets the field `name`."""
    return "FNPLANE_" + name.upper()


def flag(name: str) -> str:
    """Answers the command-line flag that sets the field `name`."""
    return "--" + name.replace("_", "-")


def click_options(config_type: type[Any]) -> Callable[[F], F]:
    """Adds one Click option per field of `config_type`, with its env var and default."""
    hints = typing.get_type_hints(config_type)

    def decorate(command: F) -> F:
        for item in reversed(dataclasses.fields(config_type)):
            kind = hints[item.name]
            choices = item.metadata.get("choices")
            option_type: Any = click.Choice(choices) if choices else kind
            if kind is bool:
                command = click.option(
                    f"{flag(item.name)}/--no-{item.name.replace('_', '-')}",
                    item.name,
                    default=item.default,
                    envvar=env_var(item.name),
                    show_default=True,
                    show_envvar=True,
                    help=item.metadata["help"],
                )(command)
                continue
            command = click.option(
                flag(item.name),
                item.name,
                type=option_type,
                default=item.default,
                envvar=env_var(item.name),
                show_default=True,
                show_envvar=True,
                help=item.metadata["help"],
            )(command)
        return command

    return decorate


def settings_table(config_type: type[Any]) -> str:
    """Answers a Markdown table of `config_type`'s settings, as the README shows them."""
    rows = ["| flag | environment | default | meaning |", "| --- | --- | --- | --- |"]
    for item in dataclasses.fields(config_type):
        default = "" if item.default is None else item.default
        rows.append(
            f"| `{flag(item.name)}` | `{env_var(item.name)}` | `{default}` "
            f"| {item.metadata['help']} |"
        )
    return "\n".join(rows)
