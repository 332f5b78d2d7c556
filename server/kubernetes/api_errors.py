"""What a failed call to the Kubernetes API server means to fnplane's caller.

The official client raises `ApiException` for an HTTP answer that is not a success (its body a
`Status` with the API server's reason and message) and lets urllib3's errors through when no
answer came at all. Each becomes one of fnplane's own errors with a message a user can act
on: which server could not be reached, which verb on which resource RBAC refused, what the
API server found invalid. The original error is chained for the log, never shown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import urllib3.exceptions
from kubernetes.client.exceptions import ApiException

from fnplane.server.errors import (
    AlreadyExists,
    Conflict,
    DeadlineExceeded,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unavailable,
)


class ResourceVersionExpired(Exception):
    """A watch asked for a resourceVersion the API server no longer keeps (410 Gone); the
    watcher has to list again. Never reaches a caller of the backend."""


@dataclass(frozen=True, kw_only=True)
class ApiCall:
    """One call to the API server, as RBAC names it: a verb on a resource in a namespace."""

    verb: str
    resource: str
    namespace: str
    name: str = ""

    def __str__(self) -> str:
        target = f"{self.resource}/{self.name}" if self.name else self.resource
        return f"{self.verb} {target} in namespace {self.namespace!r}"


# Where a path in an Invalid answer points, as the function field a user set. The first
# fragment found in the path wins.
_FIELDS_BY_PATH = (
    ("metadata.name", "name"),
    ("replicas", "replicas"),
    (".image", "image"),
    (".env", "env"),
    ("requests", "requests"),
    ("limits", "limits"),
    ("labels", "labels"),
    ("annotations", "annotations"),
)


def translate(error: Exception, call: ApiCall, server: str) -> Exception:
    """Answers the error to raise for `error`, which `call` to `server` failed with."""
    if isinstance(error, ApiException):
        return _from_answer(error, call, server)
    if isinstance(error, json.JSONDecodeError):
        return Unavailable(
            f"the Kubernetes API server at {server} answered {call} with something not JSON"
        )
    if isinstance(error, urllib3.exceptions.MaxRetryError) and error.reason is not None:
        error = error.reason
    # NewConnectionError derives from ConnectTimeoutError for old callers' sake, but a refused
    # connection is no timeout.
    if isinstance(error, urllib3.exceptions.NewConnectionError):
        return Unavailable(
            f"cannot reach the Kubernetes API server at {server}: {_plain_reason(error)}"
        )
    if isinstance(error, urllib3.exceptions.TimeoutError | TimeoutError):
        return DeadlineExceeded(
            f"the Kubernetes API server at {server} did not answer in time ({call})"
        )
    if isinstance(error, urllib3.exceptions.HTTPError | OSError):
        return Unavailable(
            f"cannot reach the Kubernetes API server at {server}: {_plain_reason(error)}"
        )
    return error


def _from_answer(error: ApiException, call: ApiCall, server: str) -> Exception:
    status = _status_body(error)
    code = error.status or 0
    reason = str(status.get("reason") or error.reason or "")
    message = str(status.get("message") or error.reason or f"HTTP {code}")
    refusal = _refusal(code, reason, message, status, call)
    if refusal is not None:
        return refusal
    if code == 0:
        # The client reports failures before any answer (TLS, for one) with status 0.
        return Unavailable(f"cannot reach the Kubernetes API server at {server}: {message}")
    if code == 401:
        return Unavailable(
            f"the Kubernetes API server at {server} did not accept fnplane's credentials"
        )
    if code in (408, 504) or reason == "Timeout":
        return DeadlineExceeded(
            f"the Kubernetes API server at {server} did not finish in time ({call}): {message}"
        )
    return Unavailable(
        f"the Kubernetes API server at {server} answered {code} {reason} to {call}: {message}"
    )


def _refusal(
    code: int, reason: str, message: str, status: dict[str, Any], call: ApiCall
) -> Exception | None:
    """Answers the error for an answer that refuses this particular call, if it is one."""
    if code == 403:
        return PermissionDenied(
            f"the Kubernetes API server refused fnplane permission to {call.verb} "
            f"{call.resource} in namespace {call.namespace!r} (check its Role): {message}"
        )
    if code == 404:
        return NotFound(message)
    if code == 409:
        return AlreadyExists(message) if reason == "AlreadyExists" else Conflict(message)
    if code == 410:
        return ResourceVersionExpired(message)
    if code in (400, 422):
        return InvalidArgument([FieldViolation(_field_of(status), message)])
    return None


def _status_body(error: ApiException) -> dict[str, Any]:
    try:
        body = json.loads(error.body or "")
    except ValueError:
        return {}
    return body if isinstance(body, dict) and body.get("kind") == "Status" else {}


def _field_of(status: dict[str, Any]) -> str:
    causes = (status.get("details") or {}).get("causes") or []
    for cause in causes:
        path = str(cause.get("field") or "")
        for fragment, field in _FIELDS_BY_PATH:
            if fragment in path:
                if field in ("requests", "limits"):
                    return _resource_field(path, field)
                return field
    return "function"


def _resource_field(path: str, group: str) -> str:
    kind = "request" if group == "requests" else "limit"
    resource = "memory" if "memory" in path else "cpu"
    return f"{resource}_{kind}"


def _plain_reason(error: BaseException) -> str:
    """Answers the operating system's words for a connection failure ("connection refused"),
    without the client's object addresses."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            return current.strerror.lower()
        current = current.__cause__ or current.__context__
    if isinstance(error, urllib3.exceptions.NewConnectionError):
        return str(error).rpartition(": ")[2] or "connection failed"
    if isinstance(error, urllib3.exceptions.ProtocolError):
        return "the connection was dropped"
    return type(error).__name__
