"""Which resource, verb and object an HTTP request to the API addresses."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from tests.fakekube import resources
from tests.fakekube.resources import PODS, Resource
from tests.fakekube.statuses import ApiError, bad_request, method_not_allowed

TRUE = ("true", "1")
NON_RESOURCE = ("/version", "/api", "/apis", "/healthz", "/livez", "/readyz")


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received, named as RBAC and audit logs name requests."""

    verb: str
    """get, list, watch, create, update, patch, delete or deletecollection."""
    path: str
    query: Mapping[str, str]
    resource: str
    """The resource with its subresource (deployments, deployments/status, pods/log); empty
    for discovery and other non-resource paths."""
    namespace: str | None = None
    name: str | None = None
    method: str = "GET"


@dataclass(frozen=True)
class Route:
    """What a request addresses."""

    verb: str
    resource: Resource | None
    subresource: str = ""
    namespace: str | None = None
    name: str | None = None

    @property
    def rbac_resource(self) -> str:
        if self.resource is None:
            return ""
        if self.subresource:
            return f"{self.resource.plural}/{self.subresource}"
        return self.resource.plural


def no_such_path() -> ApiError:
    return ApiError(
        404, "NotFound", "the server could not find the requested resource", details={}
    )


_PATH = re.compile(
    r"^/(?:api/(?P<core>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))(?P<rest>/.*)?$"
)


def route(method: str, path: str, query: Mapping[str, str]) -> Route:
    """Answers what a request addresses; a path the fake does not serve is a 404."""
    found = _PATH.match(path)
    if path in NON_RESOURCE or (found and not found["rest"]) or path == "/apis/apps":
        if method != "GET":
            raise method_not_allowed(f"the server does not allow this method on {path}")
        return Route("get", None)
    if not found:
        raise no_such_path()
    group = found["group"] or ""
    version = found["core"] or found["version"]
    parts = [urllib.parse.unquote(p) for p in found["rest"].strip("/").split("/")]

    namespace: str | None = None
    if len(parts) >= 3 and parts[0] == "namespaces":
        namespaced = resources.find(group, version, parts[2])
        if namespaced is None or not namespaced.namespaced:
            raise no_such_path()
        namespace, parts = parts[1], parts[2:]
    resource = resources.find(group, version, parts[0])
    if resource is None or len(parts) > 3:
        raise no_such_path()
    name = parts[1] if len(parts) > 1 else None
    subresource = parts[2] if len(parts) > 2 else ""
    if subresource and not (
        (subresource == "status" and resource.has_status)
        or (subresource == "log" and resource is PODS)
    ):
        raise no_such_path()
    if resource.namespaced and namespace is None and name is not None:
        raise no_such_path()

    if name is None:
        verbs = {"GET": "list", "POST": "create", "DELETE": "deletecollection"}
        if method not in verbs or (method == "POST" and resource.namespaced and not namespace):
            raise method_not_allowed(f"the server does not allow this method on {path}")
        verb = verbs[method]
        if verb == "list" and query.get("watch") in TRUE:
            verb = "watch"
        return Route(verb, resource, "", namespace, None)
    verbs = {"GET": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
    if method not in verbs or (subresource == "log" and method != "GET"):
        raise method_not_allowed(f"the server does not allow this method on {path}")
    if subresource == "status" and method == "DELETE":
        raise method_not_allowed(f"the server does not allow this method on {path}")
    return Route(verbs[method], resource, subresource, namespace, name)


def integer_param(query: Mapping[str, str], name: str) -> int | None:
    if not query.get(name):
        return None
    try:
        return int(query[name])
    except ValueError as error:
        raise bad_request(f"{name}: invalid integer {query[name]!r}") from error
