"""The bare gRPC ceiling: a unary call with an empty request and reply, nothing else.

It is served with the settings fnplane's server uses (the same thread pool size and server
options) but without interceptors, auth, validation or a backend, so the gap between it and
fnplane's calls is the cost of fnplane itself. Run it as
`python -m bench.ceiling --port N --workers N [--with-libraries]`.

It loads nothing of fnplane's, so its start is also the least any Python gRPC server takes to
start on the machine. With --with-libraries it first loads every library fnplane's server
loads as it starts (LIBRARIES): its start is then the least a server built on them can take.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import threading
from concurrent import futures

import grpc

METHOD = "/fnplane.bench.Ceiling/Call"

LIBRARIES = (
    "click",
    "grpc_health.v1.health",
    "grpc_reflection.v1alpha.reflection",
    "grpc_status.rpc_status",
    "prometheus_client",
    "fnplane.v1.functions_pb2",
    "fnplane.v1.auth_pb2_grpc",
)
"""What `fnplane up` cannot start without besides grpcio: its command line, grpcio's health,
reflection and status services, protobuf with the contract's generated modules, and the
metrics library. PyJWT, PyYAML and the Kubernetes client are left out, as `fnplane up` with
the demo backend loads them only when first used."""


def _answer(request: bytes, context: grpc.ServicerContext) -> bytes:
    return b""


def serve(port: int, workers: int) -> None:
    """Serves the empty call on 127.0.0.1:`port` with `workers` threads until SIGTERM or
    SIGINT."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rpc"),
        options=[("grpc.so_reuseport", 0)],
    )
    service, _, method = METHOD.lstrip("/").partition("/")
    handler = grpc.unary_unary_rpc_method_handler(_answer)
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(service, {method: handler}),)
    )
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()

    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    stopping.wait()
    server.stop(1).wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, required=True, help="as fnplane's --workers")
    parser.add_argument("--with-libraries", action="store_true", help="load LIBRARIES first")
    arguments = parser.parse_args()
    if arguments.with_libraries:
        for library in LIBRARIES:
            importlib.import_module(library)
    serve(arguments.port, arguments.workers)
