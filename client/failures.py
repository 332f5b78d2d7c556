"""How the command line fails: one line on stderr saying what failed and why, and an exit
code a script can tell apart. No failure ever shows a traceback.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import click

from fnplane.client import errors
from fnplane.client.config import ClientConfig
from fnplane.server.config import flag


class ExitCode(enum.IntEnum):
    """The exit codes of `fnplane functions` and `fnplane token`."""

    OK = 0
    FAILED = 1
    INVALID_INPUT = 2
    NOT_FOUND = 3
    AUTH_FAILED = 4
    UNREACHABLE = 5
    ALREADY_EXISTS = 6


EXIT_CODES_HELP = """\b
Exit codes:
  0  done
  1  any other failure (including a delete not confirmed)
  2  invalid input: a bad flag or argument, or a field the server refused
  3  not found: no function of that name
  4  auth failed: the API key or token was refused, or the namespace is not allowed
  5  unreachable: the server did not answer (down, wrong address, TLS mismatch, timeout)
  6  already exists: a function of that name exists"""


class CommandFailed(Exception):
    """A failure to show as one line on stderr, ending the command with `exit_code`."""

    def __init__(self, message: str, exit_code: ExitCode) -> None:
        # Server messages may span lines; the report of a failure never does.
        self.message = " ".join(message.split())
        self.exit_code = exit_code
        super().__init__(self.message)

    def exit(self) -> NoReturn:
        """Prints the failure on stderr and ends the command with its exit code."""
        click.echo(f"fnplane: {self.message}", err=True)
        raise click.exceptions.Exit(int(self.exit_code))


def usage_failure(error: click.UsageError) -> CommandFailed:
    """Answers a Click usage error as one line naming the command and pointing to its help."""
    command = error.ctx.command_path if error.ctx else "fnplane"
    where = command.partition(" ")[2] or command
    return CommandFailed(
        f"{where}: {error.format_message()} (see {command} --help)", ExitCode.INVALID_INPUT
    )


@contextmanager
def reported(action: str, config: ClientConfig) -> Iterator[None]:
    """Turns any failure inside the block into a CommandFailed that starts "cannot ACTION"."""
    try:
        yield
    except CommandFailed:
        raise
    except errors.FnplaneError as error:
        message, code = _explained(error, config)
        raise CommandFailed(f"cannot {action}: {message}", code) from error
    except errors.InvalidOption as error:
        raise CommandFailed(f"cannot {action}: {error}", ExitCode.INVALID_INPUT) from error
    except OSError as error:
        if not config.ca_file or error.filename != config.ca_file:
            raise CommandFailed(f"cannot {action}: {error}", ExitCode.FAILED) from error
        raise CommandFailed(
            f"cannot {action}: {flag('ca_file')} {config.ca_file}: {error.strerror or error}",
            ExitCode.INVALID_INPUT,
        ) from error
    except Exception as error:
        # A failure the client did not foresee is still one line, with enough to report it.
        raise CommandFailed(
            f"cannot {action}: unexpected {type(error).__name__}: {error}", ExitCode.FAILED
        ) from error


def _explained(  # noqa: PLR0911 (one answer per kind of failure reads best as a match)
    error: errors.FnplaneError, config: ClientConfig
) -> tuple[str, ExitCode]:
    match error:
        case errors.InvalidArgument(violations=violations) if violations:
            return "invalid input: " + "; ".join(map(str, violations)), ExitCode.INVALID_INPUT
        case errors.InvalidArgument():
            return f"invalid input: {error.message}", ExitCode.INVALID_INPUT
        case errors.NotFound():
            return error.message, ExitCode.NOT_FOUND
        case errors.AlreadyExists():
            return error.message, ExitCode.ALREADY_EXISTS
        case errors.Unauthenticated():
            hint = "" if config.api_key else " (no API key given: set FNPLANE_API_KEY)"
            return f"not authenticated: {error.message}{hint}", ExitCode.AUTH_FAILED
        case errors.PermissionDenied():
            return f"permission denied: {error.message}", ExitCode.AUTH_FAILED
        case errors.Unavailable():
            return (
                f"fnplane at {config.server} is unreachable: {error.message}",
                ExitCode.UNREACHABLE,
            )
        case errors.DeadlineExceeded():
            return (
                f"fnplane at {config.server} did not answer within {config.timeout:g}s "
                "(raise --timeout if it is just slow)",
                ExitCode.UNREACHABLE,
            )
    return f"{error.code.name}: {error.message}", ExitCode.FAILED
