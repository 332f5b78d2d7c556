"""The watch cache: what fnplane knows of each namespace's functions, kept current by a watch.

The first read in a namespace lists the functions' Deployments (one request, in the caller's
thread, so a refusal reaches the caller) and starts a watch from the list's resourceVersion.
From then on reads are answered from memory. The watch resumes from the last resourceVersion
it saw, lists again when the API server answers 410 Gone (that version is no longer kept), and
reconnects with a growing delay while the API server cannot be reached.

A caller's own writes are recorded as soon as the API server answers them, so the caller's
next read sees them even before the watch delivers the same change. Resource versions are
opaque to clients in principle; they are compared as the integers every API server sends, so
that an older event arriving late never replaces newer state.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from kubernetes.watch.watch import iter_resp_lines
from urllib3 import HTTPResponse

from fnplane.server.domain import EventType, Function, FunctionEvent
from fnplane.server.errors import Conflict, FnplaneError, NotFound
from fnplane.server.kubernetes.api_errors import ResourceVersionExpired
from fnplane.server.kubernetes.cluster import Cluster
from fnplane.server.kubernetes.objects import KubeObject, create_token
from fnplane.server.kubernetes.rollout import function_of
from fnplane.server.watch import FunctionWatch, Watchers

log = logging.getLogger("fnplane.server.kubernetes")


@dataclass(frozen=True)
class _Entry:
    uid: str
    version: int
    function: Function


def _version_of(deployment: KubeObject) -> int:
    value = str(deployment["metadata"].get("resourceVersion") or "")
    return int(value) if value.isdigit() else 0


class NamespaceView:
    """The functions of one namespace as last seen, safe to read and change from any thread.

    Every change is told to the namespace's watchers under the view's lock, so a watcher
    that subscribed with a snapshot hears each later change once, in order.
    """

    def __init__(self, namespace: str, watchers: Watchers) -> None:
        self.namespace = namespace
        self._watchers = watchers
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        # Uids this process deleted, so a late event about them does not bring them back.
        self._deleted: set[str] = set()
        # Creates whose caller was told they failed, by name: their create token.
        self._abandoned: dict[str, str] = {}

    def functions(self) -> list[Function]:
        with self._lock:
            entries = list(self._entries.values())
        return sorted((e.function for e in entries), key=lambda f: f.name)

    def function(self, name: str) -> Function | None:
        with self._lock:
            entry = self._entries.get(name)
        return entry.function if entry else None

    def abandon(self, name: str, token: str) -> None:
        """Records that the create with `token` of function `name` was reported failed."""
        with self._lock:
            self._abandoned[name] = token

    def abandoned(self, deployment: KubeObject) -> bool:
        """Answers whether `deployment` was made by a create reported failed."""
        name = deployment["metadata"]["name"]
        with self._lock:
            token = self._abandoned.get(name)
        return token is not None and token == create_token(deployment)

    def abandoning(self, name: str) -> bool:
        """Answers whether a create of `name` reported failed may still leave a Deployment."""
        with self._lock:
            return name in self._abandoned

    def settle(self, name: str) -> None:
        """Records that the abandoned create of `name` needs no more watching for."""
        with self._lock:
            self._abandoned.pop(name, None)

    def subscribe(self) -> FunctionWatch:
        """Answers a watch that starts with the functions as they are now."""
        with self._lock:
            functions = sorted((e.function for e in self._entries.values()), key=_by_name)
            return self._watchers.subscribe(self.namespace, functions)

    def put(self, deployment: KubeObject) -> Function:
        """Records a Deployment as added or changed, unless newer state is known; answers the
        function it stands for."""
        entry = _entry_of(deployment, self.namespace)
        with self._lock:
            current = self._entries.get(entry.function.name)
            stale = current is not None and current.version > entry.version
            if entry.uid not in self._deleted and not stale:
                self._set(entry)
        return entry.function

    def remove(self, deployment: KubeObject) -> None:
        """Records that the API server deleted a Deployment."""
        metadata = deployment["metadata"]
        uid = str(metadata.get("uid", ""))
        with self._lock:
            self._deleted.discard(uid)
            self._drop(metadata["name"], uid)

    def forget(self, name: str, uid: str) -> None:
        """Records that this process deleted the Deployment `name` with `uid`."""
        with self._lock:
            self._deleted.add(uid)
            self._drop(name, uid)

    def replace(self, listed: KubeObject) -> str:
        """Makes a fresh list the known state, keeping writes newer than the list; answers
        the list's resourceVersion."""
        list_version_text = str(listed.get("metadata", {}).get("resourceVersion") or "")
        list_version = int(list_version_text) if list_version_text.isdigit() else 0
        fresh = [_entry_of(d, self.namespace) for d in listed.get("items") or []]
        with self._lock:
            listed_names = set()
            for entry in fresh:
                listed_names.add(entry.function.name)
                current = self._entries.get(entry.function.name)
                newer = current is not None and current.version > entry.version
                if entry.uid not in self._deleted and not newer:
                    self._set(entry)
            for name, current in list(self._entries.items()):
                # Kept when written here after the list was taken: the watch will confirm it.
                if name not in listed_names and current.version <= list_version:
                    self._drop(name, current.uid)
            # A deleted uid the list no longer shows is gone for good.
            self._deleted &= {entry.uid for entry in fresh}
        return list_version_text

    def _set(self, entry: _Entry) -> None:
        current = self._entries.get(entry.function.name)
        self._entries[entry.function.name] = entry
        if current is None:
            self._tell(EventType.ADDED, entry.function)
        elif current.function != entry.function:
            self._tell(EventType.MODIFIED, entry.function)

    def _drop(self, name: str, uid: str) -> None:
        current = self._entries.get(name)
        if current is not None and current.uid == uid:
            del self._entries[name]
            self._tell(EventType.DELETED, current.function)

    def _tell(self, kind: EventType, function: Function) -> None:
        self._watchers.publish(self.namespace, FunctionEvent(type=kind, function=function))


def _entry_of(deployment: KubeObject, namespace: str) -> _Entry:
    uid = str(deployment["metadata"].get("uid", ""))
    return _Entry(uid, _version_of(deployment), function_of(deployment, namespace))


def _by_name(function: Function) -> str:
    return function.name


class _Watcher:
    """Lists and then watches one namespace's Deployments, feeding a NamespaceView."""

    def __init__(
        self,
        cluster: Cluster,
        view: NamespaceView,
        *,
        watch_seconds: int,
        backoff: tuple[float, float],
    ) -> None:
        self._cluster = cluster
        self.view = view
        self._watch_seconds = watch_seconds
        self._backoff = backoff
        self._start_lock = threading.Lock()
        self._stopping = threading.Event()
        self._response_lock = threading.Lock()
        self._response: HTTPResponse | None = None
        self._version = ""
        self._thread: threading.Thread | None = None
        self.heard: float | None = None
        """When (time.monotonic) the API server last sent a list or a watch event."""

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def version(self) -> str:
        """The resourceVersion the watch resumes from."""
        return self._version

    def start(self) -> None:
        """Lists the namespace and starts watching it, once; raises what the list raised."""
        with self._start_lock:
            if self._thread is not None or self._stopping.is_set():
                return
            self._list()
            self._thread = threading.Thread(
                target=self._run, name=f"watch-{self.view.namespace}", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        with self._response_lock:
            if self._response is not None:
                # Interrupts the watch thread's blocked read at once.
                self._response.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        namespace = self.view.namespace
        delay = self._backoff[0]
        relist = False
        while not self._stopping.is_set():
            try:
                if relist:
                    self._list()
                    relist = False
                    log.info("listed deployments in namespace %r again", namespace)
                if self._follow():
                    delay = self._backoff[0]
            except ResourceVersionExpired:
                log.info(
                    "watch of deployments in namespace %r: resourceVersion %s expired, "
                    "listing again",
                    namespace,
                    self._version,
                )
                relist = True
            except Exception as error:  # any failure: the watch is retried, reads go on
                if self._stopping.is_set():
                    break
                log.warning(
                    "watch of deployments in namespace %r failed (%s); retrying in %.1fs",
                    namespace,
                    error,
                    delay,
                )
                self._stopping.wait(delay)
                delay = min(delay * 2, self._backoff[1])

    def abandon(self, name: str, token: str) -> None:
        """Makes sure the Deployment of a create reported failed does not stay: removed now
        if the API server carried the create out after all, or when the watch shows it."""
        self.view.abandon(name, token)
        try:
            deployment = self._cluster.read_deployment(self.view.namespace, name)
        except FnplaneError:
            return
        if self.view.abandoned(deployment):
            self._discard(deployment)

    def reclaim(self, name: str) -> bool:
        """Removes the Deployment `name` if a create reported failed made it; answers whether
        it did."""
        if not self.view.abandoning(name):
            return False
        try:
            deployment = self._cluster.read_deployment(self.view.namespace, name)
        except NotFound:
            return True
        return self.view.abandoned(deployment) and self._discard(deployment)

    def _list(self) -> None:
        listed = self._cluster.list_deployments(self.view.namespace)
        self.heard = time.monotonic()
        items = listed.get("items") or []
        abandoned = [d for d in items if self.view.abandoned(d)]
        listed["items"] = [d for d in items if not self.view.abandoned(d)]
        self._version = self.view.replace(listed)
        for deployment in abandoned:
            self._discard(deployment)

    def _discard(self, deployment: KubeObject) -> bool:
        """Deletes a Deployment whose create was reported failed to its caller; answers
        whether it is gone."""
        namespace = self.view.namespace
        name, uid = deployment["metadata"]["name"], deployment["metadata"]["uid"]
        try:
            self._cluster.delete_deployment(namespace, name, uid=uid)
        except NotFound:
            pass
        except Conflict:
            # Replaced by another object of that name since it was read: not this one's.
            return False
        except FnplaneError as error:
            log.warning(
                "function %s/%s: the Deployment of a create reported failed could not be "
                "removed, trying again when the watch next shows it: %s",
                namespace,
                name,
                error,
            )
            return False
        log.info(
            "function %s/%s: removed the Deployment of a create reported failed, which the "
            "API server carried out after all",
            namespace,
            name,
        )
        self.view.forget(name, uid)
        self.view.settle(name)
        return True

    def _follow(self) -> bool:
        """Follows one watch request until the API server ends it; answers whether any
        event came."""
        response = self._cluster.watch_deployments(
            self.view.namespace, self._version, timeout_seconds=self._watch_seconds
        )
        with self._response_lock:
            self._response = response
        events = 0
        try:
            if self._stopping.is_set():
                return False
            for line in iter_resp_lines(response):
                if line:
                    self._handle(json.loads(line))
                    events += 1
        finally:
            with self._response_lock:
                self._response = None
            response.release_conn()
        return events > 0

    def _handle(self, event: dict[str, Any]) -> None:
        self.heard = time.monotonic()
        kind, obj = event.get("type"), event.get("object") or {}
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise ResourceVersionExpired(str(obj.get("message", "")))
            raise RuntimeError(f"the watch answered an error: {obj.get('message', obj)}")
        if kind in ("ADDED", "MODIFIED") and self.view.abandoned(obj):
            self._discard(obj)
        elif kind in ("ADDED", "MODIFIED"):
            self.view.put(obj)
        elif kind == "DELETED":
            self.view.remove(obj)
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if version:
            self._version = str(version)


class FunctionCache:
    """The functions of every namespace fnplane has been asked about, read from memory."""

    def __init__(
        self,
        cluster: Cluster,
        *,
        watch_seconds: int = 300,
        backoff: tuple[float, float] = (0.2, 30.0),
    ) -> None:
        self._cluster = cluster
        self._watch_seconds = watch_seconds
        self._backoff = backoff
        self._lock = threading.Lock()
        self._watchers: dict[str, _Watcher] = {}
        self._subscribers = Watchers()
        self._closed = False

    def functions(self, namespace: str) -> list[Function]:
        """Answers the functions of `namespace`, sorted by name."""
        return self._warm(namespace).functions()

    def function(self, namespace: str, name: str) -> Function | None:
        """Answers the function `name` of `namespace`, or None if there is none."""
        return self._warm(namespace).function(name)

    def watch(self, namespace: str) -> FunctionWatch:
        """Answers a watch of `namespace`'s functions: those there now, then every change."""
        return self._warm(namespace).subscribe()

    def census(self) -> Counter[tuple[str, str]]:
        """Answers how many functions there are by (namespace, status), from memory."""
        with self._lock:
            views = [watcher.view for watcher in self._watchers.values()]
        return Counter(
            (view.namespace, function.status.value)
            for view in views
            for function in view.functions()
        )

    def written(self, namespace: str, deployment: KubeObject) -> Function:
        """Records a Deployment a write answered; answers the function it stands for."""
        return self._watcher(namespace).view.put(deployment)

    def abandon(self, namespace: str, name: str, token: str) -> None:
        """Records that the create with `token` of function `name` was reported failed to
        its caller: its Deployment, should the API server make it after all, is removed."""
        self._watcher(namespace).abandon(name, token)

    def reclaim(self, namespace: str, name: str) -> bool:
        """Removes the Deployment `name` if a create reported failed made it; answers whether
        the name is free again."""
        return self._watcher(namespace).reclaim(name)

    def deleted(self, namespace: str, name: str, uid: str) -> None:
        """Records that this process deleted the Deployment `name` with `uid`."""
        self._watcher(namespace).view.forget(name, uid)

    def stats(self) -> tuple[int, float | None]:
        """Answers how many functions the cache holds over every namespace, and when
        (time.monotonic) the API server was last heard from; None before it was."""
        with self._lock:
            watchers = list(self._watchers.values())
        heard = [w.heard for w in watchers if w.heard is not None]
        return sum(len(w.view.functions()) for w in watchers), max(heard, default=None)

    def resume_version(self, namespace: str) -> str:
        """Answers the resourceVersion the watch of `namespace` resumes from ("" before the
        first read there)."""
        with self._lock:
            watcher = self._watchers.get(namespace)
        return watcher.version if watcher else ""

    def close(self) -> None:
        """Stops every watch of the cluster, and ends every watcher's watch."""
        with self._lock:
            self._closed = True
            watchers = list(self._watchers.values())
        for watcher in watchers:
            watcher.stop()
        self._subscribers.close()

    def _warm(self, namespace: str) -> NamespaceView:
        watcher = self._watcher(namespace)
        if not watcher.started:
            watcher.start()
        return watcher.view

    def _watcher(self, namespace: str) -> _Watcher:
        with self._lock:
            watcher = self._watchers.get(namespace)
            if watcher is None:
                watcher = _Watcher(
                    self._cluster,
                    NamespaceView(namespace, self._subscribers),
                    watch_seconds=self._watch_seconds,
                    backoff=self._backoff,
                )
                if self._closed:
                    watcher.stop()
                self._watchers[namespace] = watcher
            return watcher
