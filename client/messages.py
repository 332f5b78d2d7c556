"""Translation between the client's keyword options and results and the protobuf messages:
both the blocking and the asyncio client speak through these functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC

from fnplane.client.models import Confirmation, Function, Token
from fnplane.v1 import auth_pb2
from fnplane.v1 import functions_pb2 as pb


def create_request(
    name: str,
    *,
    image: str,
    replicas: int | None,
    env: Mapping[str, str] | None,
    cpu_request: str,
    cpu_limit: str,
    memory_request: str,
    memory_limit: str,
    labels: Mapping[str, str] | None,
    annotations: Mapping[str, str] | None,
) -> pb.CreateFunctionRequest:
    """Answers the request for a new function; replicas left as None lets the server pick."""
    return pb.CreateFunctionRequest(
        name=name,
        image=image,
        replicas=replicas,
        env=env,
        cpu_request=cpu_request,
        cpu_limit=cpu_limit,
        memory_request=memory_request,
        memory_limit=memory_limit,
        labels=labels,
        annotations=annotations,
    )


def update_request(
    name: str,
    *,
    image: str | None,
    replicas: int | None,
    env: Mapping[str, str] | None,
    cpu_request: str | None,
    cpu_limit: str | None,
    memory_request: str | None,
    memory_limit: str | None,
    labels: Mapping[str, str] | None,
    annotations: Mapping[str, str] | None,
) -> pb.UpdateFunctionRequest:
    """Answers the request that changes exactly the options given (those not None).

    Every given option is named in the update mask, so an empty map clears it and a zero
    replica count stops the function, rather than either being taken as "left out".
    """
    changes = {
        "image": image,
        "replicas": replicas,
        "env": env,
        "cpu_request": cpu_request,
        "cpu_limit": cpu_limit,
        "memory_request": memory_request,
        "memory_limit": memory_limit,
        "labels": labels,
        "annotations": annotations,
    }
    given = {field: value for field, value in changes.items() if value is not None}
    request = pb.UpdateFunctionRequest(name=name, **given)  # type: ignore[arg-type]
    request.update_mask.paths.extend(given)
    return request


def function_from_pb(message: pb.Function) -> Function:
    """Answers the function a message describes."""
    return Function(
        name=message.name,
        image=message.image,
        replicas=message.replicas,
        env=dict(message.env),
        available_replicas=message.available_replicas,
        ready_replicas=message.ready_replicas,
        updated_replicas=message.updated_replicas,
        status=message.status,
        created_at=message.created_at.ToDatetime(tzinfo=UTC),
        status_message=message.status_message,
        cpu_request=message.cpu_request,
        cpu_limit=message.cpu_limit,
        memory_request=message.memory_request,
        memory_limit=message.memory_limit,
        labels=dict(message.labels),
        annotations=dict(message.annotations),
    )


def token_from_pb(message: auth_pb2.IssueTokenResponse) -> Token:
    """Answers the token a message carries."""
    return Token(
        token=message.token,
        expires_at=message.expires_at.ToDatetime(tzinfo=UTC),
        expires_in=message.expires_in,
        namespace=message.namespace,
    )


def confirmation_from_pb(
    message: pb.CreateFunctionResponse | pb.DeleteFunctionResponse,
) -> Confirmation:
    """Answers the confirmation of a create or a delete."""
    return Confirmation(name=message.name, message=message.message)
