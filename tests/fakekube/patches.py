"""The three patch formats the API server accepts: JSON patch, merge patch, strategic merge."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonpatch

from tests.fakekube.statuses import bad_request, unprocessable

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH)

# The merge keys Kubernetes declares (patchMergeKey) for the lists the fake serves.
_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")
_MERGE_KEYS = {
    **dict.fromkeys(_CONTAINER_LISTS, "name"),
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "conditions": "type",
    "ownerReferences": "uid",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
}
# Lists of plain values that strategic merge treats as sets (patchStrategy: merge).
_MERGED_VALUE_LISTS = ("finalizers",)


def apply(content_type: str, original: dict[str, Any], body: bytes) -> dict[str, Any]:
    """Answers `original` with the patch in `body` applied; the original is left untouched."""
    media = content_type.split(";", maxsplit=1)[0].strip()
    try:
        patch = json.loads(body) if body else None
    except ValueError as error:
        raise bad_request(f"error decoding patch: {error}") from error

    if media == JSON_PATCH:
        if not isinstance(patch, list):
            raise bad_request(
                "json: cannot unmarshal object into Go value of type jsonpatch.Patch"
            )
        try:
            patched = jsonpatch.JsonPatch(patch).apply(original)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as error:
            raise unprocessable(str(error)) from error
        except (KeyError, TypeError, ValueError) as error:
            raise bad_request(f"invalid JSON patch: {error}") from error
        if not isinstance(patched, dict):
            raise unprocessable("the patch replaced the object with a non-object")
        return patched

    if not isinstance(patch, dict):
        raise bad_request("the patch must be a JSON object")
    merged = (
        merge(original, patch) if media == MERGE_PATCH else strategic_merge(original, patch, ())
    )
    if not isinstance(merged, dict):
        raise unprocessable("the patch replaced the object with a non-object")
    return merged


def merge(target: Any, patch: Any) -> Any:
    """Applies a JSON merge patch (RFC 7386): objects merge, null deletes, the rest replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge(result.get(key), value)
    return result


def _merge_key(path: tuple[str, ...]) -> str | None:
    field = path[-1] if path else ""
    if field == "ports":
        # Container ports merge by containerPort; Service ports by port.
        return "containerPort" if len(path) > 1 and path[-2] in _CONTAINER_LISTS else "port"
    return _MERGE_KEYS.get(field)


def strategic_merge(original: Any, patch: Any, path: tuple[str, ...]) -> Any:
    """Applies a strategic merge patch, merging keyed lists element by element."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    patch = dict(patch)
    directive = patch.pop("$patch", None)
    if directive == "replace":
        return _without_directives(patch)
    if directive == "delete":
        return None
    if directive is not None:
        raise bad_request(f"unknown patch type {directive!r} in the $patch directive")

    result = copy.deepcopy(original) if isinstance(original, dict) else {}
    retained = patch.pop("$retainKeys", None)
    for key in list(patch):
        if key.startswith("$setElementOrder/"):
            patch.pop(key)
        elif key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            doomed = patch.pop(key) or []
            result[field] = [v for v in result.get(field) or [] if v not in doomed]

    for key, value in patch.items():
        child = (*path, key)
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and isinstance(result.get(key), list):
            result[key] = _merge_list(result[key], value, child)
        elif isinstance(value, dict):
            merged = strategic_merge(result.get(key), value, child)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = copy.deepcopy(value)

    if retained is not None:
        result = {k: v for k, v in result.items() if k in retained}
    return result


def _merge_list(original: list[Any], patch: list[Any], path: tuple[str, ...]) -> list[Any]:
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [_without_directives(item) for item in patch if not _is_directive(item)]
    if path[-1] in _MERGED_VALUE_LISTS:
        return list(original) + [v for v in patch if v not in original]
    key = _merge_key(path)
    if key is None:
        return copy.deepcopy(patch)

    result = copy.deepcopy(original)
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise bad_request(f"map: {item!r} does not contain declared merge key: {key}")
        position = next(
            (
                i
                for i, old in enumerate(result)
                if isinstance(old, dict) and old.get(key) == item[key]
            ),
            None,
        )
        if item.get("$patch") == "delete":
            if position is not None:
                del result[position]
            continue
        if position is None:
            result.append(_without_directives(item))
        else:
            result[position] = strategic_merge(result[position], item, path)
    return result


def _is_directive(item: Any) -> bool:
    return isinstance(item, dict) and set(item) == {"$patch"}


def _without_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_directives(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_without_directives(v) for v in value]
    return value
