"""An in-process fake Kubernetes API server that speaks real HTTP to the official client.

Tests start one per test (it is a context manager), point the `kubernetes` client at it with
`api_client()` or a kubeconfig from `write_kubeconfig()`, and play the cluster's controllers
through Python: `/status` writes with the client, pods and their logs with `add_pod()` and
`append_log()`. Every request is recorded (`requests`, `request_count()`), and faults can be
injected (`faults`, `pause()`, `drop_watches()`, `expire_watches()`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType

import kubernetes.client
import yaml

from tests.fakekube import resources
from tests.fakekube.controller import DeploymentController
from tests.fakekube.faults import Faults
from tests.fakekube.garbage import GarbageCollector
from tests.fakekube.handler import TOKEN, HttpServer, OpenWatch
from tests.fakekube.logs import ContainerLogs
from tests.fakekube.pods import pod_body
from tests.fakekube.registry import Registry
from tests.fakekube.resources import PODS, Resource
from tests.fakekube.routes import RecordedRequest
from tests.fakekube.store import DEFAULT_HISTORY, JsonObject, Store

log = logging.getLogger(__name__)


class FakeKubeApiServer:
    """A fake Kubernetes API server on 127.0.0.1 and a free port (or `port`)."""

    def __init__(
        self,
        *,
        history: int = DEFAULT_HISTORY,
        port: int = 0,
        simulate_controller: bool = False,
        require_token: bool = False,
    ) -> None:
        """Makes a stopped server; `start()` or a `with` block starts it.

        history: how many changes watches can replay before answering 410 Gone.
        port: the port to listen on; 0 picks a free one.
        simulate_controller: roll Deployments out at once (Pods and a complete status)
            instead of leaving status to the test; `controller.start()` and `stop()` switch
            it later.
        require_token: answer 401 to requests without the kubeconfig's bearer token.
        """
        self.require_token = require_token
        self.store = Store(history=history)
        self.registry = Registry(self.store)
        self.garbage = GarbageCollector(self.registry)
        self.controller = DeploymentController(self.registry)
        self._simulate_controller = simulate_controller
        self.logs = ContainerLogs()
        self.faults = Faults()
        self.stopping = threading.Event()
        self._port = port
        self._httpd: HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._requests: list[RecordedRequest] = []
        self._requests_lock = threading.Lock()
        self.watches: set[OpenWatch] = set()
        """The watches being streamed; guarded by the store's lock."""
        self._started = False

    # Lifecycle

    def start(self) -> FakeKubeApiServer:
        if self._started:
            return self
        self._started = True
        self.stopping.clear()
        self.logs.open()
        self.garbage.start()
        if self._simulate_controller:
            self.controller.start()
        self.registry.ensure_namespace("default")
        self._listen()
        log.info("fake Kubernetes API server listening on %s", self.url)
        return self

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self.stopping.set()
        self._silence()
        self.controller.stop()
        self.garbage.stop()

    def __enter__(self) -> FakeKubeApiServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def pause(self) -> None:
        """Stops listening and cuts open connections: clients get connection refused."""
        self._silence()

    def resume(self) -> None:
        """Listens again on the same port, with every object as it was."""
        if self._httpd is None:
            self.logs.open()
            self._listen()

    def _listen(self) -> None:
        self._httpd = HttpServer(("127.0.0.1", self._port), self)
        self._port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fakekube-{self._port}",
            daemon=True,
        )
        self._thread.start()

    def _silence(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        with self.store.lock:
            for watch in self.watches:
                watch.closing = watch.abrupt = True
        self.logs.close()
        self.store.wake()
        httpd.shutdown()
        httpd.server_close()
        httpd.drop_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def write_kubeconfig(self, path: str | Path, *, namespace: str = "default") -> Path:
        """Writes a kubeconfig whose current context points at this server; answers its path."""
        target = Path(path)
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fakekube", "cluster": {"server": self.url}}],
            "users": [{"name": "fakekube", "user": {"token": TOKEN}}],
            "contexts": [
                {
                    "name": "fakekube",
                    "context": {"cluster": "fakekube", "user": "fakekube", "namespace": namespace},
                }
            ],
            "current-context": "fakekube",
        }
        target.write_text(yaml.safe_dump(config))
        return target

    def api_client(self) -> kubernetes.client.ApiClient:
        """A client of the official library configured for this server."""
        configuration = kubernetes.client.Configuration(
            host=self.url, api_key={"authorization": f"Bearer {TOKEN}"}
        )
        return kubernetes.client.ApiClient(configuration)

    # Request accounting

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._requests_lock:
            return list(self._requests)

    def request_count(self, verb: str | None = None, resource: str | None = None) -> int:
        """How many requests had this verb and resource (deployments/status is its own)."""
        return sum(
            1
            for request in self.requests
            if (verb is None or request.verb == verb)
            and (resource is None or request.resource == resource)
        )

    def reset_requests(self) -> None:
        with self._requests_lock:
            self._requests.clear()

    def record(self, request: RecordedRequest) -> None:
        """Adds a request to the log; the HTTP handler calls it as each request arrives."""
        with self._requests_lock:
            self._requests.append(request)

    # Watches

    @property
    def open_watches(self) -> int:
        """How many watch streams are open now."""
        with self.store.lock:
            return len(self.watches)

    def drop_watches(self, *, abrupt: bool = False) -> None:
        """Ends every open watch: cleanly (the stream ends) or abruptly (the socket is cut)."""
        with self.store.lock:
            for watch in self.watches:
                watch.closing, watch.abrupt = True, abrupt
            self.store.lock.notify_all()

    def compact(self) -> None:
        """Drops the change history: watches from any older resourceVersion get 410 Gone."""
        self.store.compact()

    def expire_watches(self) -> None:
        """Compacts and sends every open watch an ERROR event with a 410 Status, then ends it."""
        with self.store.lock:
            self.store.compact()
            for watch in self.watches:
                watch.expire = True
            self.store.lock.notify_all()

    def send_bookmarks(self) -> None:
        """Sends a BOOKMARK to every open watch that allowed them."""
        with self.store.lock:
            for watch in self.watches:
                watch.bookmark = True
            self.store.lock.notify_all()

    # Playing the cluster

    def objects(self, resource: str, namespace: str | None = None) -> list[JsonObject]:
        """The stored objects of a resource (by plural), read without an HTTP request."""
        return self.store.items(_resource(resource), namespace)

    def object(self, resource: str, namespace: str, name: str) -> JsonObject | None:
        return self.store.get(_resource(resource), namespace, name)

    def collect_garbage(self, timeout: float = 10.0) -> None:
        """Waits until the garbage collector has dealt with every delete so far."""
        self.garbage.settle(timeout)

    def add_pod(
        self,
        namespace: str,
        name: str,
        labels: Mapping[str, str] | None = None,
        *,
        containers: Sequence[str] = ("app",),
        phase: str = "Running",
        ready: bool = True,
        owner: JsonObject | None = None,
        image: str = "example.com/app:1",
    ) -> JsonObject:
        """Stores a pod as a kubelet would report it; `owner` adds an ownerReference to it."""
        body = pod_body(
            name,
            labels or {},
            containers=[(container, image) for container in containers],
            phase=phase,
            ready=ready,
            owner=owner,
        )
        return self.registry.create(PODS, namespace, body, keep_status=True)

    def append_log(
        self,
        namespace: str,
        pod: str,
        line: str,
        *,
        container: str | None = None,
        at: datetime | None = None,
    ) -> None:
        """Appends a line to a container's log (the pod's only container by default)."""
        self.logs.append(
            (namespace, pod, container or self._only_container(namespace, pod)), line, at
        )

    def end_log(self, namespace: str, pod: str, *, container: str | None = None) -> None:
        """Ends a container's log, as its process exiting does: follows finish."""
        self.logs.end((namespace, pod, container or self._only_container(namespace, pod)))

    def _only_container(self, namespace: str, pod: str) -> str:
        found = self.store.get(PODS, namespace, pod)
        if found is None:
            raise KeyError(f"no pod {namespace}/{pod}")
        return str(found["spec"]["containers"][0]["name"])


def _resource(plural: str) -> Resource:
    for resource in resources.ALL:
        if resource.plural == plural:
            return resource
    raise KeyError(f"the fake serves no resource {plural!r}")
