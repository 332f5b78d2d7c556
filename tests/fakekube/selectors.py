"""Label and field selectors: the query syntax of `labelSelector` and `fieldSelector`."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tests.fakekube.statuses import bad_request

_REQUIREMENT = re.compile(
    r"""^\s*(?P<key>[A-Za-z0-9./_-]+)\s*
        (?:(?P<op>==|!=|=|<|>)\s*(?P<value>[A-Za-z0-9._-]*)
          |\s+(?P<setop>in|notin)\s*\((?P<values>[^()]*)\)
        )?\s*$""",
    re.VERBOSE,
)
_NOT_EXISTS = re.compile(r"^\s*!\s*(?P<key>[A-Za-z0-9./_-]+)\s*$")


@dataclass(frozen=True)
class Requirement:
    """One clause of a label selector: a key, an operator and the values it compares."""

    key: str
    operator: str
    """One of =, !=, in, notin, exists, !exists, <, >."""
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.operator == "exists":
            return present
        if self.operator == "!exists":
            return not present
        if self.operator in ("=", "in"):
            return present and value in self.values
        if self.operator in ("!=", "notin"):
            return value not in self.values
        return present and _compare(self.operator, value, self.values[0])


def _compare(operator: str, value: str | None, bound: str) -> bool:
    try:
        number, limit = int(value or ""), int(bound)
    except ValueError:
        return False
    return number > limit if operator == ">" else number < limit


def _split_top_level(text: str) -> list[str]:
    """Splits on the commas that separate requirements, not those inside `in (a,b)`."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def parse_labels(text: str | None) -> tuple[Requirement, ...]:
    """Parses a `labelSelector` query; a syntax error answers 400 BadRequest."""
    if not text or not text.strip():
        return ()
    requirements = []
    for part in _split_top_level(text):
        absent = _NOT_EXISTS.match(part)
        if absent:
            requirements.append(Requirement(absent["key"], "!exists"))
            continue
        found = _REQUIREMENT.match(part)
        if not found:
            raise bad_request(f"unable to parse requirement: {part.strip()!r}")
        key = found["key"]
        if found["setop"]:
            values = tuple(v.strip() for v in found["values"].split(",") if v.strip())
            requirements.append(Requirement(key, found["setop"], values))
        elif found["op"]:
            operator = "=" if found["op"] == "==" else found["op"]
            if operator in ("<", ">") and not found["value"].lstrip("-").isdigit():
                raise bad_request(f"unable to parse requirement: {part.strip()!r}")
            requirements.append(Requirement(key, operator, (found["value"],)))
        else:
            requirements.append(Requirement(key, "exists"))
    return tuple(requirements)


def labels_match(requirements: tuple[Requirement, ...], labels: Mapping[str, str]) -> bool:
    return all(requirement.matches(labels) for requirement in requirements)


FieldFilter = Callable[[Mapping[str, Any]], bool]

_FIELDS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "metadata.name": lambda obj: str(obj.get("metadata", {}).get("name", "")),
    "metadata.namespace": lambda obj: str(obj.get("metadata", {}).get("namespace", "")),
}
_POD_FIELDS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "status.phase": lambda obj: str(obj.get("status", {}).get("phase", "")),
    "spec.nodeName": lambda obj: str(obj.get("spec", {}).get("nodeName", "")),
}


def parse_fields(text: str | None, *, kind: str) -> FieldFilter:
    """Parses a `fieldSelector` query over the fields the API server indexes for `kind`."""
    if not text or not text.strip():
        return lambda obj: True
    known = dict(_FIELDS)
    if kind == "Pod":
        known.update(_POD_FIELDS)
    clauses: list[tuple[Callable[[Mapping[str, Any]], str], bool, str]] = []
    for part in text.split(","):
        found = re.match(r"^\s*([A-Za-z.]+)\s*(==|!=|=)\s*(.*?)\s*$", part)
        if not found:
            raise bad_request(f"invalid selector: {part.strip()!r}; can't understand it")
        field, operator, value = found.groups()
        if field not in known:
            choices = ", ".join(f'"{name}"' for name in known)
            raise bad_request(f'"{field}" is not a known field selector: only {choices}')
        clauses.append((known[field], operator != "!=", value))
    return lambda obj: all((read(obj) == value) is equal for read, equal, value in clauses)


def spec_selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Answers whether a LabelSelector object (matchLabels, matchExpressions) selects labels."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    operators = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}
    for expression in selector.get("matchExpressions") or []:
        operator = operators.get(expression.get("operator", ""))
        if operator is None:
            return False
        values = tuple(expression.get("values") or ())
        if not Requirement(expression.get("key", ""), operator, values).matches(labels):
            return False
    return True
