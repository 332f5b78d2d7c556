"""The one error vocabulary of fnplane: what backends and validation raise.

The servicer maps each of these to a gRPC status in one place (`fnplane.server.status`); no
other layer picks status codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    """One broken rule: which field, and what the rule is."""

    field: str
    description: str

    def __str__(self) -> str:
        return f"{self.field}: {self.description}"


class FnplaneError(Exception):
    """Base of every error fnplane reports to a caller; the message is shown to them as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(FnplaneError):
    """The named function does not exist in the caller's namespace."""


class AlreadyExists(FnplaneError):
    """A function of that name exists already in the caller's namespace."""


class InvalidArgument(FnplaneError):
    """The request breaks one or more field rules."""

    def __init__(self, violations: Sequence[FieldViolation]) -> None:
        self.violations = tuple(violations)
        super().__init__("; ".join(str(v) for v in self.violations))


class Conflict(FnplaneError):
    """The function changed under the request; trying again may succeed."""


class Unavailable(FnplaneError):
    """Something fnplane depends on cannot be reached right now."""


class DeadlineExceeded(FnplaneError):
    """Something fnplane depends on did not answer in time."""


class PermissionDenied(FnplaneError):
    """The caller, or fnplane itself, is not allowed to do this."""


class Unauthenticated(FnplaneError):
    """The caller did not prove who they are."""


class ResourceExhausted(FnplaneError):
    """A quota is used up."""


class FailedPrecondition(FnplaneError):
    """The request cannot be served in the server's current configuration."""
