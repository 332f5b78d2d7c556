"""The watch cache: what fnplane knows of each namespace's functions, kept current by a watch.

The first read in a namespace lists the functions' Deployments (one request, in the caller's
thread, so a refusal reaches the caller) and starts a watch from the list's resourceVersion.
From then on reads are answered from memory. The watch resumes from the last resourceVersion
it saw, lists again when the API server answers 410 Gone (that version is no longer kept), and
reconnects with a growing delay while the API server cannot be reached.

The functions' Services are listed (first) and watched the same way: a function whose
Service is gone cannot be reached, so it is reported Failed, saying so, until the Service is
back. A Service this process is about to make counts as there, so a function being created
is never reported without one. Two watches keep no order between them, so a Service found
gone (by an event or by a fresh list) is believed only once the Deployments have been listed
again, which is asked for at once: a function deleted by someone else, its Service removed
with it, is then told as deleted, not as failed first.

A caller's own writes are recorded as soon as the API server answers them, so the caller's
next read sees them even before the watch delivers the same change. Resource versions are
opaque to clients in principle; they are compared as the integers every API server sends, so
that an older event arriving late never replaces newer state.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from kubernetes.watch.watch import iter_resp_lines
from urllib3 import HTTPResponse

from fnplane.server.domain import EventType, Function, FunctionEvent, Status
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
        # The functions' Services by name: uid and resourceVersion of the one last seen.
        self._services: dict[str, tuple[str, int]] = {}
        # Names whose Service this process is making right now.
        self._expected: set[str] = set()
        # Names whose Service a fresh list found gone, not believed until the Deployments
        # are listed again too.
        self._unconfirmed: set[str] = set()

    def functions(self) -> list[Function]:
        with self._lock:
            shown = [self._shown(e.function) for e in self._entries.values()]
        return sorted(shown, key=_by_name)

    def function(self, name: str) -> Function | None:
        with self._lock:
            entry = self._entries.get(name)
            return self._shown(entry.function) if entry else None

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
            functions = sorted(
                (self._shown(e.function) for e in self._entries.values()), key=_by_name
            )
            return self._watchers.subscribe(self.namespace, functions)

    def expect_service(self, name: str) -> None:
        """Records that this process is making the Service of function `name`."""
        with self._lock, self._showing([name]):
            self._expected.add(name)

    def expected_done(self, name: str) -> None:
        """Records that this process has made, or given up making, the Service of `name`."""
        with self._lock, self._showing([name]):
            self._expected.discard(name)

    def put_service(self, service: KubeObject) -> None:
        """Records a function's Service as added or changed, unless newer state is known."""
        name, uid, version = _identity(service)
        with self._lock, self._showing([name]):
            current = self._services.get(name)
            if current is None or current[1] <= version:
                self._services[name] = (uid, version)
                self._unconfirmed.discard(name)

    def remove_service(self, service: KubeObject) -> bool:
        """Records that a function's Service was deleted; answers whether that waits to be
        believed until the Deployments are listed again."""
        name, uid, _ = _identity(service)
        with self._lock, self._showing([name]):
            current = self._services.get(name)
            if current is None or current[0] != uid:
                return False
            del self._services[name]
            if name not in self._entries:
                return False
            # Its Deployment may be going too, which another watch tells in its own time.
            self._unconfirmed.add(name)
            return True

    def replace_services(self, listed: KubeObject) -> tuple[str, bool]:
        """Makes a fresh list of Services the known state, keeping writes newer than the
        list; answers the list's resourceVersion, and whether a Service known before is gone
        (which is believed only once the Deployments are listed again)."""
        list_version_text = str(listed.get("metadata", {}).get("resourceVersion") or "")
        list_version = int(list_version_text) if list_version_text.isdigit() else 0
        fresh = {
            name: (uid, version)
            for name, uid, version in map(_identity, listed.get("items") or [])
        }
        with self._lock:
            kept = {
                name: known
                for name, known in self._services.items()
                if name not in fresh and known[1] > list_version
            }
            gone = set(self._services) - set(fresh) - set(kept)
            self._unconfirmed |= gone
            with self._showing(list(self._entries)):
                self._services = {**fresh, **kept}
        return list_version_text, bool(gone)

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
            # Both lists are fresh now: a Service still missing is missing indeed.
            with self._showing(list(self._entries)):
                self._unconfirmed.clear()
        return list_version_text

    def _set(self, entry: _Entry) -> None:
        current = self._entries.get(entry.function.name)
        self._entries[entry.function.name] = entry
        if current is None:
            self._tell(EventType.ADDED, self._shown(entry.function))
        elif current.function != entry.function:
            self._tell(EventType.MODIFIED, self._shown(entry.function))

    def _drop(self, name: str, uid: str) -> None:
        current = self._entries.get(name)
        if current is not None and current.uid == uid:
            del self._entries[name]
            self._tell(EventType.DELETED, self._shown(current.function))
            self._unconfirmed.discard(name)

    def _shown(self, function: Function) -> Function:
        """Answers a function as reported: Failed, saying why, while its Service is gone."""
        name = function.name
        if name in self._services or name in self._expected or name in self._unconfirmed:
            return function
        return replace(function, status=Status.FAILED, status_message=SERVICE_MISSING)

    @contextlib.contextmanager
    def _showing(self, names: list[str]) -> Iterator[None]:
        """Tells watchers of each function among `names` whose report changes inside the
        block; the view's lock must be held."""
        before = {n: self._shown(e.function) for n in names if (e := self._entries.get(n))}
        yield
        for name, shown in before.items():
            entry = self._entries.get(name)
            if entry is not None and (after := self._shown(entry.function)) != shown:
                self._tell(EventType.MODIFIED, after)

    def _tell(self, kind: EventType, function: Function) -> None:
        self._watchers.publish(self.namespace, FunctionEvent(type=kind, function=function))


def _entry_of(deployment: KubeObject, namespace: str) -> _Entry:
    uid = str(deployment["metadata"].get("uid", ""))
    return _Entry(uid, _version_of(deployment), function_of(deployment, namespace))


def _by_name(function: Function) -> str:
    return function.name


def _identity(obj: KubeObject) -> tuple[str, str, int]:
    metadata = obj["metadata"]
    return metadata["name"], str(metadata.get("uid", "")), _version_of(obj)


SERVICE_MISSING = (
    "its Service is missing, so nothing routes to it; delete the function and create it again"
)


class _Follower:
    """Lists one kind of a namespace's objects and then watches them, feeding its view.

    Subclasses say what to list, what to watch and what an event means (`_list`, `_open`,
    `_apply`); the loop that resumes, lists again on 410 or on request, and backs off is
    shared.
    """

    resource = ""
    """The resource followed, as logs name it."""

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
        self._relist_requested = threading.Event()
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
                target=self._run, name=f"watch-{self.resource}-{self.view.namespace}", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._interrupt()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def request_relist(self) -> None:
        """Makes the watch list the objects again now, instead of waiting for the next
        event."""
        self._relist_requested.set()
        self._interrupt()

    def _interrupt(self) -> None:
        with self._response_lock:
            if self._response is not None:
                # Interrupts the watch thread's blocked read at once.
                self._response.shutdown()

    def _run(self) -> None:
        namespace = self.view.namespace
        delay = self._backoff[0]
        relist = False
        while not self._stopping.is_set():
            try:
                if relist or self._relist_requested.is_set():
                    self._relist_requested.clear()
                    self._list()
                    relist = False
                    log.info("listed %s in namespace %r again", self.resource, namespace)
                if self._follow():
                    delay = self._backoff[0]
            except ResourceVersionExpired:
                log.info(
                    "watch of %s in namespace %r: resourceVersion %s expired, listing again",
                    self.resource,
                    namespace,
                    self._version,
                )
                relist = True
            except Exception as error:  # any failure: the watch is retried, reads go on
                if self._stopping.is_set():
                    break
                if self._relist_requested.is_set():
                    continue  # interrupted on purpose, to list again
                log.warning(
                    "watch of %s in namespace %r failed (%s); retrying in %.1fs",
                    self.resource,
                    namespace,
                    error,
                    delay,
                )
                self._stopping.wait(delay)
                delay = min(delay * 2, self._backoff[1])

    def _follow(self) -> bool:
        """Follows one watch request until the API server ends it; answers whether any
        event came."""
        response = self._open()
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
        if kind in ("ADDED", "MODIFIED", "DELETED"):
            self._apply(kind, obj)
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if version:
            self._version = str(version)

    def _list(self) -> None:
        """Lists the objects and makes them the view's state, setting the watch's version."""
        raise NotImplementedError

    def _open(self) -> HTTPResponse:
        """Opens a watch of the objects from the current version."""
        raise NotImplementedError

    def _apply(self, kind: str, obj: KubeObject) -> None:
        """Records one ADDED, MODIFIED or DELETED event in the view."""
        raise NotImplementedError


class _ServiceFollower(_Follower):
    """Follows one namespace's function Services, so that a missing one is noticed."""

    resource = "services"

    def __init__(
        self,
        cluster: Cluster,
        view: NamespaceView,
        *,
        watch_seconds: int,
        backoff: tuple[float, float],
        on_gone: Callable[[], None],
    ) -> None:
        super().__init__(cluster, view, watch_seconds=watch_seconds, backoff=backoff)
        self._on_gone = on_gone

    def _list(self) -> None:
        listed = self._cluster.list_services(self.view.namespace)
        self.heard = time.monotonic()
        self._version, gone = self.view.replace_services(listed)
        if gone:
            self._on_gone()

    def _open(self) -> HTTPResponse:
        return self._cluster.watch_services(
            self.view.namespace, self._version, timeout_seconds=self._watch_seconds
        )

    def _apply(self, kind: str, obj: KubeObject) -> None:
        if kind != "DELETED":
            self.view.put_service(obj)
        elif self.view.remove_service(obj):
            self._on_gone()


class _Watcher(_Follower):
    """Follows one namespace's function Deployments, and through `services` their Services,
    feeding a NamespaceView."""

    resource = "deployments"

    def __init__(
        self,
        cluster: Cluster,
        view: NamespaceView,
        *,
        watch_seconds: int,
        backoff: tuple[float, float],
    ) -> None:
        super().__init__(cluster, view, watch_seconds=watch_seconds, backoff=backoff)
        self.services = _ServiceFollower(
            cluster,
            view,
            watch_seconds=watch_seconds,
            backoff=backoff,
            on_gone=self.request_relist,
        )

    def start(self) -> None:
        """Lists the Services, then the Deployments, and follows both; raises what a list
        raised. Services go first so that no function is ever seen without its Service."""
        self.services.start()
        super().start()

    def stop(self) -> None:
        self.services.stop()
        super().stop()

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

    def _open(self) -> HTTPResponse:
        return self._cluster.watch_deployments(
            self.view.namespace, self._version, timeout_seconds=self._watch_seconds
        )

    def _apply(self, kind: str, obj: KubeObject) -> None:
        if kind == "DELETED":
            self.view.remove(obj)
        elif self.view.abandoned(obj):
            self._discard(obj)
        else:
            self.view.put(obj)


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

    def expect_service(self, namespace: str, name: str) -> None:
        """Records that this process is about to make the Service of function `name`."""
        self._watcher(namespace).view.expect_service(name)

    def service_written(self, namespace: str, service: KubeObject | None, name: str) -> None:
        """Records the Service a write answered (None when the write failed) and that
        making it is over."""
        view = self._watcher(namespace).view
        if service is not None:
            view.put_service(service)
        view.expected_done(name)

    def deleted(self, namespace: str, name: str, uid: str) -> None:
        """Records that this process deleted the Deployment `name` with `uid`."""
        self._watcher(namespace).view.forget(name, uid)

    def stats(self) -> tuple[int, float | None]:
        """Answers how many functions the cache holds over every namespace, and when
        (time.monotonic) the API server was last heard from; None before it was."""
        with self._lock:
            watchers = list(self._watchers.values())
        followers = [f for w in watchers for f in (w, w.services)]
        heard = [f.heard for f in followers if f.heard is not None]
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
