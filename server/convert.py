"""Translation between protobuf messages and domain types: protobuf goes no further in."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from fnplane.server.domain import (
    UPDATABLE_FIELDS,
    Function,
    FunctionEvent,
    FunctionSpec,
    FunctionUpdate,
    LogLine,
    LogQuery,
)
from fnplane.server.errors import FieldViolation, InvalidArgument
from fnplane.v1 import functions_pb2 as pb

_MAP_FIELDS = ("env", "labels", "annotations")


def spec_from_create(request: pb.CreateFunctionRequest) -> FunctionSpec:
    """Answers the spec a create request asks for; replicas left out means one."""
    return FunctionSpec(
        name=request.name,
        image=request.image,
        replicas=request.replicas if request.HasField("replicas") else 1,
        env=_copied(request.env),
        cpu_request=request.cpu_request,
        cpu_limit=request.cpu_limit,
        memory_request=request.memory_request,
        memory_limit=request.memory_limit,
        labels=_copied(request.labels),
        annotations=_copied(request.annotations),
    )


def _copied(values: Mapping[str, str]) -> dict[str, str]:
    """Answers a plain dict of a protobuf map.

    dict(values) goes through the generic Mapping methods and was a third of a create's
    time; iterating the map's keys directly is about three times faster.
    """
    return {key: values[key] for key in values} if values else {}


def update_from_request(request: pb.UpdateFunctionRequest) -> FunctionUpdate:
    """Answers the update a request asks for, by its mask or by the fields present."""
    mask = list(request.update_mask.paths)
    unknown = [path for path in mask if path not in UPDATABLE_FIELDS]
    if unknown:
        raise InvalidArgument(
            [
                FieldViolation(
                    "update_mask",
                    f"{path!r} is not a field that can be updated; "
                    f"use one of {', '.join(UPDATABLE_FIELDS)}",
                )
                for path in unknown
            ]
        )

    def changed(field: str) -> bool:
        if mask:
            return field in mask
        if field in _MAP_FIELDS:
            return bool(getattr(request, field))
        # HasField is typed with literal names; the loop's names are the updatable fields.
        presence: Any = request
        return bool(presence.HasField(field))

    changes: dict[str, object] = {}
    for field in UPDATABLE_FIELDS:
        if changed(field):
            value = getattr(request, field)
            changes[field] = _copied(value) if field in _MAP_FIELDS else value
    return FunctionUpdate(name=request.name, **changes)  # type: ignore[arg-type]


def function_to_pb(function: Function) -> pb.Function:
    """Answers the message for a function; created_at carries whole seconds only."""
    spec = function.spec
    message = pb.Function(
        name=spec.name,
        image=spec.image,
        replicas=spec.replicas,
        available_replicas=function.available_replicas,
        ready_replicas=function.ready_replicas,
        updated_replicas=function.updated_replicas,
        status=function.status.value,
        status_message=function.status_message,
        cpu_request=spec.cpu_request,
        cpu_limit=spec.cpu_limit,
        memory_request=spec.memory_request,
        memory_limit=spec.memory_limit,
    )
    # A list converts every function on each call, so this is its hot path: the timestamp is
    # set in place and only maps that hold entries are copied (empty is the default), which
    # halves the cost of a list against building everything through keyword arguments.
    message.created_at.seconds = int(function.created_at.timestamp())
    for name in _MAP_FIELDS:
        values: Mapping[str, str] = getattr(spec, name)
        if values:
            getattr(message, name).update(values)
    return message


def event_to_pb(event: FunctionEvent) -> pb.FunctionEvent:
    """Answers the message for a watch event; a SYNCED event has no function."""
    if event.function is None:
        return pb.FunctionEvent(type=event.type.value)
    return pb.FunctionEvent(type=event.type.value, function=function_to_pb(event.function))


def log_query_from_request(request: pb.GetFunctionLogsRequest, *, now: datetime) -> LogQuery:
    """Answers the lines a logs request asks for, with since_seconds made a time before
    `now`; raises InvalidArgument for a count or time that cannot be meant."""
    violations = []
    if request.HasField("tail_lines") and request.tail_lines < 0:
        violations.append(
            FieldViolation("tail_lines", f"must not be negative, got {request.tail_lines}")
        )
    if request.HasField("since_seconds") and request.since_seconds <= 0:
        violations.append(
            FieldViolation("since_seconds", f"must be positive, got {request.since_seconds}")
        )
    if request.HasField("since_seconds") and request.HasField("since_time"):
        violations.append(
            FieldViolation("since_time", "must not be given together with since_seconds")
        )
    since = None
    if request.HasField("since_time"):
        try:
            since = request.since_time.ToDatetime(tzinfo=UTC)
        except ValueError:
            violations.append(
                FieldViolation("since_time", "must be a time between the years 1 and 9999")
            )
    if violations:
        raise InvalidArgument(violations)

    if request.HasField("since_seconds"):
        # Capped at about thirty years back, which is every line a cluster keeps.
        since = now - timedelta(seconds=min(request.since_seconds, 10**9))
    return LogQuery(
        name=request.name,
        tail_lines=request.tail_lines if request.HasField("tail_lines") else None,
        since=since,
        follow=request.follow,
    )


def log_line_to_pb(line: LogLine) -> pb.LogLine:
    """Answers the message for one log line."""
    time = Timestamp()
    time.FromDatetime(line.time)
    return pb.LogLine(pod=line.pod, time=time, text=line.text)
