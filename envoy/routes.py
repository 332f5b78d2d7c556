"""The REST routes of the contract, read from the descriptor set that `scripts/generate` makes.

Envoy's transcoder reads the same `google.api.http` annotations; this module reads them for
the parts fnplane adds around the transcoder: the OpenAPI description, and which answers
are sent as a bare JSON array.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2

PACKAGE = "fnplane.v1"
VERBS = ("get", "put", "post", "delete", "patch")


@dataclass(frozen=True)
class Route:
    """One RPC as REST sees it: verb, path template and which fields come from the body."""

    service: str
    method: str
    verb: str
    path: str
    body: str
    request: str
    response: str
    comment: str
    streams: bool = False

    @property
    def path_fields(self) -> tuple[str, ...]:
        """Answers the request fields named in the path, such as `name` in `{name}`."""
        fields = []
        for part in self.path.split("/"):
            if part.startswith("{") and part.endswith("}"):
                fields.append(part[1:-1].split("=")[0])
        return tuple(fields)


def descriptor_path() -> Path:
    """Answers the installed descriptor set of the contract, with its imports."""
    return Path(str(resources.files("fnplane.v1") / "fnplane.binpb"))


def load(path: Path) -> descriptor_pb2.FileDescriptorSet:
    """Answers the descriptor set stored at `path`."""
    return descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes())


def service_names(files: descriptor_pb2.FileDescriptorSet) -> tuple[str, ...]:
    """Answers the full names of fnplane's own services, as Envoy's transcoder lists them."""
    return tuple(
        f"{file.package}.{service.name}"
        for file in files.file
        if file.package == PACKAGE
        for service in file.service
    )


def routes(files: descriptor_pb2.FileDescriptorSet) -> list[Route]:
    """Answers every annotated RPC of fnplane's services, in the order the contract lists them."""
    found = []
    for file in files.file:
        if file.package != PACKAGE:
            continue
        comments = _comments(file)
        for service_index, service in enumerate(file.service):
            for method_index, method in enumerate(service.method):
                rule = _http_rule(method)
                if rule is None:
                    continue
                verb = rule.WhichOneof("pattern")
                if verb not in VERBS:
                    continue
                found.append(
                    Route(
                        service=f"{file.package}.{service.name}",
                        method=method.name,
                        verb=verb,
                        path=getattr(rule, verb),
                        body=rule.body,
                        request=method.input_type.lstrip("."),
                        response=method.output_type.lstrip("."),
                        comment=comments.get((6, service_index, 2, method_index), ""),
                        streams=method.server_streaming,
                    )
                )
    return found


def messages(files: descriptor_pb2.FileDescriptorSet) -> dict[str, descriptor_pb2.DescriptorProto]:
    """Answers every message of the set by its full name, nested ones included."""
    found: dict[str, descriptor_pb2.DescriptorProto] = {}

    def add(prefix: str, message: descriptor_pb2.DescriptorProto) -> None:
        name = f"{prefix}.{message.name}"
        found[name] = message
        for nested in message.nested_type:
            add(name, nested)

    for file in files.file:
        for message in file.message_type:
            add(file.package, message)
    return found


def bare_array_field(route: Route, known: dict[str, descriptor_pb2.DescriptorProto]) -> str | None:
    """Answers the field whose list a GET answers on its own, as a bare JSON array, or None.

    A GET whose response holds nothing but one repeated message field (ListFunctions'
    `functions`) is answered over REST as that list alone; Envoy unwraps it after
    transcoding.
    """
    if route.verb != "get" or route.streams:
        return None
    fields = known[route.response].field
    if len(fields) != 1:
        return None
    only = fields[0]
    repeated = only.label == descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED
    if not repeated or only.type != descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE:
        return None
    if known[only.type_name.lstrip(".")].options.map_entry:
        return None
    return only.name


def message_comments(
    files: descriptor_pb2.FileDescriptorSet,
) -> dict[str, str]:
    """Answers the leading comment of every fnplane message and field, by full name.

    A field's key is `message.field`, such as `fnplane.v1.Function.name`.
    """
    found: dict[str, str] = {}
    for file in files.file:
        if file.package != PACKAGE:
            continue
        comments = _comments(file)
        for index, message in enumerate(file.message_type):
            name = f"{file.package}.{message.name}"
            found[name] = comments.get((4, index), "")
            for field_index, field in enumerate(message.field):
                found[f"{name}.{field.name}"] = comments.get((4, index, 2, field_index), "")
    return found


def _http_rule(method: descriptor_pb2.MethodDescriptorProto) -> http_pb2.HttpRule | None:
    # The descriptor set is parsed without the extension registered, so the annotation sits
    # in the options' unknown fields; reparsing with the extension known brings it out.
    options = descriptor_pb2.MethodOptions.FromString(method.options.SerializeToString())
    if not options.HasExtension(annotations_pb2.http):
        return None
    rule: http_pb2.HttpRule = options.Extensions[annotations_pb2.http]
    return rule


def _comments(file: descriptor_pb2.FileDescriptorProto) -> dict[tuple[int, ...], str]:
    return {
        tuple(location.path): " ".join(location.leading_comments.split())
        for location in file.source_code_info.location
        if location.leading_comments
    }
