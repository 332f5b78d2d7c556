"""Translation between protobuf messages and domain types: protobuf goes no further in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from fnplane.server.domain import UPDATABLE_FIELDS, Function, FunctionSpec, FunctionUpdate
from fnplane.server.errors import FieldViolation, InvalidArgument
from fnplane.v1 import functions_pb2 as pb

_MAP_FIELDS = ("env", "labels", "annotations")


def spec_from_create(request: pb.CreateFunctionRequest) -> FunctionSpec:
    """Answers the spec a create request asks for; replicas left out means one."""
    return FunctionSpec(
        name=request.name,
        image=request.image,
        replicas=request.replicas if request.HasField("replicas") else 1,
        env=request.env,
        cpu_request=request.cpu_request,
        cpu_limit=request.cpu_limit,
        memory_request=request.memory_request,
        memory_limit=request.memory_limit,
        labels=request.labels,
        annotations=request.annotations,
    )


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
            changes[field] = dict(value) if field in _MAP_FIELDS else value
    return FunctionUpdate(name=request.name, **changes)  # type: ignore[arg-type]


def function_to_pb(function: Function) -> pb.Function:
    """Answers the message for a function; created_at carries whole seconds only."""
    spec = function.spec
    created_at = Timestamp(seconds=int(function.created_at.timestamp()))
    return pb.Function(
        name=spec.name,
        image=spec.image,
        replicas=spec.replicas,
        env=_plain(spec.env),
        available_replicas=function.available_replicas,
        ready_replicas=function.ready_replicas,
        updated_replicas=function.updated_replicas,
        status=function.status.value,
        created_at=created_at,
        status_message=function.status_message,
        cpu_request=spec.cpu_request,
        cpu_limit=spec.cpu_limit,
        memory_request=spec.memory_request,
        memory_limit=spec.memory_limit,
        labels=_plain(spec.labels),
        annotations=_plain(spec.annotations),
    )


def _plain(values: Mapping[str, str]) -> dict[str, str]:
    return dict(values)
