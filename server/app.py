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

from fnplane.server.auth import auth_from_config
from fnplane.server.auth_interceptor import BearerAuth
from fnplane.server.auth_servicer import AuthServicer
from fnplane.server.auth_tls import server_credentials
from fnplane.server.backend import FunctionBackend
from fnplane.server.config import ServerConfig
from fnplane.server.demo import DemoBackend
from fnplane.server.interceptors import AccessLog
from fnplane.server.kubernetes.backend import KubernetesBackend
from fnplane.server.kubernetes.connect import NoCluster, find_cluster
from fnplane.server.servicer import FunctionServicer
from fnplane.server.validation import Limits
from fnplane.v1 import auth_pb2, auth_pb2_grpc, functions_pb2, functions_pb2_grpc

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

    def stop(self, grace: float) -> None:
        """Stops taking calls, lets calls in flight finish within `grace` seconds, then
        releases the backend."""
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()
        self.backend.close()


def choose_backend(config: ServerConfig, limits: Limits) -> FunctionBackend:
    """Answers the backend the configuration asks for, logging which one and why."""
    reason = "asked for"
    if config.backend != "demo":
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

    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="rpc"),
        interceptors=[AccessLog(), BearerAuth(auth, open_services=OPEN_SERVICES)],
        # Without this, grpcio sets SO_REUSEPORT and a second server on a taken port starts
        # quietly and shares its traffic instead of failing.
        options=[
            ("grpc.so_reuseport", 0),
            ("grpc.max_receive_message_length", config.max_request_bytes),
        ],
    )
    functions_pb2_grpc.add_FunctionServiceServicer_to_server(
        FunctionServicer(backend, limits), server
    )
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
