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
from dataclasses import dataclass
from typing import Any

from kubernetes.watch.watch import iter_resp_lines
from urllib3 import HTTPResponse

from fnplane.server.domain import Function
from fnplane.server.kubernetes.api_errors import ResourceVersionExpired
from fnplane.server.kubernetes.cluster import Cluster
from fnplane.server.kubernetes.objects import KubeObject
from fnplane.server.kubernetes.rollout import function_of

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
    """The functions of one namespace as last seen, safe to read and change from any thread."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        # Uids this process deleted, so a late event about them does not bring them back.
        self._deleted: set[str] = set()

    def functions(self) -> list[Function]:
        with self._lock:
            entries = list(self._entries.values())
        return sorted((e.function for e in entries), key=lambda f: f.name)

    def function(self, name: str) -> Function | None:
        with self._lock:
            entry = self._entries.get(name)
        return entry.function if entry else None

    def uid(self, name: str) -> str | None:
        with self._lock:
            entry = self._entries.get(name)
        return entry.uid if entry else None

    def put(self, deployment: KubeObject) -> Function:
        """Records a Deployment as added or changed, unless newer state is known; answers the
        function it stands for."""
        function = function_of(deployment, self.namespace)
        metadata = deployment["metadata"]
        entry = _Entry(str(metadata.get("uid", "")), _version_of(deployment), function)
        with self._lock:
            current = self._entries.get(metadata["name"])
            stale = current is not None and current.version > entry.version
            if entry.uid not in self._deleted and not stale:
                self._entries[metadata["name"]] = entry
        return function

    def remove(self, deployment: KubeObject) -> None:
        """Records that the API server deleted a Deployment."""
        metadata = deployment["metadata"]
        uid = str(metadata.get("uid", ""))
        with self._lock:
            self._deleted.discard(uid)
            current = self._entries.get(metadata["name"])
            if current is not None and current.uid == uid:
                del self._entries[metadata["name"]]

    def forget(self, name: str, uid: str) -> None:
        """Records that this process deleted the Deployment `name` with `uid`."""
        with self._lock:
            self._deleted.add(uid)
            current = self._entries.get(name)
            if current is not None and current.uid == uid:
                del self._entries[name]

    def replace(self, listed: KubeObject) -> str:
        """Makes a fresh list the known state, keeping writes newer than the list; answers
        the list's resourceVersion."""
        list_version_text = str(listed.get("metadata", {}).get("resourceVersion") or "")
        list_version = int(list_version_text) if list_version_text.isdigit() else 0
        items = listed.get("items") or []
        fresh = {
            d["metadata"]["name"]: _Entry(
                str(d["metadata"].get("uid", "")),
                _version_of(d),
                function_of(d, self.namespace),
            )
            for d in items
        }
        with self._lock:
            entries: dict[str, _Entry] = {}
            for name, entry in fresh.items():
                if entry.uid in self._deleted:
                    continue
                current = self._entries.get(name)
                newer = current is not None and current.version > entry.version
                entries[name] = current if newer and current else entry
            for name, current in self._entries.items():
                # Written here after the list was taken: the watch will confirm it.
                if name not in entries and current.version > list_version:
                    entries[name] = current
            self._entries = entries
            # A deleted uid the list no longer shows is gone for good.
            self._deleted &= {entry.uid for entry in fresh.values()}
        return list_version_text


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
            self._version = self.view.replace(self._cluster.list_deployments(self.view.namespace))
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
                    self._version = self.view.replace(self._cluster.list_deployments(namespace))
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
        kind, obj = event.get("type"), event.get("object") or {}
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise ResourceVersionExpired(str(obj.get("message", "")))
            raise RuntimeError(f"the watch answered an error: {obj.get('message', obj)}")
        if kind in ("ADDED", "MODIFIED"):
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
        self._closed = False

    def functions(self, namespace: str) -> list[Function]:
        """Answers the functions of `namespace`, sorted by name."""
        return self._warm(namespace).functions()

    def function(self, namespace: str, name: str) -> Function | None:
        """Answers the function `name` of `namespace`, or None if there is none."""
        return self._warm(namespace).function(name)

    def written(self, namespace: str, deployment: KubeObject) -> Function:
        """Records a Deployment a write answered; answers the function it stands for."""
        return self._watcher(namespace).view.put(deployment)

    def deleted(self, namespace: str, name: str, uid: str) -> None:
        """Records that this process deleted the Deployment `name` with `uid`."""
        self._watcher(namespace).view.forget(name, uid)

    def resume_version(self, namespace: str) -> str:
        """Answers the resourceVersion the watch of `namespace` resumes from ("" before the
        first read there)."""
        with self._lock:
            watcher = self._watchers.get(namespace)
        return watcher.version if watcher else ""

    def close(self) -> None:
        """Stops every watch."""
        with self._lock:
            self._closed = True
            watchers = list(self._watchers.values())
        for watcher in watchers:
            watcher.stop()

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
                    NamespaceView(namespace),
                    watch_seconds=self._watch_seconds,
                    backoff=self._backoff,
                )
                if self._closed:
                    watcher.stop()
                self._watchers[namespace] = watcher
            return watcher
