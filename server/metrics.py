"""The server's Prometheus metrics, served over HTTP at /metrics on --metrics-port.

Each server has a registry of its own (never the process-wide default), so servers started
side by side, as tests do, count apart. Call counts and latencies are recorded as calls
finish; the functions by namespace and status, and the watch cache's state, are asked of the
backend at scrape time, so they cannot drift from what the backend holds. Labels are
bounded: methods, status codes, namespaces, statuses and verbs, never function names.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from wsgiref.simple_server import WSGIServer

import grpc
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from fnplane.server.backend import FunctionBackend

log = logging.getLogger("fnplane.server.metrics")

RequestObserver = Callable[[str, str, float], None]
"""Told of every request to the Kubernetes API server: verb, outcome and seconds taken."""


class ServerMetrics:
    """The metrics of one server, and the HTTP endpoint that serves them."""

    def __init__(self, backend: FunctionBackend) -> None:
        self.registry = CollectorRegistry()
        self._calls = Counter(
            "fnplane_grpc_calls",
            "Finished gRPC calls, by method and status code.",
            ["method", "code"],
            registry=self.registry,
        )
        self._call_seconds = Histogram(
            "fnplane_grpc_call_duration_seconds",
            "How long gRPC calls took, by method (streams count until they end).",
            ["method"],
            registry=self.registry,
        )
        self._call_series: dict[tuple[str, grpc.StatusCode], tuple[Counter, Histogram]] = {}
        self._kubernetes_requests = Counter(
            "fnplane_kubernetes_requests",
            "Requests to the Kubernetes API server, by verb and outcome ('ok', the HTTP "
            "status of a refusal, or 'unreachable').",
            ["verb", "outcome"],
            registry=self.registry,
        )
        self._kubernetes_seconds = Histogram(
            "fnplane_kubernetes_request_duration_seconds",
            "How long requests to the Kubernetes API server took to answer, by verb.",
            ["verb"],
            registry=self.registry,
        )
        self.registry.register(_BackendCollector(backend))
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def observe_call(self, method: str, code: grpc.StatusCode, seconds: float) -> None:
        """Records a finished gRPC call."""
        series = self._call_series.get((method, code))
        if series is None:
            # Looking a labelled series up costs a lock and a few dict lookups; the pairs of
            # method and code are few, so each is looked up once.
            name = method.lstrip("/")
            series = (
                self._calls.labels(method=name, code=code.name),
                self._call_seconds.labels(method=name),
            )
            self._call_series[(method, code)] = series
        calls, call_seconds = series
        calls.inc()
        call_seconds.observe(seconds)

    def observe_kubernetes_request(self, verb: str, outcome: str, seconds: float) -> None:
        """Records a request to the Kubernetes API server."""
        self._kubernetes_requests.labels(verb=verb, outcome=outcome).inc()
        self._kubernetes_seconds.labels(verb=verb).observe(seconds)

    def serve(self, host: str, port: int) -> int:
        """Serves /metrics on `host`:`port` in a thread of its own; answers the port."""
        self._server, self._thread = start_http_server(port, addr=host, registry=self.registry)
        bound = int(self._server.server_address[1])
        log.info("serving metrics on http://%s:%d/metrics", host, bound)
        return bound

    def stop(self) -> None:
        """Stops serving /metrics."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class _BackendCollector(Collector):
    """Asks the backend, at each scrape, how many functions it has and how fresh its view is."""

    def __init__(self, backend: FunctionBackend) -> None:
        self._backend = backend

    def collect(self) -> Iterator[Metric]:
        functions = GaugeMetricFamily(
            "fnplane_functions",
            "Functions the backend knows of, by namespace and status.",
            labels=["namespace", "status"],
        )
        for (namespace, status), count in sorted(self._backend.census().items()):
            functions.add_metric([namespace, status], count)
        yield functions

        stats = getattr(self._backend, "watch_cache_stats", None)
        if stats is None:
            return
        size, last_event = stats()
        yield GaugeMetricFamily(
            "fnplane_watch_cache_functions",
            "Functions held in the Kubernetes backend's watch cache, over every namespace.",
            value=size,
        )
        if last_event is not None:
            yield GaugeMetricFamily(
                "fnplane_watch_cache_last_event_age_seconds",
                "Seconds since the watch cache last heard from the API server (an event, a "
                "bookmark or a list).",
                value=max(0.0, time.monotonic() - last_event),
            )
