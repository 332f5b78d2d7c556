"""Renders the Envoy configuration of `fnplane up` for chosen ports, files and certificates.

The template (`envoy.yaml`) holds the fixed shape; this module fills in ports and paths, and
adds what is derived from the contract and from the files on disk: the REST routes, the
bare-array routes, the dashboard's files and the JSON bodies of Envoy's own error replies.
"""

from __future__ import annotations

import json
import mimetypes
import string
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from google.rpc import code_pb2

from fnplane.envoy import routes
from fnplane.envoy.openapi import STREAM_MEDIA_TYPE

CLUSTER = "fnplane_grpc"
LUA_FILTER = "envoy.filters.http.lua"
TRANSCODER_FILTER = "envoy.filters.http.grpc_json_transcoder"
OPENAPI_PATH = "/openapi.json"
STOPPING_RUNTIME_KEY = "fnplane.stopping.refused_percent"
"""Runtime key that, set to 100 through Envoy's admin interface, has Envoy answer every new
call 503 (UNAVAILABLE) by itself: how `fnplane up` stops taking calls before its server stops."""
STOPPING_MESSAGE = "fnplane is stopping and takes no new calls; try again once it is back"

# Envoy's own replies (bad JSON, unknown path, body too large, server down) carry the gRPC
# code that matches their HTTP status, so that every error body has the same shape as the
# ones converted from the server's statuses.
LOCAL_REPLY_CODES = {
    400: code_pb2.INVALID_ARGUMENT,
    401: code_pb2.UNAUTHENTICATED,
    403: code_pb2.PERMISSION_DENIED,
    404: code_pb2.NOT_FOUND,
    405: code_pb2.UNIMPLEMENTED,
    408: code_pb2.DEADLINE_EXCEEDED,
    413: code_pb2.RESOURCE_EXHAUSTED,
    429: code_pb2.RESOURCE_EXHAUSTED,
    500: code_pb2.INTERNAL,
    501: code_pb2.UNIMPLEMENTED,
    502: code_pb2.UNAVAILABLE,
    503: code_pb2.UNAVAILABLE,
    504: code_pb2.DEADLINE_EXCEEDED,
}

# Content types of the files the dashboard is likely to hold; others come from `mimetypes`.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
    ".map": "application/json",
}

# Files of the dashboard package that are not part of the web page.
NOT_SERVED = {"__init__.py", "py.typed"}

# Envoy refuses direct responses over this size unless the route configuration allows more.
ENVOY_DIRECT_RESPONSE_LIMIT = 4096


@dataclass(frozen=True, kw_only=True)
class Site:
    """Everything the rendered configuration depends on."""

    http_host: str
    http_port: int
    dashboard_port: int
    grpc_port: int
    admin_port: int
    max_request_bytes: int
    tls_cert: str = ""
    tls_key: str = ""
    descriptor: Path | None = None
    openapi: Path | None = None
    dashboard: Path | None = None


def package_file(package: str, name: str) -> Path:
    """Answers the path of a file installed with one of fnplane's packages."""
    return Path(str(resources.files(package) / name))


def render(site: Site) -> str:
    """Answers the Envoy configuration for `site`, as YAML text Envoy reads."""
    descriptor = site.descriptor or routes.descriptor_path()
    openapi = site.openapi or package_file("fnplane.v1", "openapi.json")
    dashboard = site.dashboard or Path(str(resources.files("fnplane.dashboard")))
    contract = routes.load(descriptor)

    api_prefixes = _prefix_routes(contract)
    served = dict(_dashboard_files(dashboard))
    documents = [openapi, *served.values()]
    values = {
        "admin_port": site.admin_port,
        "http_host": site.http_host,
        "http_port": site.http_port,
        "dashboard_port": site.dashboard_port,
        "grpc_port": site.grpc_port,
        "max_request_bytes": site.max_request_bytes,
        "lua_file": str(package_file("fnplane.envoy", "rest.lua")),
        "stopping_runtime_key": STOPPING_RUNTIME_KEY,
        "descriptor": str(descriptor),
        "services": list(routes.service_names(contract)),
        "json_local_replies": _local_replies(site.max_request_bytes),
        "api_routes": [
            {"match": {"prefix": "/", "grpc": {}}, "route": _to_server(streams=True)},
            _file_route(OPENAPI_PATH, openapi),
            *api_prefixes,
            _not_found(),
        ],
        "dashboard_routes": [
            _file_route(OPENAPI_PATH, openapi),
            *api_prefixes,
            *(_file_route(path, file) for path, file in served.items()),
            _not_found(),
        ],
        "max_file_bytes": max(
            [ENVOY_DIRECT_RESPONSE_LIMIT, *(file.stat().st_size for file in documents)]
        ),
    }
    template = string.Template(package_file("fnplane.envoy", "envoy.yaml").read_text())
    text = template.substitute({name: json.dumps(value) for name, value in values.items()})
    if not (site.tls_cert or site.tls_key):
        return text
    # Loaded only here: PyYAML takes about 0.02 s to import, near a tenth of `fnplane up`'s
    # start, and only TLS needs it.
    import yaml  # noqa: PLC0415

    config = yaml.safe_load(text)
    for listener in config["static_resources"]["listeners"]:
        for chain in listener["filter_chains"]:
            chain["transport_socket"] = _tls(site)
    return str(yaml.safe_dump(config, sort_keys=False))


def _tls(site: Site) -> dict[str, Any]:
    """Answers the transport socket that ends TLS at a public listener (HTTP/2 or 1.1)."""
    return {
        "name": "envoy.transport_sockets.tls",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3"
            ".DownstreamTlsContext",
            "common_tls_context": {
                "alpn_protocols": ["h2", "http/1.1"],
                "tls_certificates": [
                    {
                        "certificate_chain": {"filename": site.tls_cert},
                        "private_key": {"filename": site.tls_key},
                    }
                ],
            },
        },
    }


def _to_server(*, streams: bool = False) -> dict[str, Any]:
    # A route timeout, or Envoy's idle timeout of five minutes, would cut a stream short
    # (a watch may stay quiet for hours), so routes that may carry one have neither.
    if streams:
        return {"cluster": CLUSTER, "timeout": "0s", "idle_timeout": "0s"}
    return {"cluster": CLUSTER, "timeout": "60s"}


def _prefix_routes(contract: Any) -> list[dict[str, Any]]:
    """Answers the routes that send REST calls to the transcoder: streaming and bare-array
    routes first, then one prefix route per top segment of the contract's paths (`/v1/`)."""
    known = routes.messages(contract)
    found: list[dict[str, Any]] = []
    prefixes: list[str] = []
    for route in routes.routes(contract):
        field = routes.bare_array_field(route, known)
        if route.streams or field is not None:
            special: dict[str, Any] = {
                "match": {
                    **_path_match(route.path),
                    "headers": [
                        {"name": ":method", "string_match": {"exact": route.verb.upper()}}
                    ],
                },
                "route": _to_server(streams=route.streams),
            }
            if route.streams:
                special["metadata"] = _lua_metadata(stream_content_type=STREAM_MEDIA_TYPE)
            if field is not None:
                special["metadata"] = _lua_metadata(bare_array_field=field)
            found.append(special)
        prefix = "/" + route.path.strip("/").split("/")[0] + "/"
        if prefix not in prefixes:
            prefixes.append(prefix)
    found.extend({"match": {"prefix": prefix}, "route": _to_server()} for prefix in prefixes)
    return found


def _lua_metadata(**values: str) -> dict[str, Any]:
    return {"filter_metadata": {LUA_FILTER: values}}


def _path_match(path: str) -> dict[str, Any]:
    if "{" not in path:
        return {"path": path}
    return {
        "path_match_policy": {
            "name": "envoy.path.match.uri_template.uri_template_matcher",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.path.match.uri_template.v3"
                ".UriTemplateMatchConfig",
                "path_template": path,
            },
        }
    }


def _dashboard_files(folder: Path) -> Iterator[tuple[str, Path]]:
    """Answers (URL path, file) for every file of the dashboard, `/` for its index.html."""
    for file in sorted(folder.rglob("*")):
        relative = file.relative_to(folder)
        hidden = any(part.startswith((".", "_")) for part in relative.parts)
        if not file.is_file() or hidden or file.name in NOT_SERVED or file.suffix == ".py":
            continue
        url = "/" + relative.as_posix()
        yield url, file
        if relative.as_posix() == "index.html":
            yield "/", file


def _file_route(path: str, file: Path) -> dict[str, Any]:
    content_type = CONTENT_TYPES.get(file.suffix) or (
        mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    )
    return {
        "match": {"path": path},
        "typed_per_filter_config": _without_transcoder(),
        "direct_response": {"status": 200, "body": {"filename": str(file)}},
        "response_headers_to_add": [
            _header("content-type", content_type),
            _header("cache-control", "no-cache"),
            _header("x-content-type-options", "nosniff"),
        ],
    }


def _without_transcoder() -> dict[str, Any]:
    # The transcoder refuses every path that is not an RPC's; files are not.
    return {
        TRANSCODER_FILTER: {
            "@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig",
            "disabled": True,
        }
    }


def _header(name: str, value: str) -> dict[str, Any]:
    return {
        "header": {"key": name, "value": value},
        "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
    }


def _not_found() -> dict[str, Any]:
    return {
        "match": {"prefix": "/"},
        "typed_per_filter_config": _without_transcoder(),
        "direct_response": {
            "status": 404,
            "body": {
                "inline_string": "no such path: the REST API is under /v1/ and /auth/, "
                f"described at {OPENAPI_PATH}"
            },
        },
    }


def _local_replies(max_request_bytes: int) -> list[dict[str, Any]]:
    """Answers the mappers that turn Envoy's own error replies into fnplane's JSON errors.

    Only calls the Lua filter marked as REST get them: the transcoder turns a REST call's
    headers into gRPC ones before it reads the body, so the content type cannot tell them
    apart, and native gRPC calls keep Envoy's gRPC status replies.
    """
    messages = {
        413: f"the request body is larger than the limit of {max_request_bytes} bytes",
        503: "the fnplane server is not reachable: %LOCAL_REPLY_BODY%",
    }
    # A call refused while fnplane stops is marked as a fault the fault filter injected.
    stopping = {"response_flag_filter": {"flags": ["FI"]}}
    mappers = [
        _mapper(stopping, code_pb2.UNAVAILABLE, STOPPING_MESSAGE),
        # A native gRPC call gets the same message, as its status message.
        {"filter": stopping, "body": {"inline_string": STOPPING_MESSAGE}},
    ]
    mappers += [
        _mapper(
            {"status_code_filter": _status_is("EQ", status)},
            code,
            messages.get(status, "%LOCAL_REPLY_BODY%"),
        )
        for status, code in LOCAL_REPLY_CODES.items()
    ]
    mappers.append(
        _mapper(
            {"status_code_filter": _status_is("GE", 400)}, code_pb2.UNKNOWN, "%LOCAL_REPLY_BODY%"
        )
    )
    return mappers


def _status_is(op: str, status: int) -> dict[str, Any]:
    return {"comparison": {"op": op, "value": {"default_value": status, "runtime_key": ""}}}


def _mapper(matching: dict[str, Any], code: int, message: str) -> dict[str, Any]:
    marked_rest = {
        "metadata_filter": {
            "matcher": {
                "filter": "fnplane",
                "path": [{"key": "rest"}],
                "value": {"string_match": {"exact": "true"}},
            },
            "match_if_key_not_found": False,
        }
    }
    # Envoy refuses some calls (a path it cannot normalise, say) before any filter has run,
    # so nothing is marked; such a call is REST unless it says it is gRPC.
    unmarked_but_not_grpc = {
        "header_filter": {
            "header": {
                "name": "content-type",
                "string_match": {"prefix": "application/grpc"},
                "invert_match": True,
            }
        }
    }
    rest = {"or_filter": {"filters": [marked_rest, unmarked_but_not_grpc]}}
    return {
        "filter": {"and_filter": {"filters": [matching, rest]}},
        "body_format_override": {
            "json_format": {"code": int(code), "message": message, "details": []},
        },
    }
