"""The gRPC server process: servicers, health, reflection, interceptors, graceful stop."""

from __future__ import annotations

import logging
import signal
import threading
from concurrent import futures
from dataclasses import dataclass
from types import FrameType

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from fnplane.server.backend import FunctionBackend
from fnplane.server.config import ServerConfig
from fnplane.server.demo import DemoBackend
from fnplane.server.domain import DEFAULT_NAMESPACE
from fnplane.server.interceptors import AccessLog, AnonymousCaller
from fnplane.server.servicer import FunctionServicer
from fnplane.server.validation import Limits
from fnplane.v1 import functions_pb2, functions_pb2_grpc

log = logging.getLogger("fnplane.server")

FUNCTION_SERVICE = functions_pb2.DESCRIPTOR.services_by_name["FunctionService"].full_name


@dataclass
class RunningServer:
    """A started server with the parts a caller needs to stop it well."""

    server: grpc.Server
    port: int
    health: health.HealthServicer
    backend: FunctionBackend

    def stop(self, grace: float) -> None:
        """Stops taking calls, lets calls in flight finish within `grace` seconds, then
        releases the backend."""
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()
        self.backend.close()


def choose_backend(config: ServerConfig, limits: Limits) -> FunctionBackend:
    """Answers the backend the configuration asks for, logging which one and why."""
    if config.backend == "kubernetes":
        raise SystemExit("fnplane: the kubernetes backend is not available in this build")
    reason = "asked for" if config.backend == "demo" else "no Kubernetes backend to try"
    log.info("backend demo (%s): functions live in memory until the server stops", reason)
    return DemoBackend(limits=limits)


def start(config: ServerConfig, backend: FunctionBackend | None = None) -> RunningServer:
    """Starts serving on `config.listen` and answers the running server."""
    limits = Limits(max_replicas=config.max_replicas)
    backend = backend or choose_backend(config, limits)

    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="rpc"),
        interceptors=[AccessLog(), AnonymousCaller(DEFAULT_NAMESPACE)],
    )
    functions_pb2_grpc.add_FunctionServiceServicer_to_server(
        FunctionServicer(backend, limits), server
    )

    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (FUNCTION_SERVICE, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )

    port = server.add_insecure_port(config.listen)
    if port == 0:
        raise SystemExit(f"fnplane: cannot listen on {config.listen}")
    server.start()
    for service in ("", FUNCTION_SERVICE):
        health_servicer.set(service, health_pb2.HealthCheckResponse.SERVING)
    log.info("serving gRPC on %s with the %s backend", config.listen, backend.name)
    return RunningServer(server=server, port=port, health=health_servicer, backend=backend)


def serve(config: ServerConfig) -> None:
    """Runs the server until SIGTERM or SIGINT, then stops it gracefully."""
    running = start(config)
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        log.info(
            "%s received: stopping, calls in flight get %.0fs",
            signal.Signals(signum).name,
            config.grace_seconds,
        )
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    stopping.wait()
    running.stop(config.grace_seconds)
    log.info("stopped")
