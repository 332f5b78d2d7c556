"""What the API server does with each request: defaults, validation, versions, preconditions.

The registry turns a verb on a resource into a write to the store, following the rules the
Kubernetes API documents: the server sets uid, creationTimestamp and resourceVersion; spec
changes bump metadata.generation; .status changes only through the /status subresource; a
stale resourceVersion is a 409 Conflict; deletes honour finalizers and ownerReferences.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import secrets
import string
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from tests.fakekube import defaults, patches, validation
from tests.fakekube.resources import DEPLOYMENTS, NAMESPACES, PODS, SERVICES, Resource
from tests.fakekube.selectors import FieldFilter, Requirement, labels_match
from tests.fakekube.statuses import (
    ApiError,
    already_exists,
    bad_request,
    conflict,
    not_found,
    stale,
    success,
)
from tests.fakekube.store import JsonObject, Store

PROPAGATION_POLICIES = ("Orphan", "Background", "Foreground")
FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
# Fields of metadata that only the server writes.
_SERVER_METADATA = ("uid", "creationTimestamp", "generation", "deletionTimestamp", "selfLink")

Collect = Callable[[Resource, JsonObject, str], None]
"""Hands a deleted or deleting owner to the garbage collector with its propagation policy."""


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _initial_status(resource: Resource) -> JsonObject:
    if resource is SERVICES:
        return {"loadBalancer": {}}
    if resource is PODS:
        return {"phase": "Pending", "qosClass": "BestEffort"}
    if resource is NAMESPACES:
        return {"phase": "Active"}
    return {}


def _apply_defaults(resource: Resource, obj: JsonObject) -> None:
    if resource is DEPLOYMENTS:
        defaults.deployment(obj)
    elif resource is SERVICES:
        defaults.service(obj)
    elif resource is PODS:
        defaults.pod(obj)
    elif resource is NAMESPACES:
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        labels = obj.setdefault("metadata", {}).setdefault("labels", {})
        labels["kubernetes.io/metadata.name"] = obj["metadata"].get("name", "")


def _comparable(obj: JsonObject) -> JsonObject:
    """The object without its resourceVersion, to tell a real change from a no-op write."""
    clone = copy.deepcopy(obj)
    clone.get("metadata", {}).pop("resourceVersion", None)
    return clone


def _encode_continue(revision: int, after: tuple[str, str]) -> str:
    raw = json.dumps({"rv": revision, "after": list(after)}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    try:
        parsed = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(parsed["rv"]), (str(parsed["after"][0]), str(parsed["after"][1]))
    except (ValueError, KeyError, IndexError, TypeError, binascii.Error) as error:
        raise bad_request(f"continue key is not valid: {error}") from error


class Registry:
    """The verbs of the Kubernetes API over a `Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.collect: Collect = lambda resource, owner, policy: None
        self._next_cluster_ip = 10

    # Reads

    def get(self, resource: Resource, namespace: str, name: str) -> JsonObject:
        found = self.store.get(resource, namespace, name)
        if found is None:
            raise not_found(resource, name)
        return found

    def list_objects(
        self,
        resource: Resource,
        namespace: str | None,
        *,
        labels: tuple[Requirement, ...] = (),
        fields: FieldFilter = lambda obj: True,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> JsonObject:
        """Answers a `...List` object whose metadata.resourceVersion is the store's revision."""
        with self.store.lock:
            revision = self.store.revision
            items = [
                obj
                for obj in self.store.items(resource, namespace, read_only=True)
                if labels_match(labels, obj["metadata"].get("labels") or {}) and fields(obj)
            ]
        metadata: JsonObject = {"resourceVersion": str(revision)}
        if continue_token:
            revision, after = _decode_continue(continue_token)
            if revision < self.store.oldest:
                raise ApiError(
                    410,
                    "Expired",
                    "The provided continue parameter is too old to display a consistent list "
                    "result. You can start a new list without the continue parameter.",
                )
            metadata["resourceVersion"] = str(revision)
            items = [obj for obj in items if _list_key(obj) > after]
        if limit and len(items) > limit:
            metadata["continue"] = _encode_continue(revision, _list_key(items[limit - 1]))
            metadata["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        for item in items:
            # Items of a list carry no kind or apiVersion of their own, as on a real server.
            item.pop("kind", None)
            item.pop("apiVersion", None)
        return {
            "kind": resource.list_kind,
            "apiVersion": resource.api_version,
            "metadata": metadata,
            "items": items,
        }

    # Writes

    def ensure_namespace(self, name: str) -> None:
        """Makes namespace `name` exist, so any namespace a test names is usable at once."""
        with self.store.lock:
            if self.store.get(NAMESPACES, "", name) is None:
                self.create(NAMESPACES, None, {"metadata": {"name": name}})

    def create(
        self,
        resource: Resource,
        namespace: str | None,
        body: JsonObject,
        *,
        dry_run: bool = False,
        keep_status: bool = False,
    ) -> JsonObject:
        obj = self._typed(resource, body)
        metadata = obj.setdefault("metadata", {})
        self._place(resource, namespace, metadata)
        if not metadata.get("name") and metadata.get("generateName"):
            suffix = "".join(
                secrets.choice(string.ascii_lowercase + "0123456789") for _ in "12345"
            )
            metadata["name"] = metadata["generateName"] + suffix
        for server_field in (*_SERVER_METADATA, "resourceVersion", "managedFields"):
            metadata.pop(server_field, None)
        metadata["uid"] = str(uuid.uuid4())
        metadata["creationTimestamp"] = now()
        if resource.tracks_generation:
            metadata["generation"] = 1
        if resource.has_status and not keep_status:
            obj["status"] = _initial_status(resource)
        _apply_defaults(resource, obj)
        validation.check(resource, obj)

        with self.store.lock:
            if resource.namespaced and namespace and not dry_run:
                self.ensure_namespace(namespace)
            if self.store.get(resource, metadata.get("namespace", ""), metadata["name"]):
                raise already_exists(resource, metadata["name"])
            if resource is SERVICES:
                self._allocate_cluster_ip(obj)
            if dry_run:
                return obj
            return self.store.commit(resource, "ADDED", obj, None)

    def replace(
        self,
        resource: Resource,
        namespace: str,
        name: str,
        body: JsonObject,
        *,
        dry_run: bool = False,
    ) -> JsonObject:
        """A PUT of the main resource: everything but .status and server-owned metadata."""
        obj = self._typed(resource, body)
        metadata = obj.setdefault("metadata", {})
        if metadata.get("name", name) != name:
            raise bad_request(
                f"the name of the object ({metadata['name']}) does not match the name on the "
                f"URL ({name})"
            )
        metadata["name"] = name
        self._place(resource, namespace or None, metadata)
        with self.store.lock:
            old = self.get(resource, namespace, name)
            self._check_preconditions(resource, old, metadata)
            for server_field in _SERVER_METADATA:
                if server_field in old["metadata"]:
                    metadata[server_field] = old["metadata"][server_field]
                else:
                    metadata.pop(server_field, None)
            if resource.has_status:
                obj["status"] = copy.deepcopy(old.get("status", {}))
            _apply_defaults(resource, obj)
            if resource is SERVICES:
                self._keep_cluster_ip(old, obj)
            validation.check(resource, obj)
            validation.check_update(resource, old, obj)
            if resource.tracks_generation and self._changes_desired_state(old, obj):
                metadata["generation"] = old["metadata"].get("generation", 1) + 1
            return self._write_update(resource, old, obj, dry_run=dry_run)

    def replace_status(
        self,
        resource: Resource,
        namespace: str,
        name: str,
        body: JsonObject,
        *,
        dry_run: bool = False,
    ) -> JsonObject:
        """A PUT of /status: only .status changes; spec and metadata stay as stored."""
        with self.store.lock:
            old = self.get(resource, namespace, name)
            self._check_preconditions(resource, old, body.get("metadata") or {})
            obj = copy.deepcopy(old)
            obj["status"] = copy.deepcopy(body.get("status") or {})
            return self._write_update(resource, old, obj, dry_run=dry_run)

    def patch(
        self,
        resource: Resource,
        namespace: str,
        name: str,
        content_type: str,
        body: bytes,
        *,
        status: bool = False,
        dry_run: bool = False,
    ) -> JsonObject:
        with self.store.lock:
            old = self.get(resource, namespace, name)
            patched = patches.apply(content_type, old, body)
            if not isinstance(patched.get("metadata"), dict):
                raise bad_request("the patch removed the object's metadata")
            requested = patched["metadata"].get("resourceVersion")
            if requested != old["metadata"].get("resourceVersion"):
                # A patch that names a resourceVersion makes it a precondition.
                self._check_preconditions(resource, old, patched["metadata"])
            patched["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
            if status:
                return self.replace_status(resource, namespace, name, patched, dry_run=dry_run)
            return self.replace(resource, namespace, name, patched, dry_run=dry_run)

    def delete(
        self,
        resource: Resource,
        namespace: str,
        name: str,
        options: JsonObject,
        *,
        dry_run: bool = False,
    ) -> JsonObject:
        """Deletes now, or marks for deletion while finalizers remain; answers as the API does."""
        policy = options.get("propagationPolicy")
        if options.get("orphanDependents") is not None:
            if policy:
                errors = validation.FieldErrors()
                errors.invalid(
                    "propagationPolicy",
                    policy,
                    "orphanDependents and deletionPropagation cannot be both set",
                )
                raise options_error(errors)
            policy = "Orphan" if options["orphanDependents"] else "Background"
        if policy is not None and policy not in PROPAGATION_POLICIES:
            errors = validation.FieldErrors()
            errors.unsupported("propagationPolicy", policy, list(PROPAGATION_POLICIES))
            raise options_error(errors)
        policy = policy or "Background"

        with self.store.lock:
            old = self.get(resource, namespace, name)
            preconditions = options.get("preconditions") or {}
            uid, version = preconditions.get("uid"), preconditions.get("resourceVersion")
            if uid and uid != old["metadata"]["uid"]:
                raise conflict(
                    resource,
                    name,
                    f"Precondition failed: UID in precondition: {uid}, UID in object meta: "
                    f"{old['metadata']['uid']}",
                )
            if version and version != old["metadata"]["resourceVersion"]:
                raise conflict(
                    resource,
                    name,
                    f"Precondition failed: ResourceVersion in precondition: {version}, "
                    f"ResourceVersion in object meta: {old['metadata']['resourceVersion']}",
                )
            if dry_run:
                return old

            finalizers = list(old["metadata"].get("finalizers") or [])
            if policy == "Foreground" and FOREGROUND not in finalizers:
                finalizers.append(FOREGROUND)
            if policy == "Orphan" and ORPHAN not in finalizers:
                finalizers.append(ORPHAN)
            if finalizers:
                return self._mark_deleting(resource, old, finalizers, policy)

            gone = self.store.commit(resource, "DELETED", old, old)
            if resource is NAMESPACES:
                self._empty_namespace(name)
            self.collect(resource, gone, policy)
            if resource.delete_answers_object:
                return gone
            return success(resource, name, gone["metadata"]["uid"])

    def remove_finalizer(self, resource: Resource, obj: JsonObject, finalizer: str) -> None:
        """Drops one finalizer, deleting the object if it was being deleted and none remain."""
        metadata = obj["metadata"]
        with self.store.lock:
            current = self.store.get(resource, metadata.get("namespace", ""), metadata["name"])
            if current is None or current["metadata"]["uid"] != metadata["uid"]:
                return
            updated = copy.deepcopy(current)
            updated["metadata"]["finalizers"] = [
                f for f in current["metadata"].get("finalizers") or [] if f != finalizer
            ]
            self._write_update(resource, current, updated, dry_run=False)

    # Steps shared by the verbs

    def _typed(self, resource: Resource, body: JsonObject) -> JsonObject:
        if not isinstance(body, dict):
            raise bad_request("the body of the request must be a JSON object")
        kind, api_version = body.get("kind"), body.get("apiVersion")
        if (kind and kind != resource.kind) or (
            api_version and api_version != resource.api_version
        ):
            raise bad_request(
                f"the API version in the data ({api_version}) or kind ({kind}) does not match "
                f"the expected API version ({resource.api_version}) and kind ({resource.kind})"
            )
        obj = copy.deepcopy(body)
        obj["kind"], obj["apiVersion"] = resource.kind, resource.api_version
        return obj

    @staticmethod
    def _place(resource: Resource, namespace: str | None, metadata: JsonObject) -> None:
        if not resource.namespaced:
            metadata.pop("namespace", None)
            return
        if metadata.get("namespace") and metadata["namespace"] != namespace:
            raise bad_request(
                "the namespace of the provided object does not match the namespace sent on "
                "the request"
            )
        metadata["namespace"] = namespace

    @staticmethod
    def _check_preconditions(resource: Resource, old: JsonObject, metadata: JsonObject) -> None:
        name = old["metadata"]["name"]
        uid = metadata.get("uid")
        if uid and uid != old["metadata"]["uid"]:
            raise conflict(
                resource,
                name,
                f"Precondition failed: UID in precondition: {uid}, UID in object meta: "
                f"{old['metadata']['uid']}",
            )
        version = metadata.get("resourceVersion")
        if version and version != old["metadata"]["resourceVersion"]:
            raise stale(resource, name)

    @staticmethod
    def _changes_desired_state(old: JsonObject, new: JsonObject) -> bool:
        # Deployments also count annotation changes: the API server copies a Deployment's
        # annotations to its ReplicaSets, so they are part of what a rollout delivers.
        return bool(
            old.get("spec") != new.get("spec")
            or old["metadata"].get("annotations") != new["metadata"].get("annotations")
        )

    def _write_update(
        self, resource: Resource, old: JsonObject, obj: JsonObject, *, dry_run: bool
    ) -> JsonObject:
        metadata = obj["metadata"]
        if metadata.get("deletionTimestamp") and not metadata.get("finalizers"):
            if dry_run:
                return obj
            gone = self.store.commit(resource, "DELETED", obj, old)
            self.collect(resource, gone, "Background")
            return gone
        if _comparable(old) == _comparable(obj) or dry_run:
            # The API server skips writes that change nothing: no new resourceVersion, no event.
            obj["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
            return obj if dry_run else old
        return self.store.commit(resource, "MODIFIED", obj, old)

    def _mark_deleting(
        self, resource: Resource, old: JsonObject, finalizers: list[str], policy: str
    ) -> JsonObject:
        if old["metadata"].get("deletionTimestamp"):
            return old
        obj = copy.deepcopy(old)
        obj["metadata"]["deletionTimestamp"] = now()
        obj["metadata"]["deletionGracePeriodSeconds"] = 0
        obj["metadata"]["finalizers"] = finalizers
        marked = self.store.commit(resource, "MODIFIED", obj, old)
        self.collect(resource, marked, policy)
        return marked

    def _empty_namespace(self, namespace: str) -> None:
        for resource, obj in self.store.everything():
            if resource.namespaced and obj["metadata"].get("namespace") == namespace:
                self.store.commit(resource, "DELETED", obj, obj)

    def _allocate_cluster_ip(self, obj: JsonObject) -> None:
        spec = obj["spec"]
        if spec.get("type") == "ExternalName" or spec.get("clusterIP") == "None":
            return
        if not spec.get("clusterIP"):
            self._next_cluster_ip += 1
            high, low = divmod(self._next_cluster_ip, 254)
            spec["clusterIP"] = f"10.96.{high}.{low + 1}"
        spec["clusterIPs"] = [spec["clusterIP"]]

    @staticmethod
    def _keep_cluster_ip(old: JsonObject, obj: JsonObject) -> None:
        # An update that leaves the address out keeps the allocated one, as the server does.
        spec, old_spec = obj.setdefault("spec", {}), old.get("spec", {})
        for field in ("clusterIP", "clusterIPs"):
            if field not in spec and field in old_spec:
                spec[field] = copy.deepcopy(old_spec[field])


def _list_key(obj: JsonObject) -> tuple[str, str]:
    return (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])


def options_error(errors: validation.FieldErrors) -> ApiError:
    """The 422 Invalid for the DeleteOptions of a request."""
    error = errors.as_error(kind="DeleteOptions", group="meta.k8s.io", name="")
    assert error is not None, "only called with errors recorded"
    return error
