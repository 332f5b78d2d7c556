"""The client commands: `fnplane functions create|list|get|update|delete` and `fnplane token`.

Each command reaches fnplane through `FunctionsClient` with the settings of `ClientConfig`,
prints a Rich view or `-o json|yaml`, and fails with one line and a telling exit code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import click

from fnplane.client import output
from fnplane.client.config import ClientConfig
from fnplane.client.failures import (
    EXIT_CODES_HELP,
    CommandFailed,
    ExitCode,
    reported,
    usage_failure,
)
from fnplane.server.config import click_options

F = TypeVar("F", bound=Callable[..., Any])


class ClientCommand(click.Command):
    """A command whose usage errors (a bad flag, a missing argument) are one line on stderr."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as error:
            usage_failure(error).exit()

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CommandFailed as failure:
            failure.exit()


class ClientGroup(click.Group):
    """A group of client commands; an unknown command name is one line on stderr too."""

    command_class = ClientCommand

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as error:
            usage_failure(error).exit()


def client_options(command: F) -> F:
    """Adds the connection settings of ClientConfig and `-o/--output` to a command."""
    command = click.option(
        "-o",
        "--output",
        type=click.Choice(output.MACHINE_FORMATS),
        default=None,
        help="Print JSON or YAML with the REST API's field names instead of the human view.",
    )(command)
    return click_options(ClientConfig)(command)


def parse_env(ctx: click.Context, param: click.Parameter, values: Sequence[str]) -> dict[str, str]:
    """Answers the KEY=VALUE entries of --env as a map; a later entry wins over an earlier."""
    env: dict[str, str] = {}
    for entry in values:
        key, sign, value = entry.partition("=")
        if not sign:
            raise click.BadParameter(f"{entry!r} is not KEY=VALUE", ctx=ctx, param=param)
        env[key] = value
    return env


def env_option(help: str) -> Callable[[F], F]:
    """Adds the repeatable `--env KEY=VALUE` option, read into a map."""
    return click.option(
        "--env",
        "-e",
        multiple=True,
        metavar="KEY=VALUE",
        callback=parse_env,
        help=help,
    )


def _config(settings: Mapping[str, Any]) -> ClientConfig:
    return ClientConfig(**{k: v for k, v in settings.items() if k != "output"})


@click.group(cls=ClientGroup, epilog=EXIT_CODES_HELP)
def functions() -> None:
    """Create, list, inspect, change and delete functions.

    \b
    Examples:
      fnplane functions create hello --image nginx:alpine --replicas 2 --env GREETING=hi
      fnplane functions list
      FNPLANE_SERVER=fnplane.example.com:443 fnplane functions list --tls -o yaml
    """


@functions.command(epilog=EXIT_CODES_HELP)
@click.argument("name")
@click.option("--image", required=True, help="Container image reference, such as nginx:alpine.")
@click.option(
    "--replicas",
    type=int,
    default=None,
    help="How many replicas to run; 1 when left out, 0 creates it stopped.",
)
@env_option("Environment variable for the container; repeat for more.")
@client_options
def create(
    name: str, image: str, replicas: int | None, env: dict[str, str], **settings: Any
) -> None:
    """Create a function NAME running IMAGE.

    \b
    Example:
      fnplane functions create hello --image nginx:alpine --replicas 2 --env GREETING=hi
    """
    config = _config(settings)
    with reported(f"create function {name}", config), config.connect() as client:
        confirmation = client.create(name, image=image, replicas=replicas, env=env)
    output.show_confirmation(confirmation, "Created", settings["output"])


@functions.command(name="list", epilog=EXIT_CODES_HELP)
@client_options
def list_functions(**settings: Any) -> None:
    """List the functions of your namespace: name, image, ready/desired replicas, status
    and age.

    \b
    Examples:
      fnplane functions list
      fnplane functions list -o json
    """
    config = _config(settings)
    with reported("list functions", config), config.connect() as client:
        found = client.list()
    output.show_functions(found, settings["output"])


@functions.command(epilog=EXIT_CODES_HELP)
@click.argument("name")
@client_options
def get(name: str, **settings: Any) -> None:
    """Show the function NAME.

    \b
    Examples:
      fnplane functions get hello
      fnplane functions get hello -o yaml
    """
    config = _config(settings)
    with reported(f"get function {name}", config), config.connect() as client:
        function = client.get(name)
    output.show_function(function, settings["output"])


@functions.command(epilog=EXIT_CODES_HELP)
@click.argument("name")
@click.option("--image", default=None, help="A new container image reference.")
@click.option(
    "--replicas",
    type=int,
    default=None,
    help="A new replica count; 0 stops the function.",
)
@env_option("Environment variable; the --env entries given replace all the old ones.")
@click.option("--clear-env", is_flag=True, help="Remove every environment variable.")
@client_options
def update(
    name: str,
    image: str | None,
    replicas: int | None,
    env: dict[str, str],
    clear_env: bool,
    **settings: Any,
) -> None:
    """Change the function NAME; what is not given stays as it is.

    \b
    Examples:
      fnplane functions update hello --replicas 3
      fnplane functions update hello --image nginx:1.27 --env GREETING=hello --env MODE=prod
    """
    if env and clear_env:
        raise CommandFailed(
            "functions update: give --env or --clear-env, not both",
            ExitCode.INVALID_INPUT,
        )
    new_env = {} if clear_env else (env or None)
    if image is None and replicas is None and new_env is None:
        raise CommandFailed(
            "functions update: nothing to change; give --image, --replicas, --env or --clear-env",
            ExitCode.INVALID_INPUT,
        )
    config = _config(settings)
    with reported(f"update function {name}", config), config.connect() as client:
        function = client.update(name, image=image, replicas=replicas, env=new_env)
    output.show_function(function, settings["output"])


@functions.command(epilog=EXIT_CODES_HELP)
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Delete without asking first.")
@client_options
def delete(name: str, yes: bool, **settings: Any) -> None:
    """Delete the function NAME and everything it runs; asks first unless --yes is given.

    \b
    Example:
      fnplane functions delete hello --yes
    """
    if not yes and not _confirmed(f"Delete function {name} and everything it runs?"):
        raise CommandFailed(
            f"function {name} was not deleted (confirm with y, or pass --yes)", ExitCode.FAILED
        )
    config = _config(settings)
    with reported(f"delete function {name}", config), config.connect() as client:
        confirmation = client.delete(name)
    output.show_confirmation(confirmation, "Deleted", settings["output"])


@click.command(cls=ClientCommand, epilog=EXIT_CODES_HELP)
@client_options
def token(**settings: Any) -> None:
    """Print a bearer token for calls to fnplane, such as REST calls with curl.

    \b
    Example:
      curl -H "Authorization: Bearer $(fnplane token)" http://localhost:8080/v1/functions
    """
    config = _config(settings)
    with reported("get a token", config), config.connect() as client:
        issued = client.token()
    output.show_token(issued, settings["output"])


def _confirmed(question: str) -> bool:
    # The question goes to stderr so that stdout holds only the command's output.
    try:
        return click.confirm(question, default=False, err=True)
    except click.Abort:
        # No answer can come (stdin is closed or not a terminal): nothing is deleted.
        click.echo(err=True)
        return False
