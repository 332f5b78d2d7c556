"""gRPC over TLS: `fnplane serve --tls-cert --tls-key`, with a certificate made in the test."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from fnplane.server import app
from fnplane.server.config import ServerConfig
from fnplane.server.demo import DemoBackend
from fnplane.v1 import functions_pb2 as pb
from fnplane.v1.functions_pb2_grpc import FunctionServiceStub
from tests.support.certificates import Certificate, self_signed
from tests.support.processes import Child, fnplane_argv
from tests.support.tokens import signed_in
from tests.support.waiting import free_port, wait_until


@pytest.fixture
def certificate(tmp_path: Path) -> Certificate:
    return self_signed(tmp_path)


def tls_channel(port: int, certificate: Certificate) -> grpc.Channel:
    credentials = grpc.ssl_channel_credentials(root_certificates=certificate.pem)
    return grpc.secure_channel(f"127.0.0.1:{port}", credentials)


def test_a_tls_server_serves_calls_to_a_client_that_trusts_its_certificate(
    certificate: Certificate,
) -> None:
    config = ServerConfig(
        listen="127.0.0.1:0",
        tls_cert=str(certificate.cert_path),
        tls_key=str(certificate.key_path),
    )
    running = app.start(config, backend=DemoBackend())
    try:
        with tls_channel(running.port, certificate) as channel:
            functions = FunctionServiceStub(signed_in(channel))
            functions.CreateFunction(
                pb.CreateFunctionRequest(name="secure", image="nginx:alpine"), timeout=10
            )
            listed = functions.ListFunctions(pb.ListFunctionsRequest(), timeout=10)

        with (
            grpc.insecure_channel(f"127.0.0.1:{running.port}") as plaintext,
            pytest.raises(grpc.RpcError) as refused,
        ):
            health_pb2_grpc.HealthStub(plaintext).Check(health_pb2.HealthCheckRequest(), timeout=5)
    finally:
        running.stop(grace=1)

    assert [f.name for f in listed.functions] == ["secure"]
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_fnplane_serve_takes_a_certificate_and_key(
    certificate: Certificate, tmp_path: Path
) -> None:
    port = free_port()
    argv = fnplane_argv(
        "serve",
        "--listen", f"127.0.0.1:{port}",
        "--backend", "demo",
        "--tls-cert", str(certificate.cert_path),
        "--tls-key", str(certificate.key_path),
    )  # fmt: skip

    def serving() -> bool:
        with tls_channel(port, certificate) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=1
            )
            return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)

    with Child(argv, log=tmp_path / "log") as child:
        wait_until(serving, what="TLS server healthy")
        # Log lines are written by a thread of their own, a moment after the event.
        wait_until(lambda: "serving over TLS" in child.output(), what="the TLS log line")


def test_a_certificate_without_its_key_stops_the_server(certificate: Certificate) -> None:
    with pytest.raises(SystemExit) as stopped:
        app.start(ServerConfig(listen="127.0.0.1:0", tls_cert=str(certificate.cert_path)))

    assert "TLS needs both --tls-cert and --tls-key" in str(stopped.value)
