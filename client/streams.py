"""What streams from fnplane: watch events and log lines, as the client answers them.

`FunctionsClient.watch` and `FunctionsClient.logs` answer these; the command line prints
them (`fnplane functions watch`, `fnplane functions logs`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from fnplane.client import messages
from fnplane.client.models import Function
from fnplane.v1 import functions_pb2 as pb


@dataclass(frozen=True, kw_only=True)
class FunctionEvent:
    """One change to the caller's functions, as a watch tells it."""

    type: str
    """"ADDED", "MODIFIED" or "DELETED"; "SYNCED" once the functions there at the start
    have all been told (the only type without a function)."""
    function: Function | None = None
    """The function as it is after the change (as it last was, for "DELETED")."""

    def as_rest(self) -> dict[str, Any]:
        """Answers the event as the REST watch stream writes it."""
        if self.function is None:
            return {"type": self.type}
        return {"type": self.type, "function": self.function.as_rest()}


@dataclass(frozen=True, kw_only=True)
class LogLine:
    """One line a function's pod wrote."""

    pod: str
    """The pod that wrote the line."""
    time: datetime
    """When the line was written (UTC)."""
    text: str
    """The line, without its line break."""

    def as_rest(self) -> dict[str, Any]:
        """Answers the line as the REST logs stream writes it."""
        stamp = self.time.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return {"pod": self.pod, "time": stamp, "text": self.text}


def event_from_pb(message: pb.FunctionEvent) -> FunctionEvent:
    """Answers the event a message describes."""
    function = (
        messages.function_from_pb(message.function) if message.HasField("function") else None
    )
    return FunctionEvent(type=message.type, function=function)


def log_line_from_pb(message: pb.LogLine) -> LogLine:
    """Answers the log line a message carries."""
    return LogLine(pod=message.pod, time=message.time.ToDatetime(tzinfo=UTC), text=message.text)


def logs_request(
    name: str, *, tail_lines: int | None, since: datetime | None, follow: bool
) -> pb.GetFunctionLogsRequest:
    """Answers the request for a function's log lines."""
    request = pb.GetFunctionLogsRequest(name=name, tail_lines=tail_lines, follow=follow)
    if since is not None:
        stamp = Timestamp()
        stamp.FromDatetime(since.astimezone(UTC))
        request.since_time.CopyFrom(stamp)
    return request


_DURATION_PART = re.compile(r"(\d+)([smhd])")
_DURATION = re.compile(r"(\d+[smhd])+")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(value: str, *, now: datetime | None = None) -> datetime:
    """Answers the time `value` names: a duration back from now ("90s", "10m", "1h30m",
    "2d") or an RFC 3339 time ("2026-01-02T03:04:05Z"); raises ValueError otherwise."""
    text = value.strip()
    if _DURATION.fullmatch(text):
        seconds = sum(int(n) * _UNITS[unit] for n, unit in _DURATION_PART.findall(text))
        if seconds <= 0:
            raise ValueError(f"{value!r} is no time at all; give a positive duration")
        return (now or datetime.now(UTC)) - timedelta(seconds=seconds)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{value!r} is neither a duration (such as 10m, 1h30m) nor an RFC 3339 time"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
