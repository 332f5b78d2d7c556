"""`fnplane up --tls-cert --tls-key`: Envoy ends TLS on the public ports, for REST and gRPC."""

from __future__ import annotations

import ssl
import urllib.error
from pathlib import Path

import grpc
import pytest

from fnplane.v1 import functions_pb2 as pb
from fnplane.v1 import functions_pb2_grpc
from tests.rest.test_up import PORT_FLAGS, free_ports, run_up
from tests.support.certificates import self_signed
from tests.support.stack import call, running_stack
from tests.support.tokens import signed_in

pytestmark = pytest.mark.envoy


def test_rest_and_grpc_are_served_over_tls(tmp_path: Path) -> None:
    certificate = self_signed(tmp_path)
    trusting = ssl.create_default_context(cadata=certificate.pem.decode())
    args = ("--tls-cert", str(certificate.cert_path), "--tls-key", str(certificate.key_path))
    with running_stack(tmp_path / "up.log", args=args, tls=trusting) as stack:
        assert f"https://127.0.0.1:{stack.http_port}" in stack.child.output()
        token = stack.token()
        created = stack.call(
            "POST", "/v1/functions", token=token, body={"name": "safe", "image": "x"}
        )
        assert created.status == 200
        assert [f["name"] for f in stack.call("GET", "/v1/functions", token=token).json()] == [
            "safe"
        ]
        page = call("GET", stack.dashboard + "/", tls=trusting)
        assert page.status == 200

        credentials = grpc.ssl_channel_credentials(root_certificates=certificate.pem)
        with grpc.secure_channel(stack.grpc_target, credentials) as channel:
            functions = functions_pb2_grpc.FunctionServiceStub(signed_in(channel))
            listed = functions.ListFunctions(pb.ListFunctionsRequest(), timeout=10)
        assert [f.name for f in listed.functions] == ["safe"]

        with pytest.raises((urllib.error.URLError, ConnectionError)):
            call("GET", f"http://127.0.0.1:{stack.http_port}/v1/functions")


def test_a_certificate_without_its_key_is_one_line_and_a_failure(tmp_path: Path) -> None:
    certificate = self_signed(tmp_path)
    done = run_up("--tls-cert", str(certificate.cert_path), *free_ports(PORT_FLAGS))
    assert done.returncode != 0
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert len(lines) == 1 and "--tls-key" in lines[0], lines
