"""What the client answers: functions, tokens and confirmations as small frozen dataclasses.

Their fields carry the names the REST API uses, so `as_rest()` gives the JSON a user of
`curl` would see, and a program can move between the two without a lookup table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def rfc3339(moment: datetime) -> str:
    """Answers `moment` as the REST API writes times: RFC 3339 in UTC with a Z, whole seconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, kw_only=True)
class Function:
    """A function as the server reports it: what was asked for and what runs."""

    name: str
    """The function's name, unique within its namespace."""
    image: str
    """The container image reference."""
    replicas: int
    """How many replicas are wanted."""
    env: Mapping[str, str] = field(default_factory=dict)
    """Environment variables given to the container."""
    available_replicas: int = 0
    """How many replicas are available."""
    ready_replicas: int = 0
    """How many replicas pass their readiness checks."""
    updated_replicas: int = 0
    """How many replicas run the current specification."""
    status: str
    """One of "Running", "Deploying", "Failed" or "Stopped"."""
    created_at: datetime
    """When the function was created (UTC, whole seconds)."""
    status_message: str = ""
    """Why the status is what it is, when there is more to say."""
    cpu_request: str = ""
    """CPU the container is guaranteed, as a Kubernetes quantity; empty for none."""
    cpu_limit: str = ""
    """CPU the container may use at most; empty for no limit."""
    memory_request: str = ""
    """Memory the container is guaranteed; empty for none."""
    memory_limit: str = ""
    """Memory the container may use at most; empty for no limit."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Labels put on the function's Kubernetes objects."""
    annotations: Mapping[str, str] = field(default_factory=dict)
    """Annotations put on the function's Kubernetes objects."""

    def as_rest(self) -> dict[str, Any]:
        """Answers the function as the REST API writes it in JSON."""
        shape = _plain(self)
        shape["created_at"] = rfc3339(self.created_at)
        return shape


@dataclass(frozen=True, kw_only=True)
class Token:
    """A bearer token from the server, and when it stops being accepted."""

    # A token is a credential: it stays out of reprs, and so out of logs and tracebacks.
    token: str = field(repr=False)
    """The signed token, sent as "Authorization: Bearer <token>"."""
    expires_at: datetime
    """When the token expires, by the server's clock."""
    expires_in: int
    """How many seconds the token was valid for when the server issued it."""
    namespace: str
    """The namespace the token's functions live in."""

    def as_rest(self) -> dict[str, Any]:
        """Answers the token as the REST API writes it in JSON."""
        shape = _plain(self)
        shape["expires_at"] = rfc3339(self.expires_at)
        return shape


@dataclass(frozen=True, kw_only=True)
class Confirmation:
    """The server's word that a create or delete took effect."""

    name: str
    """The name of the function created or deleted."""
    message: str
    """What happened, such as "function created successfully"."""

    def as_rest(self) -> dict[str, Any]:
        """Answers the confirmation as the REST API writes it in JSON."""
        return _plain(self)


def _plain(record: Function | Token | Confirmation) -> dict[str, Any]:
    return {
        item.name: dict(value) if isinstance(value, Mapping) else value
        for item in dataclasses.fields(record)
        for value in (getattr(record, item.name),)
    }
