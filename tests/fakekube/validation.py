"""The API server's validation of the objects the fake stores, answered as 422 Invalid."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from tests.fakekube.resources import DEPLOYMENTS, NAMESPACES, PODS, SERVICES, Resource
from tests.fakekube.selectors import spec_selector_matches
from tests.fakekube.statuses import ApiError

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_QUANTITY = re.compile(
    r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$"
)

LABEL_MESSAGE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character"
)
SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character"
)
DNS1123_LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
DNS1035_LABEL_MESSAGE = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
    "an alphabetic character, and end with an alphanumeric character"
)


def _show(value: Any) -> str:
    """Formats a rejected value the way Go's %v/%q does in field error messages."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


@dataclass
class FieldErrors:
    """The field errors found in one object, in the order the server reports them."""

    causes: list[dict[str, str]] = field(default_factory=list)

    def required(self, path: str, detail: str = "") -> None:
        self._add("FieldValueRequired", path, "Required value" + (f": {detail}" if detail else ""))

    def invalid(self, path: str, value: Any, detail: str) -> None:
        self._add("FieldValueInvalid", path, f"Invalid value: {_show(value)}: {detail}")

    def unsupported(self, path: str, value: Any, supported: list[str]) -> None:
        choices = ", ".join(json.dumps(s) for s in supported)
        self._add(
            "FieldValueNotSupported",
            path,
            f"Unsupported value: {_show(value)}: supported values: {choices}",
        )

    def duplicate(self, path: str, value: Any) -> None:
        self._add("FieldValueDuplicate", path, f"Duplicate value: {_show(value)}")

    def forbidden(self, path: str, detail: str) -> None:
        self._add("FieldValueForbidden", path, f"Forbidden: {detail}")

    def _add(self, reason: str, path: str, message: str) -> None:
        self.causes.append({"reason": reason, "message": message, "field": path})

    def as_error(self, *, kind: str, group: str, name: str) -> ApiError | None:
        """The 422 Invalid answer listing every error found, or None when there is none."""
        if not self.causes:
            return None
        lines = [f"{c['field']}: {c['message']}" for c in self.causes]
        summary = lines[0] if len(lines) == 1 else "[" + ", ".join(lines) + "]"
        details: dict[str, Any] = {"name": name, "kind": kind, "causes": self.causes}
        if group:
            details["group"] = group
        qualified = f"{kind}.{group}" if group else kind
        return ApiError(
            422, "Invalid", f'{qualified} "{name}" is invalid: {summary}', details=details
        )

    def raise_if_any(self, resource: Resource, name: str) -> None:
        error = self.as_error(kind=resource.kind, group=resource.group, name=name)
        if error is not None:
            raise error


def check_dns_label(errors: FieldErrors, path: str, value: str) -> None:
    if len(value) > 63:
        errors.invalid(path, value, "must be no more than 63 characters")
    if not _DNS1123_LABEL.match(value):
        errors.invalid(path, value, DNS1123_LABEL_MESSAGE + " (e.g. 'my-name', or '123-abc')")


def _check_subdomain(errors: FieldErrors, path: str, value: str) -> None:
    if len(value) > 253:
        errors.invalid(path, value, "must be no more than 253 characters")
    if not _DNS1123_SUBDOMAIN.match(value):
        errors.invalid(path, value, SUBDOMAIN_MESSAGE + " (e.g. 'example.com')")


def _check_dns1035(errors: FieldErrors, path: str, value: str) -> None:
    if len(value) > 63:
        errors.invalid(path, value, "must be no more than 63 characters")
    if not _DNS1035_LABEL.match(value):
        errors.invalid(path, value, DNS1035_LABEL_MESSAGE + " (e.g. 'my-name', or 'abc-123')")


def check_label_key(errors: FieldErrors, path: str, key: str) -> None:
    prefix, _, name = key.rpartition("/")
    if "/" in key and not prefix:
        errors.invalid(path, key, "prefix part must be non-empty")
    if prefix:
        _check_subdomain(errors, path, prefix)
    if not name or len(name) > 63 or not _QUALIFIED_NAME.match(name):
        errors.invalid(
            path,
            key,
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must "
            "start and end with an alphanumeric character, and be no more than 63 characters",
        )


def check_metadata(errors: FieldErrors, resource: Resource, metadata: dict[str, Any]) -> None:
    name = metadata.get("name") or ""
    if not name:
        errors.required("metadata.name", "name or generateName is required")
    elif resource is SERVICES:
        _check_dns1035(errors, "metadata.name", name)
    elif resource is NAMESPACES:
        check_dns_label(errors, "metadata.name", name)
    else:
        _check_subdomain(errors, "metadata.name", name)

    for key, value in (metadata.get("labels") or {}).items():
        check_label_key(errors, "metadata.labels", key)
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            errors.invalid(
                "metadata.labels",
                value,
                LABEL_MESSAGE + " (e.g. 'MyValue', or 'my_value', or '12345')",
            )
    for key in metadata.get("annotations") or {}:
        check_label_key(errors, "metadata.annotations", key)


def _check_quantities(errors: FieldErrors, path: str, resources: dict[str, Any]) -> None:
    for section in ("requests", "limits"):
        for name, value in (resources.get(section) or {}).items():
            if not _QUANTITY.match(str(value)):
                errors.invalid(
                    f"{path}.{section}[{name}]",
                    value,
                    "must match the regex ^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$",
                )


def check_pod_spec(errors: FieldErrors, path: str, spec: dict[str, Any]) -> None:
    containers = spec.get("containers")
    if not containers:
        errors.required(f"{path}.containers")
        return
    seen: set[str] = set()
    for index, container in enumerate(containers):
        where = f"{path}.containers[{index}]"
        name = container.get("name") or ""
        if not name:
            errors.required(f"{where}.name")
        else:
            check_dns_label(errors, f"{where}.name", name)
            if name in seen:
                errors.duplicate(f"{where}.name", name)
            seen.add(name)
        if not container.get("image"):
            errors.required(f"{where}.image")
        for port_index, port in enumerate(container.get("ports") or []):
            number = port.get("containerPort")
            if not isinstance(number, int) or not 1 <= number <= 65535:
                errors.invalid(
                    f"{where}.ports[{port_index}].containerPort",
                    number if number is not None else 0,
                    "must be between 1 and 65535, inclusive",
                )
        for env_index, variable in enumerate(container.get("env") or []):
            env_name = variable.get("name") or ""
            if not env_name:
                errors.required(f"{where}.env[{env_index}].name")
            elif not _ENV_NAME.match(env_name):
                errors.invalid(
                    f"{where}.env[{env_index}].name",
                    env_name,
                    "a valid environment variable name must consist of alphabetic characters, "
                    "digits, '_', '-', or '.', and must not start with a digit",
                )
        _check_quantities(errors, f"{where}.resources", container.get("resources") or {})


def check_deployment(errors: FieldErrors, spec: dict[str, Any]) -> None:
    replicas = spec.get("replicas")
    if isinstance(replicas, int) and replicas < 0:
        errors.invalid("spec.replicas", replicas, "must be greater than or equal to 0")
    selector = spec.get("selector")
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if not selector:
        errors.required("spec.selector")
    elif not (selector.get("matchLabels") or selector.get("matchExpressions")):
        errors.invalid("spec.selector", selector, "empty selector is invalid for deployment")
    elif not spec_selector_matches(selector, labels):
        errors.invalid(
            "spec.template.metadata.labels",
            labels,
            "`selector` does not match template `labels`",
        )
    check_pod_spec(errors, "spec.template.spec", template.get("spec") or {})


def check_service(errors: FieldErrors, spec: dict[str, Any]) -> None:
    kind = spec.get("type", "ClusterIP")
    supported = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
    if kind not in supported:
        errors.unsupported("spec.type", kind, supported)
    ports = spec.get("ports") or []
    if not ports and kind != "ExternalName" and spec.get("clusterIP") != "None":
        errors.required("spec.ports")
    names: set[str] = set()
    for index, port in enumerate(ports):
        number = port.get("port")
        if not isinstance(number, int) or not 1 <= number <= 65535:
            errors.invalid(
                f"spec.ports[{index}].port",
                number if number is not None else 0,
                "must be between 1 and 65535, inclusive",
            )
        name = port.get("name") or ""
        if len(ports) > 1 and not name:
            errors.required(f"spec.ports[{index}].name")
        elif name in names:
            errors.duplicate(f"spec.ports[{index}].name", name)
        names.add(name)


def check(resource: Resource, obj: dict[str, Any]) -> None:
    """Raises 422 Invalid listing every field error in `obj`, as the API server would."""
    errors = FieldErrors()
    metadata = obj.get("metadata") or {}
    check_metadata(errors, resource, metadata)
    spec = obj.get("spec") or {}
    if resource is DEPLOYMENTS:
        check_deployment(errors, spec)
    elif resource is SERVICES:
        check_service(errors, spec)
    elif resource is PODS:
        check_pod_spec(errors, "spec", spec)
    errors.raise_if_any(resource, metadata.get("name") or "")


def check_update(resource: Resource, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Raises 422 Invalid for changes to fields the API server keeps immutable."""
    errors = FieldErrors()
    old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
    if resource is DEPLOYMENTS and old_spec.get("selector") != new_spec.get("selector"):
        errors.invalid("spec.selector", new_spec.get("selector"), "field is immutable")
    if resource is SERVICES and old_spec.get("clusterIP") != new_spec.get("clusterIP"):
        errors.invalid("spec.clusterIPs[0]", new_spec.get("clusterIP"), "field is immutable")
    errors.raise_if_any(resource, (new.get("metadata") or {}).get("name") or "")
