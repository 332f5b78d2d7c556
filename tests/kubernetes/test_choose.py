"""Choosing the backend at start: kubernetes when asked for or when a cluster answers, demo
otherwise, with one log line saying why; asking for kubernetes without a cluster stops the
server at start with a clear message."""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fnplane.server.app import choose_backend
from fnplane.server.backend import FunctionBackend
from fnplane.server.config import ServerConfig
from fnplane.server.demo import DemoBackend
from fnplane.server.kubernetes.backend import KubernetesBackend
from fnplane.server.kubernetes.connect import NoCluster, find_cluster
from fnplane.server.validation import Limits
from tests.fakekube import FakeKubeApiServer
from tests.support.certificates import self_signed
from tests.support.processes import fnplane_argv
from tests.support.waiting import free_port

LIMITS = Limits()


@pytest.fixture(autouse=True)
def no_cluster_around(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An environment with no cluster configuration at all; answers the home folder."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    return home


def _chosen(config: ServerConfig) -> Iterator[FunctionBackend]:
    backend = choose_backend(config, LIMITS)
    try:
        yield backend
    finally:
        backend.close()


def test_kubernetes_without_a_cluster_stops_at_start_saying_why() -> None:
    with pytest.raises(SystemExit) as stopped:
        choose_backend(ServerConfig(backend="kubernetes"), LIMITS)

    message = str(stopped.value.code)
    assert "--backend kubernetes needs a cluster" in message
    assert "KUBECONFIG is not set" in message


def test_kubernetes_with_a_kubeconfig_whose_server_is_down_stops_naming_the_server(
    tmp_path: Path,
) -> None:
    with FakeKubeApiServer() as fake:
        kubeconfig = fake.write_kubeconfig(tmp_path / "config")
        url = fake.url
    # The fake is stopped: the kubeconfig names an address where nothing answers.

    with pytest.raises(SystemExit) as stopped:
        choose_backend(ServerConfig(backend="kubernetes", kubeconfig=str(kubeconfig)), LIMITS)

    message = str(stopped.value.code)
    assert url in message
    assert "connection refused" in message


def test_kubernetes_with_a_kubeconfig_flag_uses_its_cluster(tmp_path: Path) -> None:
    with FakeKubeApiServer() as fake:
        kubeconfig = fake.write_kubeconfig(tmp_path / "config")
        config = ServerConfig(backend="kubernetes", kubeconfig=str(kubeconfig))
        for backend in _chosen(config):
            assert isinstance(backend, KubernetesBackend)
            assert backend.server == fake.url
            assert backend.list("default") == []


def test_auto_uses_the_cluster_named_by_kubeconfig(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with FakeKubeApiServer() as fake:
        monkeypatch.setenv("KUBECONFIG", str(fake.write_kubeconfig(tmp_path / "config")))
        caplog.set_level(logging.INFO, logger="fnplane.server")
        for backend in _chosen(ServerConfig(backend="auto")):
            assert isinstance(backend, KubernetesBackend)
    assert any(
        "backend kubernetes" in r.getMessage() and fake.url in r.getMessage()
        for r in caplog.records
    )


def test_auto_uses_the_cluster_of_the_home_kubeconfig(no_cluster_around: Path) -> None:
    with FakeKubeApiServer() as fake:
        fake.write_kubeconfig(_make_parent(no_cluster_around / ".kube" / "config"))
        for backend in _chosen(ServerConfig(backend="auto")):
            assert isinstance(backend, KubernetesBackend)
            assert backend.server == fake.url


def test_auto_without_a_cluster_is_demo_with_one_line_saying_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="fnplane.server")

    for backend in _chosen(ServerConfig(backend="auto")):
        assert isinstance(backend, DemoBackend)

    [line] = [r.getMessage() for r in caplog.records if "backend" in r.getMessage()]
    assert line.startswith("backend demo (no cluster: no Kubernetes configuration found")


def test_auto_with_a_cluster_that_does_not_answer_is_demo_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with FakeKubeApiServer() as fake:
        kubeconfig = fake.write_kubeconfig(tmp_path / "config")
        url = fake.url
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    caplog.set_level(logging.INFO, logger="fnplane.server")

    for backend in _chosen(ServerConfig(backend="auto")):
        assert isinstance(backend, DemoBackend)

    [line] = [r.getMessage() for r in caplog.records if "backend" in r.getMessage()]
    assert "backend demo (no cluster" in line and url in line


def test_auto_with_a_kubeconfig_flag_naming_no_file_is_demo_saying_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="fnplane.server")
    missing = tmp_path / "nowhere" / "config"

    for backend in _chosen(ServerConfig(backend="auto", kubeconfig=str(missing))):
        assert isinstance(backend, DemoBackend)

    [line] = [r.getMessage() for r in caplog.records if "backend" in r.getMessage()]
    assert f"kubeconfig {missing} does not exist" in line


def test_demo_asked_for_never_looks_for_a_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "broken"))
    (tmp_path / "broken").write_text("not: [a kubeconfig")

    for backend in _chosen(ServerConfig(backend="demo")):
        assert isinstance(backend, DemoBackend)


def test_serve_with_kubernetes_and_no_cluster_exits_with_the_message(
    no_cluster_around: Path,
) -> None:
    env = {**os.environ, "HOME": str(no_cluster_around)}
    env.pop("KUBECONFIG", None)
    finished = subprocess.run(
        fnplane_argv("serve", "--backend", "kubernetes", "--listen", f"127.0.0.1:{free_port()}"),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert finished.returncode != 0
    assert "--backend kubernetes needs a cluster" in finished.stderr
    assert "Traceback" not in finished.stderr


def _make_parent(path: Path) -> Path:
    path.parent.mkdir(parents=True)
    return path


def _service_account(folder: Path, *, token: str) -> Path:
    """Makes a folder laid out as Kubernetes mounts a pod's service account."""
    account = folder / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(token)
    (account / "ca.crt").write_bytes(self_signed(folder).pem)
    return account


def test_in_a_pod_the_service_account_is_used_and_named(tmp_path: Path) -> None:
    account = _service_account(tmp_path, token="a-service-account-token")
    port = free_port()  # nothing answers there, so the search stops at the probe
    environ = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(port)}

    with pytest.raises(NoCluster) as refused:
        find_cluster(environ=environ, service_account=account)

    message = str(refused.value)
    assert message.startswith("in-cluster configuration names the API server")
    assert f"https://127.0.0.1:{port}" in message
    assert "a-service-account-token" not in message


def test_in_a_pod_without_its_token_the_reason_is_said(tmp_path: Path) -> None:
    environ = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}

    with pytest.raises(NoCluster, match="in-cluster configuration is incomplete"):
        find_cluster(environ=environ, service_account=tmp_path / "missing")
