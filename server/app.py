"""The gRPC server process: servicers, health, reflection, interceptors, graceful stop."""

from __future__ import annotations

import gc
import logging
import signal
import threading
from concurrent import futures
from dataclasses import dataclass
from types import FrameType

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from fnplane.server import readiness
from fnplane.server.auth import auth_from_config
from fnplane.server.auth_interceptor import BearerAuth
from fnplane.server.auth_servicer import AuthServicer
from fnplane.server.auth_tls import server_credentials
from fnplane.server.backend import FunctionBackend
from fnplane.server.config import ServerConfig
from fnplane.server.demo import DemoBackend
from fnplane.server.interceptors import AccessLog, Arounds
from fnplane.server.metrics import ServerMetrics
from fnplane.server.servicer import FunctionServicer, add_to_server
from fnplane.server.validation import Limits
from fnplane.v1 import auth_pb2, auth_pb2_grpc, functions_pb2

log = logging.getLogger("fnplane.server")

FUNCTION_SERVICE = functions_pb2.DESCRIPTOR.services_by_name["FunctionService"].full_name
AUTH_SERVICE = auth_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name
# Calls to these need no token: getting one, and probing the server.
OPEN_SERVICES = frozenset({AUTH_SERVICE, health.SERVICE_NAME, reflection.SERVICE_NAME})


@dataclass
class RunningServer:
    """A started server with the parts a caller needs to stop it well."""

    server: grpc.Server
    port: int
    health: health.HealthServicer
    backend: FunctionBackend
    servicer: FunctionServicer | None = None
    metrics: ServerMetrics | None = None
    metrics_port: int = 0
    """Where /metrics is served; 0 when it is not."""

    def stop(self, grace: float) -> None:
        """Stops taking calls, ends watches and followed logs (they would never finish on
        their own), lets other calls in flight finish within `grace` seconds, then releases
        the backend and the metrics endpoint."""
        self.health.enter_graceful_shutdown()
        stopped = self.server.stop(grace)
        if self.servicer is not None:
            self.servicer.end_streams()
        stopped.wait()
        self.backend.close()
        if self.metrics is not None:
            self.metrics.stop()


def choose_backend(config: ServerConfig, limits: Limits) -> FunctionBackend:
    """Answers the backend the configuration asks for, logging which one and why."""
    reason = "asked for"
    if config.backend != "demo":
        # Imported only here: the kubernetes client takes about a fifth of a second to load,
        # which a server asked for the demo backend would spend on every start.
        from fnplane.server.kubernetes.backend import KubernetesBackend  # noqa: PLC0415
        from fnplane.server.kubernetes.connect import NoCluster, find_cluster  # noqa: PLC0415

        try:
            access = find_cluster(kubeconfig=config.kubeconfig)
        except NoCluster as error:
            if config.backend == "kubernetes":
                raise SystemExit(
                    f"fnplane: --backend kubernetes needs a cluster: {error}"
                ) from None
            reason = f"no cluster: {error}"
        else:
            log.info("backend kubernetes: API server %s from %s", access.server, access.source)
            return KubernetesBackend(access.api_client, limits=limits)
    log.info("backend demo (%s): functions live in memory until the server stops", reason)
    return DemoBackend(limits=limits)


def start(config: ServerConfig, backend: FunctionBackend | None = None) -> RunningServer:
    """Starts serving on `config.listen` and answers the running server."""
    auth = auth_from_config(config)
    credentials = server_credentials(config)
    limits = Limits(max_replicas=config.max_replicas, max_functions=config.max_functions)
    backend = backend or choose_backend(config, limits)
    metrics = ServerMetrics(backend)
    observe_requests = getattr(backend, "observe_requests", None)
    if observe_requests is not None:
        observe_requests(metrics.observe_kubernetes_request)

    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="rpc"),
        interceptors=[
            Arounds(
                AccessLog(observe=metrics.observe_call),
                BearerAuth(auth, open_services=OPEN_SERVICES),
            )
        ],
        # Without this, grpcio sets SO_REUSEPORT and a second server on a taken port starts
        # quietly and shares its traffic instead of failing.
        options=[
            ("grpc.so_reuseport", 0),
            ("grpc.max_receive_message_length", config.max_request_bytes),
        ],
    )
    servicer = FunctionServicer(backend, limits, max_streams=config.max_streams)
    add_to_server(servicer, server)
    auth_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(auth), server)

    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (FUNCTION_SERVICE, AUTH_SERVICE, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )

    try:
        if credentials is None:
            port = server.add_insecure_port(config.listen)
        else:
            port = server.add_secure_port(config.listen, credentials)
    except RuntimeError:
        port = 0
    if port == 0:
        raise SystemExit(
            f"fnplane: cannot listen on {config.listen}: the port is taken or the address "
            "is not one of this machine's"
        )
    server.start()
    for service in ("", FUNCTION_SERVICE, AUTH_SERVICE):
        health_servicer.set(service, health_pb2.HealthCheckResponse.SERVING)
    log.info("serving gRPC on %s with the %s backend", config.listen, backend.name)
    return RunningServer(
        server=server,
        port=port,
        health=health_servicer,
        backend=backend,
        servicer=servicer,
        metrics=metrics,
        metrics_port=_serve_metrics(metrics, config),
    )


def _serve_metrics(metrics: ServerMetrics, config: ServerConfig) -> int:
    """Serves /metrics beside the gRPC server; answers its port, 0 when it is not served.

    A taken metrics port is logged and passed over rather than stopping the server: losing
    metrics is better than losing the API.
    """
    if config.metrics_port == 0:
        return 0
    host = config.listen.rsplit(":", 1)[0].strip("[]") or "0.0.0.0"
    try:
        return metrics.serve(host, config.metrics_port)
    except OSError as error:
        log.warning(
            "metrics not served: cannot listen on %s port %d (%s); set --metrics-port",
            host,
            config.metrics_port,
            error.strerror or error,
        )
        return 0


YOUNG_COLLECTION_THRESHOLD = 20_000
"""Allocations between collections of the youngest generation (Python's default is 700)."""


def collect_garbage_less_often() -> None:
    """Makes the cyclic garbage collector run less often than Python's defaults have it.

    Each call allocates a few dozen objects and keeps almost none, so the default threshold
    ran a collection every few calls: measured in one process, collections were about a fifth
    of a create's own time, and the raised threshold took most of that away. What the server
    holds after starting is frozen, so later full collections skip it.
    """
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, 10, 10)


def serve(config: ServerConfig) -> None:
    """Runs the server until SIGTERM or SIGINT, then stops it gracefully."""
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        log.info(
            "%s received: stopping, calls in flight get %.0fs",
            signal.Signals(signum).name,
            config.grace_seconds,
        )
        stopping.set()

    try:
        readiness.check(config.ready_fd)
    except readiness.UnusableDescriptor as error:
        raise SystemExit(f"fnplane: {error}") from None
    # Handlers go in before the server reports itself healthy, so a signal sent as soon as
    # it is ready still stops it gracefully.
    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    running = start(config)
    collect_garbage_less_often()
    readiness.tell(config.ready_fd)
    stopping.wait()
    running.stop(config.grace_seconds)
    log.info("stopped")
