"""The HTTP side of the fake: one handler per connection, routing requests to the registry.

Watches and followed logs are streamed with chunked transfer encoding, one JSON event (or log
line) per line, as the real API server streams them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from tests.fakekube import discovery
from tests.fakekube.logs import parse_log_query
from tests.fakekube.patches import PATCH_TYPES
from tests.fakekube.resources import NAMESPACES, PODS, Resource
from tests.fakekube.routes import (
    TRUE,
    RecordedRequest,
    Route,
    integer_param,
    no_such_path,
    route,
)
from tests.fakekube.selectors import labels_match, parse_fields, parse_labels
from tests.fakekube.statuses import (
    ApiError,
    bad_request,
    forbidden,
    internal,
    unsupported_media_type,
)
from tests.fakekube.store import Change, JsonObject
from tests.fakekube.validation import FieldErrors, check_dns_label

if TYPE_CHECKING:
    from tests.fakekube.server import FakeKubeApiServer

log = logging.getLogger(__name__)

Selected = Callable[[JsonObject | None], bool]
"""Whether an object (or the absence of one) is in a watch's view."""

TOKEN = "fakekube-token"
"""The bearer token the fake's kubeconfig and clients carry."""

USER = "system:serviceaccount:fnplane:fnplane"
"""The user RBAC refusals name, as if fnplane ran under its own service account."""


@dataclass(eq=False)
class OpenWatch:
    """A watch being streamed, and what the test asked to happen to it."""

    route: Route
    closing: bool = False
    abrupt: bool = False
    expire: bool = False
    bookmark: bool = False


@dataclass
class _Faulted:
    error: ApiError | None = None
    disconnect: bool = False


class HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], fake: FakeKubeApiServer) -> None:
        self.fake = fake
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Cuts every open connection, as a dying server's kernel does."""
        with self.connections_lock:
            open_now = list(self.connections)
        for connection in open_now:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    """One connection's requests; routes each to the registry, watches or logs."""

    protocol_version = "HTTP/1.1"
    server: HttpServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's algorithm and
        # delayed acknowledgements hold every second response on a kept-alive connection.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    @property
    def fake(self) -> FakeKubeApiServer:
        return self.server.fake

    # The life of a request

    def _serve(self, method: str) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query).items()}
        body = self._read_body()
        try:
            addressed = route(method, path, query)
        except ApiError as error:
            self._record_plain(method, path, query)
            self._send_error(error)
            return
        self.fake.record(
            RecordedRequest(
                verb=addressed.verb,
                path=path,
                query=query,
                resource=addressed.rbac_resource,
                namespace=addressed.namespace,
                name=addressed.name,
                method=method,
            )
        )

        if self.fake.require_token and self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._send_error(ApiError(401, "Unauthorized", "Unauthorized"))
            return

        outcome = self.fake.faults.decide(addressed.verb, addressed.rbac_resource)
        if outcome.delay:
            self.fake.stopping.wait(outcome.delay)
        faulted = _Faulted(outcome.error, outcome.disconnect)
        if faulted.error is not None and faulted.error.code == 403 and addressed.resource:
            faulted.error = forbidden(
                addressed.resource,
                addressed.verb,
                addressed.namespace,
                addressed.name,
                USER,
                subresource=addressed.subresource,
            )
        if (faulted.error or faulted.disconnect) and not outcome.after_write:
            self._fail(faulted)
            return

        failure: ApiError | None = None
        try:
            answered = self._dispatch(method, path, addressed, query, body)
        except ApiError as error:
            failure, answered = error, None
        except Exception as error:  # a bug in the fake must still answer like a server
            log.exception("fake API server failed on %s %s", method, path)
            failure, answered = internal(str(error)), None
        if faulted.error or faulted.disconnect:
            self._fail(faulted)
        elif failure is not None:
            self._send_error(failure)
        elif answered is not None:
            self._send_json(*answered)

    def _record_plain(self, method: str, path: str, query: Mapping[str, str]) -> None:
        verb = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch"}.get(
            method, "delete"
        )
        self.fake.record(RecordedRequest(verb, path, query, "", method=method))

    def _fail(self, faulted: _Faulted) -> None:
        if faulted.disconnect:
            self._cut()
        elif faulted.error is not None:
            self._send_error(faulted.error)

    def _dispatch(
        self,
        method: str,
        path: str,
        route: Route,
        query: Mapping[str, str],
        body: bytes,
    ) -> tuple[int, Any] | None:
        if route.resource is None:
            return self._non_resource(path)
        registry = self.fake.registry
        resource, namespace, name = route.resource, route.namespace, route.name
        dry_run = query.get("dryRun") == "All"
        scope = namespace or ""

        if route.subresource == "log":
            self._pod_log(scope, name or "", query)
            return None
        if route.verb == "watch":
            self._watch(route, query)
            return None
        if route.verb == "list":
            return 200, registry.list_objects(
                resource,
                namespace,
                labels=parse_labels(query.get("labelSelector")),
                fields=parse_fields(query.get("fieldSelector"), kind=resource.kind),
                limit=integer_param(query, "limit"),
                continue_token=query.get("continue"),
            )
        if route.verb == "create":
            return 201, registry.create(resource, namespace, _json(body), dry_run=dry_run)
        if route.verb == "deletecollection":
            return 200, self._delete_collection(route, query, body)
        assert name is not None
        status = route.subresource == "status"
        if route.verb == "get":
            if resource is NAMESPACES and registry.store.get(NAMESPACES, "", name) is None:
                self._namespace_on_demand(name)
            return 200, registry.get(resource, scope, name)
        if route.verb == "update" and status:
            return 200, registry.replace_status(
                resource, scope, name, _json(body), dry_run=dry_run
            )
        if route.verb == "update":
            return 200, registry.replace(resource, scope, name, _json(body), dry_run=dry_run)
        if route.verb == "patch":
            content_type = self.headers.get("Content-Type", "")
            if content_type.split(";")[0].strip() not in PATCH_TYPES:
                raise unsupported_media_type(content_type)
            return 200, registry.patch(
                resource, scope, name, content_type, body, status=status, dry_run=dry_run
            )
        options = _json(body) if body.strip() else {}
        if "propagationPolicy" in query:
            options.setdefault("propagationPolicy", query["propagationPolicy"])
        return 200, registry.delete(resource, scope, name, options, dry_run=dry_run)

    def _namespace_on_demand(self, name: str) -> None:
        errors = FieldErrors()
        check_dns_label(errors, "metadata.name", name)
        if not errors.causes:
            self.fake.registry.ensure_namespace(name)

    def _delete_collection(
        self, route: Route, query: Mapping[str, str], body: bytes
    ) -> JsonObject:
        assert route.resource is not None
        listed = self.fake.registry.list_objects(
            route.resource,
            route.namespace,
            labels=parse_labels(query.get("labelSelector")),
            fields=parse_fields(query.get("fieldSelector"), kind=route.resource.kind),
        )
        options = _json(body) if body.strip() else {}
        for item in listed["items"]:
            try:
                self.fake.registry.delete(
                    route.resource, route.namespace or "", item["metadata"]["name"], options
                )
            except ApiError as error:
                if error.code != 404:
                    raise
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}

    def _non_resource(self, path: str) -> tuple[int, Any]:
        address = f"127.0.0.1:{self.fake.port}"
        documents: dict[str, Any] = {
            "/version": discovery.KUBERNETES_VERSION,
            "/api": discovery.core_versions(address),
            "/apis": discovery.groups(),
            "/api/v1": discovery.resource_list("", "v1"),
            "/apis/apps": discovery.group("apps"),
            "/apis/apps/v1": discovery.resource_list("apps", "v1"),
        }
        if path in ("/healthz", "/livez", "/readyz"):
            return 200, "ok"
        if documents.get(path) is None:
            raise no_such_path()
        return 200, documents[path]

    # Watches

    def _watch(self, route: Route, query: Mapping[str, str]) -> None:
        assert route.resource is not None
        resource, namespace = route.resource, route.namespace
        labels = parse_labels(query.get("labelSelector"))
        fields = parse_fields(query.get("fieldSelector"), kind=resource.kind)
        timeout = integer_param(query, "timeoutSeconds")
        bookmarks = query.get("allowWatchBookmarks") in TRUE
        initial_events = query.get("sendInitialEvents") in TRUE
        requested = query.get("resourceVersion") or ""
        if requested and not requested.isdigit():
            raise bad_request(f"invalid resource version: {requested!r}")
        deadline = time.monotonic() + timeout if timeout else None
        store = self.fake.store

        def selected(obj: JsonObject | None) -> bool:
            if obj is None or (namespace and obj["metadata"].get("namespace") != namespace):
                return False
            return labels_match(labels, obj["metadata"].get("labels") or {}) and fields(obj)

        watch = OpenWatch(route)
        initial: list[JsonObject] = []
        expired: ApiError | None = None
        with store.lock:
            if requested in ("", "0") or initial_events:
                cursor = store.revision
                initial = [
                    obj
                    for obj in store.items(resource, namespace, read_only=True)
                    if selected(obj)
                ]
            else:
                cursor = int(requested)
                try:
                    store.changes_after(cursor)
                except ApiError as error:
                    expired = error
            self.fake.watches.add(watch)

        try:
            self._start_stream("application/json")
            if expired is not None:
                self._event("ERROR", expired.body())
                return
            for obj in initial:
                self._event("ADDED", obj)
            if initial_events and bookmarks:
                self._bookmark(resource, cursor, initial_events_end=True)
            self._stream_changes(watch, cursor, selected, deadline, bookmarks)
        except OSError:
            watch.abrupt = True
        finally:
            with store.lock:
                self.fake.watches.discard(watch)
            if watch.abrupt:
                self._cut()
            else:
                self._end_stream()

    def _stream_changes(
        self,
        watch: OpenWatch,
        cursor: int,
        selected: Selected,
        deadline: float | None,
        bookmarks: bool,
    ) -> None:
        store = self.fake.store
        assert watch.route.resource is not None
        resource = watch.route.resource
        while True:
            with store.lock:
                changes: list[Change] = []
                expired: ApiError | None = None
                while not watch.closing:
                    try:
                        changes = store.changes_after(cursor)
                    except ApiError as error:
                        expired = error
                        break
                    if changes or watch.expire or watch.bookmark:
                        break
                    if deadline is not None and time.monotonic() >= deadline:
                        break
                    store.lock.wait(_wait_slice(deadline))
                    if self._client_gone():
                        return
                if watch.expire and expired is None and not changes:
                    expired = ApiError(
                        410, "Expired", f"too old resource version: {cursor} ({store.oldest})"
                    )
                send_bookmark = watch.bookmark and bookmarks and not changes
                watch.bookmark = False
                latest = store.revision
            if watch.closing:
                return
            if expired is not None:
                self._event("ERROR", expired.body())
                return
            for change in changes:
                cursor = change.revision
                if change.resource is not resource:
                    continue
                kind = _event_type(change, selected)
                if kind is not None:
                    self._event(kind, change.obj)
            if send_bookmark:
                cursor = max(cursor, latest)
                self._bookmark(resource, cursor)
            if deadline is not None and time.monotonic() >= deadline and not changes:
                if bookmarks:
                    self._bookmark(resource, max(cursor, latest))
                return

    def _event(self, kind: str, obj: JsonObject) -> None:
        self._chunk(json.dumps({"type": kind, "object": obj}).encode() + b"\n")

    def _bookmark(
        self, resource: Resource, revision: int, *, initial_events_end: bool = False
    ) -> None:
        metadata: JsonObject = {"resourceVersion": str(revision)}
        if initial_events_end:
            metadata["annotations"] = {"k8s.io/initial-events-end": "true"}
        self._event(
            "BOOKMARK",
            {"kind": resource.kind, "apiVersion": resource.api_version, "metadata": metadata},
        )

    def _client_gone(self) -> bool:
        """Answers whether the client closed its end, so an idle stream can end too."""
        try:
            peeked: bytes = self.connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return False
        except OSError:
            return True
        return peeked == b""

    # Pod logs

    def _pod_log(self, namespace: str, name: str, query: Mapping[str, str]) -> None:
        pod = self.fake.registry.get(PODS, namespace, name)
        uid = pod["metadata"]["uid"]
        names = [c["name"] for c in pod["spec"].get("containers") or []]
        container = query.get("container")
        if not container:
            if len(names) != 1:
                raise bad_request(
                    f"a container name must be specified for pod {name}, choose one of: "
                    f"[{' '.join(names)}]"
                )
            container = names[0]
        elif container not in names:
            raise bad_request(f"container {container} is not valid for pod {name}")
        if pod.get("status", {}).get("phase") == "Pending":
            raise bad_request(
                f'container "{container}" in pod "{name}" is waiting to start: ContainerCreating'
            )
        if query.get("previous") in TRUE:
            # The fake's containers never restart, so there is no previous instance to read.
            raise bad_request(
                f'previous terminated container "{container}" in pod "{name}" not found'
            )
        log_query = parse_log_query(query)
        key = (namespace, name, container)
        lines, position = self.fake.logs.read(key, log_query)
        follow = query.get("follow") in TRUE

        if not follow:
            text = "".join(f"{line}\n" for line in lines).encode()
            if log_query.limit_bytes is not None:
                text = text[: log_query.limit_bytes]
            self._send(200, text, "text/plain")
            return
        try:
            self._start_stream("text/plain")
            for line in lines:
                self._chunk(f"{line}\n".encode())
            for line in self.fake.logs.follow(
                key,
                position,
                timestamps=log_query.timestamps,
                still_wanted=lambda: (
                    self._pod_lives(namespace, name, uid) and not self._client_gone()
                ),
            ):
                self._chunk(f"{line}\n".encode())
            self._end_stream()
        except OSError:
            self._cut()

    def _pod_lives(self, namespace: str, name: str, uid: str) -> bool:
        """Answers whether the pod is still there: a deleted pod's log follow ends."""
        current = self.fake.store.get(PODS, namespace, name)
        return current is not None and current["metadata"]["uid"] == uid

    # Wire

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send_error(self, error: ApiError) -> None:
        headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else {}
        self._send(error.code, json.dumps(error.body()).encode(), "application/json", headers)

    def _send_json(self, code: int, body: Any) -> None:
        if isinstance(body, str):
            self._send(code, body.encode(), "text/plain")
        else:
            self._send(code, json.dumps(body).encode(), "application/json")

    def _send(
        self,
        code: int,
        payload: bytes,
        content_type: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        try:
            self.send_response(code)
            for header, value in (headers or {}).items():
                self.send_header(header, value)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True

    def _start_stream(self, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")

    def _end_stream(self) -> None:
        try:
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True

    def _cut(self) -> None:
        """Closes the connection without a word, as a crashed server would."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def _event_type(change: Change, selected: Selected) -> str | None:
    """The event a filtered watch sees for a change: objects enter and leave its view."""
    now_in = change.type != "DELETED" and selected(change.obj)
    was_in = selected(change.old) if change.type != "DELETED" else selected(change.obj)
    if change.type == "DELETED":
        return "DELETED" if was_in else None
    if now_in and was_in:
        return "MODIFIED"
    if now_in:
        return "ADDED"
    if was_in:
        return "DELETED"
    return None


def _wait_slice(deadline: float | None) -> float:
    if deadline is None:
        return 0.25
    return max(0.0, min(0.25, deadline - time.monotonic()))


def _json(body: bytes) -> JsonObject:
    try:
        parsed = json.loads(body or b"null")
    except ValueError as error:
        raise bad_request(f"the body of the request could not be decoded: {error}") from error
    if not isinstance(parsed, dict):
        raise bad_request("the body of the request must be a JSON object")
    return parsed
