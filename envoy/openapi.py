"""Writes the OpenAPI 3 description of fnplane's REST API from the contract's descriptor set.

Run as `python -m fnplane.envoy.openapi DESCRIPTOR_SET > openapi.json` (scripts/generate does).
The shapes are the ones Envoy answers with: snake_case field names, zero values printed,
64-bit integers as strings, timestamps as RFC 3339 text, a list RPC's answer as a bare array,
and errors as `{"code", "message", "details"}`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2

from fnplane.envoy import routes

Field = descriptor_pb2.FieldDescriptorProto

# How a streaming RPC's answer is documented: newline-delimited JSON objects.
STREAM_MEDIA_TYPE = "application/x-ndjson"

_SCALARS: dict[int, dict[str, Any]] = {
    Field.TYPE_STRING: {"type": "string"},
    Field.TYPE_BOOL: {"type": "boolean"},
    Field.TYPE_INT32: {"type": "integer", "format": "int32"},
    Field.TYPE_SINT32: {"type": "integer", "format": "int32"},
    Field.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    Field.TYPE_UINT32: {"type": "integer", "format": "int64", "minimum": 0},
    Field.TYPE_FIXED32: {"type": "integer", "format": "int64", "minimum": 0},
    Field.TYPE_INT64: {"type": "string", "format": "int64"},
    Field.TYPE_SINT64: {"type": "string", "format": "int64"},
    Field.TYPE_SFIXED64: {"type": "string", "format": "int64"},
    Field.TYPE_UINT64: {"type": "string", "format": "uint64"},
    Field.TYPE_FIXED64: {"type": "string", "format": "uint64"},
    Field.TYPE_DOUBLE: {"type": "number", "format": "double"},
    Field.TYPE_FLOAT: {"type": "number", "format": "float"},
    Field.TYPE_BYTES: {"type": "string", "format": "byte"},
}

# Well-known types have their own JSON forms instead of an object of their fields.
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {
        "type": "string",
        "format": "date-time",
        "example": "2025-11-01T00:45:26Z",
    },
    "google.protobuf.Duration": {"type": "string", "example": "3.5s"},
    "google.protobuf.FieldMask": {
        "type": "string",
        "description": "Comma-separated field names, such as `env,replicas`.",
    },
    "google.protobuf.Struct": {"type": "object"},
    "google.protobuf.Any": {"type": "object"},
}

_ERROR = {
    "type": "object",
    "description": "An error: the gRPC status code, a message for people, and details such as "
    "google.rpc.BadRequest field violations.",
    "required": ["code", "message", "details"],
    "properties": {
        "code": {
            "type": "integer",
            "format": "int32",
            "description": "The gRPC status code, such as 3 (INVALID_ARGUMENT) or 5 (NOT_FOUND).",
        },
        "message": {"type": "string", "description": "What went wrong."},
        "details": {
            "type": "array",
            "description": "Typed details, each naming its type in `@type`.",
            "items": {
                "type": "object",
                "required": ["@type"],
                "properties": {"@type": {"type": "string"}},
                "additionalProperties": True,
            },
        },
    },
}

_ERROR_STATUSES = {
    "400": "A field breaks a rule (with google.rpc.BadRequest field violations), the body is "
    "not valid JSON for the request, or a query parameter is unknown.",
    "401": "The bearer token is missing, invalid or expired.",
    "404": "No function of that name in the caller's namespace.",
    "409": "A function of that name exists already.",
    "413": "The request body is larger than the proxy accepts.",
    "503": "The fnplane server cannot be reached.",
}

# AuthService hands out the tokens, so its calls are the ones made without one.
_OPEN_SERVICES = ("fnplane.v1.AuthService",)


def describe(files: descriptor_pb2.FileDescriptorSet) -> dict[str, Any]:
    """Answers the OpenAPI document of every annotated RPC in `files`."""
    schemas = _Schemas(files)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes.routes(files):
        paths.setdefault(route.path, {})[route.verb] = _operation(route, schemas)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "fnplane",
            "version": routes.PACKAGE.rsplit(".", 1)[-1],
            "description": "Create, list, inspect, scale, update and delete serverless "
            "functions. Every call under /v1/ needs a bearer token from POST /auth/token.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": dict(sorted({**schemas.named, "Error": _ERROR}.items())),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


class _Schemas:
    """The JSON schemas of the contract's messages, as Envoy's transcoder writes them."""

    def __init__(self, files: descriptor_pb2.FileDescriptorSet) -> None:
        self.known = routes.messages(files)
        self.named: dict[str, Any] = {}
        self._comments = routes.message_comments(files)
        self._responses = {route.response for route in routes.routes(files)}

    def of(self, name: str) -> dict[str, Any]:
        """Answers a reference to the message's schema (or the well-known type's own form)."""
        if name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[name])
        short = name.rsplit(".", 1)[-1]
        if short not in self.named:
            self.named[short] = {}  # a placeholder, since a message may refer to itself
            self.named[short] = self.message(name)
        return {"$ref": f"#/components/schemas/{short}"}

    def field(self, field: descriptor_pb2.FieldDescriptorProto) -> dict[str, Any]:
        """Answers the schema of one field: a map, a list or a single value."""
        if field.type == Field.TYPE_MESSAGE:
            nested = self.known[field.type_name.lstrip(".")]
            if nested.options.map_entry:
                return {"type": "object", "additionalProperties": self._value(nested.field[1])}
        single = self._value(field)
        if field.label == Field.LABEL_REPEATED:
            return {"type": "array", "items": single}
        return single

    def message(self, name: str, leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
        """Answers the schema of a message's JSON object, less the fields in `leave_out`."""
        properties: dict[str, Any] = {}
        always: list[str] = []
        for field in self.known[name].field:
            if field.name in leave_out:
                continue
            schema = self.field(field)
            note = self._comments.get(f"{name}.{field.name}", "")
            if note and "$ref" not in schema:
                schema["description"] = note
            properties[field.name] = schema
            # Envoy prints every field without presence, zero or not, in its answers.
            if name in self._responses and not field.proto3_optional and "$ref" not in schema:
                always.append(field.name)
        described: dict[str, Any] = {"type": "object", "properties": properties}
        if always:
            described["required"] = always
        if self._comments.get(name):
            described["description"] = self._comments[name]
        return described

    def _value(self, field: descriptor_pb2.FieldDescriptorProto) -> dict[str, Any]:
        if field.type == Field.TYPE_MESSAGE:
            return self.of(field.type_name.lstrip("."))
        if field.type == Field.TYPE_ENUM:
            return {"type": "string"}
        return dict(_SCALARS[field.type])


def _operation(route: routes.Route, schemas: _Schemas) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": route.method,
        "tags": [route.service.rsplit(".", 1)[-1]],
        "summary": route.comment.split(". ")[0].rstrip("."),
        "description": route.comment,
    }
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in route.path_fields
    ]
    if route.body == "*":
        body = schemas.message(route.request, leave_out=route.path_fields)
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    elif not route.body:
        parameters += [
            {"name": field.name, "in": "query", "schema": schemas.field(field)}
            for field in schemas.known[route.request].field
            if field.name not in route.path_fields
            and (field.type != Field.TYPE_MESSAGE or field.type_name.lstrip(".") in _WELL_KNOWN)
        ]
    if parameters:
        operation["parameters"] = parameters

    bare = routes.bare_array_field(route, schemas.known)
    media = "application/json"
    if route.streams:
        answer, media = schemas.of(route.response), STREAM_MEDIA_TYPE
        said = (
            f"A stream of {route.response.rsplit('.', 1)[-1]} objects, one JSON object per line, "
            "each sent as it comes."
        )
    elif bare is None:
        answer, said = schemas.of(route.response), "OK"
    else:
        element = next(f for f in schemas.known[route.response].field if f.name == bare)
        answer = schemas.field(element)
        said = f"The {bare}, as a bare JSON array (`[]` when there are none)."
    operation["responses"] = {
        "200": {"description": said, "content": {media: {"schema": answer}}},
        **_error_responses(route),
    }
    if route.service in _OPEN_SERVICES:
        operation["security"] = []
    return operation


def _error_responses(route: routes.Route) -> dict[str, Any]:
    wanted = ["400", "503"]
    if route.service not in _OPEN_SERVICES:
        wanted.append("401")
    if route.path_fields:
        wanted.append("404")
    if route.verb == "post" and route.service not in _OPEN_SERVICES:
        wanted.append("409")
    if route.body:
        wanted.append("413")
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    answers = {
        status: {"description": _ERROR_STATUSES[status], "content": error}
        for status in sorted(wanted)
    }
    answers["default"] = {"description": "Any other error.", "content": error}
    return answers


def main(argv: list[str]) -> int:
    """Prints the OpenAPI document of the descriptor set named in `argv`."""
    if len(argv) != 1:
        sys.stderr.write("usage: python -m fnplane.envoy.openapi DESCRIPTOR_SET\n")
        return 2
    document = describe(routes.load(Path(argv[0])))
    sys.stdout.write(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
