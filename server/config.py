"""Server configuration: one typed object, filled from flags, then FNPLANE_* variables, then
defaults. Each field carries its own help text, which `--help` and the README both show.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def setting(
    default: Any, help: str, *, choices: tuple[str, ...] = (), secret: bool = False
) -> Any:
    """Declares a configuration field with its help text (and allowed values, if few).

    A `secret` field is left out of the config's repr, so printing a config shows no secret.
    """
    return field(default=default, repr=not secret, metadata={"help": help, "choices": choices})


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
    kubeconfig: str = setting(
        "",
        "Kubeconfig file naming the cluster for the kubernetes backend. When empty: the "
        "in-cluster service account, then $KUBECONFIG, then ~/.kube/config.",
    )
    max_replicas: int = setting(100, "Most replicas a function may ask for.")
    max_functions: int = setting(
        1000, "Most functions one namespace may hold; creates past it are refused."
    )
    max_request_bytes: int = setting(
        1024 * 1024,
        "Largest request accepted, in bytes; larger ones are refused before they are read "
        "in full (HTTP 413 through Envoy, RESOURCE_EXHAUSTED over gRPC).",
    )
    grace_seconds: float = setting(
        10.0, "How long calls in flight may take to finish after SIGTERM or SIGINT."
    )
    workers: int = setting(16, "Threads serving calls at once.")
    log_level: str = setting(
        "info", "Least severe log level shown.", choices=("debug", "info", "warning", "error")
    )
    log_format: str = setting(
        "text",
        "How log lines are written to stderr: 'text' for people, 'json' for one JSON object "
        "per line (time, level, logger, message and the call's fields).",
        choices=("text", "json"),
    )
    metrics_port: int = setting(
        9090,
        "Port serving Prometheus metrics at /metrics, on the host of --listen; 0 turns "
        "metrics off.",
    )
    max_streams: int = setting(
        8,
        "Most watches and followed logs served at once; each holds a worker thread, so keep "
        "it below --workers.",
    )
    token_secret: str = setting(
        "",
        "Secret that signs tokens (HS256), at least 32 bytes; prefer the environment variable "
        "or --token-secret-file, since flags show in the process list. Without one and without "
        "API keys, a random secret is made at start.",
        secret=True,
    )
    token_secret_file: str = setting(
        "", "File holding the token signing secret; surrounding whitespace is ignored."
    )
    token_lifetime_seconds: int = setting(3600, "How long an issued token is accepted.")
    api_keys: str = setting(
        "",
        "API keys, each with the namespace it reaches, as KEY=NAMESPACE entries separated by "
        "commas or newlines; a key may be given as sha256:HEX of itself. No keys at all means "
        "open mode: anyone who reaches the server gets a token for 'default'.",
        secret=True,
    )
    api_keys_file: str = setting(
        "", "File of API keys: one KEY=NAMESPACE entry per line, '#' starts a comment."
    )
    allowed_namespaces: str = setting(
        "",
        "Comma-separated namespaces a token may reach; empty means the namespaces the API "
        "keys name ('default' in open mode), where a key for a kube- namespace stops the start.",
    )
    tls_cert: str = setting("", "PEM certificate chain; with --tls-key, gRPC is served over TLS.")
    tls_key: str = setting("", "PEM private key of --tls-cert.")
    ready_fd: int = setting(
        0,
        "Open file descriptor to write one line, READY, to (then close) once everything "
        "serves: for a supervisor that waits on a pipe; 0 for none.",
    )


def env_var(name: str) -> str:
    """Answers the environment variable that sets the field `name`."""
    return "FNPLANE_" + name.upper()


def flag(name: str) -> str:
    """Answers the command-line flag that sets the field `name`."""
    return "--" + name.replace("_", "-")


def click_options(config_type: type[Any], *, leave_out: tuple[str, ...] = ()) -> Callable[[F], F]:
    """Adds one Click option per field of `config_type`, with its env var and default.

    Fields named in `leave_out` get no option: the command fills them in itself.
    """
    hints = typing.get_type_hints(config_type)

    def decorate(command: F) -> F:
        for item in reversed(dataclasses.fields(config_type)):
            if item.name in leave_out:
                continue
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


def settings_table(
    config_type: type[Any], *, fields: Sequence[dataclasses.Field[Any]] | None = None
) -> str:
    """Answers a Markdown table of `config_type`'s settings (or of some of its `fields`), as
    the README shows them."""
    rows = ["| flag | environment | default | meaning |", "| --- | --- | --- | --- |"]
    for item in dataclasses.fields(config_type) if fields is None else fields:
        default = "none" if item.default in ("", None) else f"`{item.default}`"
        rows.append(
            f"| `{flag(item.name)}` | `{env_var(item.name)}` | {default} "
            f"| {item.metadata['help']} |"
        )
    return "\n".join(rows)
