"""Field rules for function requests: pure functions that raise InvalidArgument.

Every rule here exists because the value ends up in a Kubernetes object: names become
Deployment and Service names, env keys become container variables, quantities become
resource requirements. The rules are checked before any state changes, and all broken rules
of a request are reported together.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal

from fnplane.server.domain import FunctionSpec, FunctionUpdate
from fnplane.server.errors import FieldViolation, InvalidArgument, ResourceExhausted

# A DNS-1035 label: what Kubernetes accepts as a Service name.
_DNS_1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_DNS_1123_SUBDOMAIN = re.compile(
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
)
_WHITESPACE = re.compile(r"\s")
_C_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
# A Kubernetes quantity: a signed decimal number, then a binary or decimal SI suffix or a
# decimal exponent. The API server refuses values that do not fit in 63 bits.
_QUANTITY = re.compile(
    r"[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?\d{1,3})?"
)
_QUANTITY_MAX = Decimal(2**63)

# An OCI image reference, after the distribution project's reference grammar:
# [host[:port]/]path[:tag][@algorithm:hex].
_HOST_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_HOST_PART}(?:\.{_HOST_PART})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_PATH_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_IMAGE = re.compile(rf"(?:{_HOST}/)?{_PATH_PART}(?:/{_PATH_PART})*(?::{_TAG})?(?:@{_DIGEST})?")

NAME_MAX = 63
IMAGE_MAX = 512
ENV_MAX_ENTRIES = 100
ENV_VALUE_MAX_BYTES = 32 * 1024
LABEL_VALUE_MAX = 63
ANNOTATIONS_MAX_BYTES = 256 * 1024

# Keys fnplane sets itself to find and select its objects; a user value would break that.
RESERVED_LABELS = frozenset({"app.kubernetes.io/managed-by", "app.kubernetes.io/name"})


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Bounds that depend on the server's configuration rather than on Kubernetes."""

    max_replicas: int = 100
    max_functions: int = 1000
    """How many functions one namespace may hold."""


def check_name(name: str) -> None:
    """Raises InvalidArgument unless `name` could name a function."""
    _raise_if(list(_name_violations("name", name)))


def check_spec(spec: FunctionSpec, limits: Limits) -> None:
    """Raises InvalidArgument listing every rule `spec` breaks."""
    violations = [
        *_name_violations("name", spec.name),
        *_image_violations("image", spec.image),
        *_replica_violations("replicas", spec.replicas, limits),
    ]
    # Most creates set no maps and no resources; skipping their rules when they are empty
    # keeps a create's validation to the three fields every function has.
    if spec.env:
        violations += _env_violations("env", spec.env)
    if spec.cpu_request or spec.cpu_limit or spec.memory_request or spec.memory_limit:
        violations += _resource_violations(spec)
    if spec.labels:
        violations += _label_violations("labels", spec.labels)
    if spec.annotations:
        violations += _annotation_violations("annotations", spec.annotations)
    _raise_if(violations)


def check_update(update: FunctionUpdate, limits: Limits) -> None:
    """Raises InvalidArgument listing every rule the fields `update` changes break."""
    violations = list(_name_violations("name", update.name))
    if update.image is not None:
        violations += _image_violations("image", update.image)
    if update.replicas is not None:
        violations += _replica_violations("replicas", update.replicas, limits)
    if update.env is not None:
        violations += _env_violations("env", update.env)
    for field in ("cpu_request", "cpu_limit", "memory_request", "memory_limit"):
        value = getattr(update, field)
        if value:
            violations += _quantity_violations(field, value)
    if update.labels is not None:
        violations += _label_violations("labels", update.labels)
    if update.annotations is not None:
        violations += _annotation_violations("annotations", update.annotations)
    _raise_if(violations)


def _raise_if(violations: list[FieldViolation]) -> None:
    if violations:
        raise InvalidArgument(violations)


def _name_violations(field: str, name: str) -> Iterator[FieldViolation]:
    if not name:
        yield FieldViolation(field, "is required")
    elif len(name) > NAME_MAX:
        yield FieldViolation(field, f"must be at most {NAME_MAX} characters, got {len(name)}")
    elif not _DNS_1035.fullmatch(name):
        yield FieldViolation(
            field,
            "must be a DNS-1035 label: lowercase letters, digits and '-', starting with a "
            "letter and ending with a letter or digit",
        )


def _image_violations(field: str, image: str) -> Iterator[FieldViolation]:
    if not image:
        yield FieldViolation(field, "is required")
    elif len(image) > IMAGE_MAX:
        yield FieldViolation(field, f"must be at most {IMAGE_MAX} characters, got {len(image)}")
    elif _WHITESPACE.search(image):
        yield FieldViolation(field, "must not contain whitespace")
    elif not _IMAGE.fullmatch(image):
        yield FieldViolation(
            field,
            "must be an OCI image reference such as 'registry/repo:tag' or "
            "'repo@sha256:<hex>' (repository path in lowercase)",
        )


def _replica_violations(field: str, replicas: int, limits: Limits) -> Iterator[FieldViolation]:
    if not 0 <= replicas <= limits.max_replicas:
        yield FieldViolation(field, f"must be between 0 and {limits.max_replicas}, got {replicas}")


def _env_violations(field: str, env: Mapping[str, str]) -> Iterator[FieldViolation]:
    if len(env) > ENV_MAX_ENTRIES:
        yield FieldViolation(field, f"must have at most {ENV_MAX_ENTRIES} entries, got {len(env)}")
        return
    for key in sorted(env):
        if not _C_IDENTIFIER.fullmatch(key):
            yield FieldViolation(
                f"{field}[{key!r}]",
                "key must be a C identifier: letters, digits and '_', not starting with a digit",
            )
        elif len(env[key].encode()) > ENV_VALUE_MAX_BYTES:
            yield FieldViolation(
                f"{field}[{key!r}]", f"value must be at most {ENV_VALUE_MAX_BYTES} bytes"
            )


def _quantity_violations(field: str, value: str) -> Iterator[FieldViolation]:
    quantity = _parse_quantity(value)
    if quantity is None:
        yield FieldViolation(
            field,
            "must be a Kubernetes quantity such as '250m', '0.5', '128Mi' or '1G', "
            "smaller than 2^63",
        )
    elif quantity < 0:
        yield FieldViolation(field, "must not be negative")


def _resource_violations(spec: FunctionSpec) -> Iterator[FieldViolation]:
    for resource in ("cpu", "memory"):
        request_field, limit_field = f"{resource}_request", f"{resource}_limit"
        request, limit = getattr(spec, request_field), getattr(spec, limit_field)
        broken = False
        for field, value in ((request_field, request), (limit_field, limit)):
            if value:
                for violation in _quantity_violations(field, value):
                    broken = True
                    yield violation
        if broken or not (request and limit):
            continue
        if _parse_quantity(request) > _parse_quantity(limit):  # type: ignore[operator]
            yield FieldViolation(
                request_field, f"must not be more than {limit_field} ({request} > {limit})"
            )


def _parse_quantity(value: str) -> Decimal | None:
    # The client's parser is lenient ("inf", "1e99999"), so the syntax is checked against
    # the API's quantity grammar first, and the value against what the API server can hold.
    if len(value) > 64 or not _QUANTITY.fullmatch(value):
        return None
    # Imported at first use: loading the kubernetes client takes about a fifth of a second,
    # which a demo server would otherwise spend on every start.
    from kubernetes.utils.quantity import parse_quantity  # noqa: PLC0415

    try:
        quantity: Decimal = parse_quantity(value)
    except (ValueError, ArithmeticError):
        return None
    if not quantity.is_finite() or abs(quantity) >= _QUANTITY_MAX:
        return None
    return quantity


def _key_violations(field: str, key: str) -> Iterator[FieldViolation]:
    prefix, slash, name = key.rpartition("/")
    where = f"{field}[{key!r}]"
    if slash and not (prefix and len(prefix) <= 253 and _DNS_1123_SUBDOMAIN.fullmatch(prefix)):
        yield FieldViolation(where, "key prefix must be a DNS subdomain of at most 253 characters")
    if not (name and len(name) <= 63 and _QUALIFIED_NAME.fullmatch(name)):
        yield FieldViolation(
            where,
            "key name must be at most 63 characters of letters, digits, '-', '_' and '.', "
            "starting and ending with a letter or digit",
        )
    if key in RESERVED_LABELS:
        yield FieldViolation(where, "key is reserved for fnplane")


def _label_violations(field: str, labels: Mapping[str, str]) -> Iterator[FieldViolation]:
    for key in sorted(labels):
        yield from _key_violations(field, key)
        value = labels[key]
        if value and not (len(value) <= LABEL_VALUE_MAX and _QUALIFIED_NAME.fullmatch(value)):
            yield FieldViolation(
                f"{field}[{key!r}]",
                f"value must be empty or at most {LABEL_VALUE_MAX} characters of letters, "
                "digits, '-', '_' and '.', starting and ending with a letter or digit",
            )


def _annotation_violations(field: str, annotations: Mapping[str, str]) -> Iterator[FieldViolation]:
    for key in sorted(annotations):
        yield from _key_violations(field, key)
    size = sum(len(k.encode()) + len(v.encode()) for k, v in annotations.items())
    if size > ANNOTATIONS_MAX_BYTES:
        yield FieldViolation(field, f"must be at most {ANNOTATIONS_MAX_BYTES} bytes in all")


def check_quota(count: int, limits: Limits) -> None:
    """Raises ResourceExhausted when a namespace holding `count` functions is full."""
    if count >= limits.max_functions:
        raise ResourceExhausted(
            f"this namespace holds {count} functions, the most allowed; "
            "delete one before creating another"
        )
