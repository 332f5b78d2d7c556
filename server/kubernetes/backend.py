"""The Kubernetes backend: each function a Deployment and a Service in the tenant's namespace.

How it differs from the demo backend, which the contract tests run alongside it:

- Status follows the cluster. Right after create or update a function is "Deploying" until
  the Deployment controller reports the rollout complete; it may become "Failed" with the
  controller's message (see `fnplane.server.kubernetes.rollout` for the rules).
- List and Get are answered from a watch cache, never by a request per call. A caller sees
  its own writes at once; changes made by others (kubectl, another fnplane) appear as soon as
  the watch delivers them.
- Watchers hear of every change the cache sees, the controller's progress included; a
  change fnplane made and the watch then delivers again is told once.
- Logs come from the function's pods (see `fnplane.server.kubernetes.pod_logs`).
- Quantities come back as the API server stores them, which may be a canonical spelling of
  what was sent ("0.5" CPU can read back as "500m").
- Objects without the `app.kubernetes.io/managed-by=fnplane` label are never touched: for
  such a name get, update and delete answer NOT_FOUND and create answers ALREADY_EXISTS.
- Failures of the cluster itself become UNAVAILABLE (naming the API server),
  PERMISSION_DENIED (naming the verb and resource RBAC refused) or DEADLINE_EXCEEDED.
"""

from __future__ import annotations

import logging
import random
import secrets
import threading
import time
from collections.abc import Callable, Mapping

from kubernetes import client

from fnplane.server.backend import LogStream
from fnplane.server.domain import Function, FunctionSpec, FunctionUpdate, LogQuery
from fnplane.server.errors import (
    AlreadyExists,
    Conflict,
    DeadlineExceeded,
    FailedPrecondition,
    FnplaneError,
    NotFound,
    Unavailable,
)
from fnplane.server.kubernetes.cache import FunctionCache
from fnplane.server.kubernetes.cluster import Cluster
from fnplane.server.kubernetes.objects import (
    KubeObject,
    deployment_for,
    deployment_patch,
    fnplane_labels,
    is_managed,
    service_for,
    spec_of,
)
from fnplane.server.kubernetes.pod_logs import PodLogs
from fnplane.server.validation import Limits, check_quota, check_spec
from fnplane.server.watch import FunctionWatch

log = logging.getLogger("fnplane.server.kubernetes")

UPDATE_ATTEMPTS = 8
"""How often an update is tried against a Deployment that keeps changing under it."""
CONFLICT_BACKOFF_SECONDS = 0.005
"""The first pause before trying an update again; it doubles with each attempt."""


class KubernetesBackend:
    """Runs functions in a cluster through the official client; reads from a watch cache."""

    name = "kubernetes"

    def __init__(
        self,
        api_client: client.ApiClient,
        *,
        limits: Limits | None = None,
        timeout: float = 10.0,
        watch_seconds: int = 300,
        backoff: tuple[float, float] = (0.2, 30.0),
    ) -> None:
        self._limits = limits or Limits()
        self._backoff = backoff
        self._closing = threading.Event()
        self._cluster = Cluster(api_client, timeout=timeout)
        self._cache = FunctionCache(self._cluster, watch_seconds=watch_seconds, backoff=backoff)

    @property
    def server(self) -> str:
        """The address of the API server this backend talks to."""
        return self._cluster.server

    @property
    def cache(self) -> FunctionCache:
        """The watch cache reads are answered from."""
        return self._cache

    def create(self, namespace: str, spec: FunctionSpec) -> Function:
        # Counted from the cache, so two creates racing at the limit may both pass: the
        # quota bounds a namespace's size, it is not a hard transactional guarantee.
        check_quota(len(self._cache.functions(namespace)), self._limits)
        # Until its Service is made, a new function must not read as one whose Service is
        # missing, whatever order the watches deliver the two objects in.
        self._cache.expect_service(namespace, spec.name)
        service: KubeObject | None = None
        try:
            deployment = self._create_deployment_once(namespace, spec)
            try:
                service = self._cluster.create_service(namespace, service_for(spec, deployment))
            except FnplaneError as error:
                self._roll_back(namespace, deployment)
                if isinstance(error, AlreadyExists):
                    raise AlreadyExists(
                        f"function {spec.name!r} cannot be created: a Service of that name "
                        f"already exists in namespace {namespace!r}"
                    ) from None
                raise
        finally:
            self._cache.service_written(namespace, service, spec.name)

        log.info("created function %s/%s (image %s)", namespace, spec.name, spec.image)
        return self._cache.written(namespace, deployment)

    def _create_deployment_once(self, namespace: str, spec: FunctionSpec) -> KubeObject:
        try:
            return self._create_deployment(namespace, spec)
        except AlreadyExists:
            # Taken, unless by a create of this process that its caller was told had failed
            # (a retry right after a timeout): that one is removed and the name is free.
            if not self._cache.reclaim(namespace, spec.name):
                raise AlreadyExists(f"function {spec.name!r} already exists") from None
            try:
                return self._create_deployment(namespace, spec)
            except AlreadyExists:
                raise AlreadyExists(f"function {spec.name!r} already exists") from None

    def _create_deployment(self, namespace: str, spec: FunctionSpec) -> KubeObject:
        token = secrets.token_hex(8)
        try:
            return self._cluster.create_deployment(namespace, deployment_for(spec, token=token))
        except (DeadlineExceeded, Unavailable):
            # The API server may have made the Deployment even so (its answer was lost, or it
            # comes later); the caller is told the create failed, so it must not stay.
            self._cache.abandon(namespace, spec.name, token)
            raise
        except NotFound:
            raise FailedPrecondition(
                f"namespace {namespace!r} does not exist in the cluster"
            ) from None

    def list(self, namespace: str) -> list[Function]:
        return self._cache.functions(namespace)

    def get(self, namespace: str, name: str) -> Function:
        function = self._cache.function(namespace, name)
        if function is None:
            raise NotFound(f"function {name!r} not found")
        return function

    def update(self, namespace: str, update: FunctionUpdate) -> Function:
        for attempt in range(UPDATE_ATTEMPTS):
            if attempt:
                # Writers racing on one function would collide again at once; a random,
                # growing pause spreads their retries out.
                time.sleep(random.uniform(0, CONFLICT_BACKOFF_SECONDS * 2**attempt))
            current = self._managed_deployment(namespace, update.name)
            spec = update.apply_to(spec_of(current))
            check_spec(spec, self._limits)
            try:
                patched = self._cluster.patch_deployment(
                    namespace, update.name, deployment_patch(current, spec)
                )
            except Conflict:
                # Changed since it was read (by the controller or anyone else): read the fresh
                # object and apply the update to it.
                continue
            log.info("updated function %s/%s", namespace, update.name)
            return self._cache.written(namespace, patched)
        raise Conflict(f"function {update.name!r} kept changing while being updated; try again")

    def delete(self, namespace: str, name: str) -> None:
        deployment = self._managed_deployment(namespace, name)
        uid = deployment["metadata"]["uid"]
        try:
            self._cluster.delete_deployment(namespace, name, uid=uid)
        except (NotFound, Conflict):
            # Gone, or replaced by another object of that name since it was read.
            raise NotFound(f"function {name!r} not found") from None
        self._cache.deleted(namespace, name, uid)
        self._delete_service(namespace, name, owner_uid=uid)
        log.info("deleted function %s/%s", namespace, name)

    def watch(self, namespace: str) -> FunctionWatch:
        return self._cache.watch(namespace)

    def logs(self, namespace: str, query: LogQuery) -> LogStream:
        self.get(namespace, query.name)
        selector = ",".join(f"{k}={v}" for k, v in fnplane_labels(query.name).items())
        listed = self._cluster.list_pods(namespace, label_selector=selector)
        pods = sorted(pod["metadata"]["name"] for pod in listed.get("items") or [])
        return PodLogs(self._cluster, namespace, pods, query)

    def observe_requests(self, observer: Callable[[str, str, float], None]) -> None:
        """Tells `observer` of every request to the API server: verb, outcome, seconds."""
        self._cluster.observer = observer

    def watch_cache_stats(self) -> tuple[int, float | None]:
        """Answers how many functions the watch cache holds, and when (time.monotonic) it
        last heard from the API server; None before it has."""
        return self._cache.stats()

    def census(self) -> Mapping[tuple[str, str], int]:
        return self._cache.census()

    def close(self) -> None:
        self._closing.set()
        self._cache.close()
        self._cluster.api_client.close()

    def _managed_deployment(self, namespace: str, name: str) -> KubeObject:
        """Reads the Deployment behind function `name` fresh from the API server; raises
        NotFound when there is none or fnplane did not make it."""
        try:
            deployment = self._cluster.read_deployment(namespace, name)
        except NotFound:
            raise NotFound(f"function {name!r} not found") from None
        if not is_managed(deployment):
            raise NotFound(f"function {name!r} not found")
        return deployment

    def _delete_service(self, namespace: str, name: str, *, owner_uid: str) -> None:
        # The garbage collector removes the Service with its owner, but only some time later;
        # removing it now lets the name be used again at once.
        try:
            service = self._cluster.read_service(namespace, name)
            owners = service["metadata"].get("ownerReferences") or []
            if is_managed(service) and any(o.get("uid") == owner_uid for o in owners):
                self._cluster.delete_service(namespace, name, uid=service["metadata"]["uid"])
        except NotFound:
            pass
        except FnplaneError as error:
            log.warning(
                "function %s/%s deleted, but its Service stays until the cluster removes it "
                "with its owner: %s",
                namespace,
                name,
                error,
            )

    def _roll_back(self, namespace: str, deployment: KubeObject) -> None:
        """Removes the Deployment of a create whose Service could not be made. When the API
        server cannot take it back now (it died mid-create), the function is hidden from
        reads at once and the Deployment is removed in the background once it answers."""
        name, uid = deployment["metadata"]["name"], deployment["metadata"]["uid"]
        self._cache.deleted(namespace, name, uid)
        error = self._remove_deployment(namespace, name, uid)
        if error is None:
            return
        log.warning(
            "function %s/%s: its Service could not be made and its Deployment could not be "
            "removed yet (%s); retrying in the background",
            namespace,
            name,
            error,
        )
        threading.Thread(
            target=self._keep_removing,
            args=(namespace, name, uid),
            name=f"roll-back-{namespace}-{name}",
            daemon=True,
        ).start()

    def _remove_deployment(self, namespace: str, name: str, uid: str) -> FnplaneError | None:
        """Deletes the Deployment `name` with `uid`; answers the error if the API server
        could not be asked."""
        try:
            self._cluster.delete_deployment(namespace, name, uid=uid)
        except (NotFound, Conflict):
            pass  # Gone already, or replaced by another object of that name.
        except FnplaneError as error:
            return error
        return None

    def _keep_removing(self, namespace: str, name: str, uid: str) -> None:
        delay = self._backoff[0]
        while not self._closing.wait(delay):
            if self._remove_deployment(namespace, name, uid) is None:
                log.info("function %s/%s: the half-made Deployment is removed", namespace, name)
                return
            delay = min(delay * 2, self._backoff[1])
        log.error(
            "function %s/%s: stopped before its half-made Deployment could be removed; "
            "delete it with kubectl",
            namespace,
            name,
        )
