"""The API server's `Status` answers: failures raised as `ApiError`, and success bodies."""

from __future__ import annotations

from typing import Any

from tests.fakekube.resources import Resource

JsonObject = dict[str, Any]


class ApiError(Exception):
    """A failure the fake answers as a `Status` body with the HTTP code it carries."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        details: JsonObject | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.retry_after = retry_after
        """Seconds a client should wait before retrying, sent as a Retry-After header."""

    def body(self) -> JsonObject:
        """Answers the `Status` object the real API server sends for this failure."""
        status: JsonObject = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        details = dict(self.details) if self.details is not None else None
        if self.retry_after is not None:
            details = {**(details or {}), "retryAfterSeconds": self.retry_after}
        if details is not None:
            status["details"] = details
        return status


def _details(resource: Resource, name: str, **extra: Any) -> JsonObject:
    details: JsonObject = {"name": name, "kind": resource.plural}
    if resource.group:
        details["group"] = resource.group
    details.update(extra)
    return details


def not_found(resource: Resource, name: str) -> ApiError:
    return ApiError(
        404,
        "NotFound",
        f'{resource.qualified} "{name}" not found',
        details=_details(resource, name),
    )


def already_exists(resource: Resource, name: str) -> ApiError:
    return ApiError(
        409,
        "AlreadyExists",
        f'{resource.qualified} "{name}" already exists',
        details=_details(resource, name),
    )


def conflict(resource: Resource, name: str, why: str) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {resource.qualified} "{name}": {why}',
        details=_details(resource, name),
    )


def stale(resource: Resource, name: str) -> ApiError:
    """The answer to a write whose metadata.resourceVersion is not the stored one."""
    return conflict(
        resource,
        name,
        "the object has been modified; please apply your changes to the latest version "
        "and try again",
    )


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def method_not_allowed(message: str) -> ApiError:
    return ApiError(405, "MethodNotAllowed", message)


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format: "
        f"accepted media types include: application/json-patch+json, "
        f"application/merge-patch+json, application/strategic-merge-patch+json; "
        f"got {content_type!r}",
    )


def expired(requested: int, oldest: int) -> ApiError:
    """The answer for a resourceVersion older than the history the server keeps."""
    return ApiError(410, "Expired", f"too old resource version: {requested} ({oldest})")


def unprocessable(message: str) -> ApiError:
    """A well-formed patch that cannot be applied to the stored object."""
    return ApiError(422, "Invalid", message)


def internal(message: str) -> ApiError:
    return ApiError(500, "InternalError", f"Internal error occurred: {message}")


def forbidden(
    resource: Resource,
    verb: str,
    namespace: str | None,
    name: str | None,
    user: str,
    *,
    subresource: str = "",
) -> ApiError:
    """RBAC's refusal, worded as the API server words it (naming the object if there is one)."""
    named = f"{resource.plural}/{subresource}" if subresource else resource.plural
    scope = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    target = f'{resource.qualified} "{name}"' if name else resource.qualified
    details: JsonObject = {"kind": resource.plural}
    if name:
        details["name"] = name
    if resource.group:
        details["group"] = resource.group
    return ApiError(
        403,
        "Forbidden",
        f'{target} is forbidden: User "{user}" cannot {verb} resource "{named}" '
        f'in API group "{resource.group}"{scope}',
        details=details,
    )


def success(resource: Resource, name: str, uid: str) -> JsonObject:
    """The `Status` a delete answers for kinds that do not return the deleted object."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": _details(resource, name, uid=uid),
    }
