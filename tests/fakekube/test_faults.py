"""Injected faults: failures, lost answers, slow answers, refused connections, RBAC refusals."""

from __future__ import annotations

import json
from pathlib import Path

import kubernetes.client
import kubernetes.config
import pytest
import urllib3
from kubernetes.client import ApiException

from tests.fakekube import FakeKubeApiServer
from tests.fakekube.answers import metadata_of, name_of, status_of
from tests.fakekube.manifests import deployment, service
from tests.support.waiting import free_port, port_answers


def no_retries(fake: FakeKubeApiServer) -> kubernetes.client.ApiClient:
    """A client that reports the first connection failure instead of retrying it."""
    client = fake.api_client()
    client.configuration.retries = False
    client.rest_client.pool_manager.connection_pool_kw["retries"] = False
    return client


def test_fail_next_answers_500_for_matching_requests_only(
    fake: FakeKubeApiServer,
    apps: kubernetes.client.AppsV1Api,
    core: kubernetes.client.CoreV1Api,
) -> None:
    fake.faults.fail_next(2, verb="create", resource="deployments")

    core.create_namespaced_service("team-a", service("echo"))
    for _ in range(2):
        with pytest.raises(ApiException) as caught:
            apps.create_namespaced_deployment("team-a", deployment("echo"))
        assert caught.value.status == 500
        assert status_of(caught.value)["reason"] == "InternalError"
    created = apps.create_namespaced_deployment("team-a", deployment("echo"))

    assert metadata_of(created).name == "echo"


def test_a_failure_before_the_write_changes_nothing(
    fake: FakeKubeApiServer, apps: kubernetes.client.AppsV1Api
) -> None:
    fake.faults.fail_next(verb="create")

    with pytest.raises(ApiException):
        apps.create_namespaced_deployment("team-a", deployment("echo"))

    assert fake.objects("deployments", "team-a") == []


def test_a_failure_after_the_write_keeps_the_write(
    fake: FakeKubeApiServer, apps: kubernetes.client.AppsV1Api
) -> None:
    fake.faults.fail_next(verb="create", resource="deployments", after_write=True)

    with pytest.raises(ApiException) as caught:
        apps.create_namespaced_deployment("team-a", deployment("echo"))

    assert caught.value.status == 500
    assert [d["metadata"]["name"] for d in fake.objects("deployments", "team-a")] == ["echo"]


def test_a_cut_connection_gives_the_client_no_answer(fake: FakeKubeApiServer) -> None:
    fake.faults.fail_next(verb="create", disconnect=True, after_write=True)
    apps = kubernetes.client.AppsV1Api(no_retries(fake))

    with pytest.raises(urllib3.exceptions.HTTPError):
        apps.create_namespaced_deployment("team-a", deployment("echo"))

    assert len(fake.objects("deployments", "team-a")) == 1


def test_delay_makes_a_short_client_timeout_expire(fake: FakeKubeApiServer) -> None:
    fake.faults.delay(2.0, verb="list", count=1)
    apps = kubernetes.client.AppsV1Api(no_retries(fake))

    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        apps.list_namespaced_deployment("team-a", _request_timeout=0.2)

    assert apps.list_namespaced_deployment("team-a").items == []


def test_forbid_answers_rbac_style_403(
    fake: FakeKubeApiServer, apps: kubernetes.client.AppsV1Api
) -> None:
    fake.faults.forbid(verb="delete", resource="deployments")
    apps.create_namespaced_deployment("team-a", deployment("echo"))

    with pytest.raises(ApiException) as caught:
        apps.delete_namespaced_deployment("echo", "team-a")

    status = status_of(caught.value)
    assert caught.value.status == 403
    assert status["reason"] == "Forbidden"
    assert status["message"] == (
        'deployments.apps "echo" is forbidden: User "system:serviceaccount:fnplane:fnplane" '
        'cannot delete resource "deployments" in API group "apps" in the namespace "team-a"'
    )

    fake.faults.forbid(verb="list", resource="deployments")
    with pytest.raises(ApiException) as listing:
        apps.list_deployment_for_all_namespaces()
    assert json.loads(listing.value.body or "{}")["message"] == (
        'deployments.apps is forbidden: User "system:serviceaccount:fnplane:fnplane" cannot '
        'list resource "deployments" in API group "apps" at the cluster scope'
    )

    fake.faults.clear()
    apps.delete_namespaced_deployment("echo", "team-a")


def test_pause_refuses_connections_and_resume_restores_the_same_state(
    fake: FakeKubeApiServer,
) -> None:
    apps = kubernetes.client.AppsV1Api(no_retries(fake))
    apps.create_namespaced_deployment("team-a", deployment("echo"))
    port = fake.port

    fake.pause()
    assert not port_answers(port)
    with pytest.raises(urllib3.exceptions.HTTPError):
        apps.list_namespaced_deployment("team-a")

    fake.resume()
    assert fake.port == port
    names = [name_of(d) for d in apps.list_namespaced_deployment("team-a").items]
    assert names == ["echo"]


def test_faults_count_only_the_requests_they_match(fake: FakeKubeApiServer) -> None:
    fake.faults.fail_next(verb="watch")
    fake.faults.fail_next(resource="services", code=503, reason="ServiceUnavailable")

    decided_list = fake.faults.decide("list", "deployments")
    decided_watch = fake.faults.decide("watch", "deployments")
    decided_service = fake.faults.decide("get", "services")
    decided_after = fake.faults.decide("get", "services")

    assert decided_list.error is None
    assert decided_watch.error is not None and decided_watch.error.code == 500
    assert decided_service.error is not None and decided_service.error.code == 503
    assert decided_after.error is None


def test_a_server_that_requires_the_token_refuses_requests_without_it() -> None:
    with FakeKubeApiServer(require_token=True) as strict:
        anonymous = kubernetes.client.ApiClient(kubernetes.client.Configuration(host=strict.url))
        with pytest.raises(ApiException) as caught:
            kubernetes.client.AppsV1Api(anonymous).list_namespaced_deployment("team-a")
        anonymous.close()
        with strict.api_client() as client:
            listed = kubernetes.client.AppsV1Api(client).list_namespaced_deployment("team-a")

    assert caught.value.status == 401
    assert json.loads(caught.value.body or "{}")["reason"] == "Unauthorized"
    assert listed.items == []


def test_too_many_requests_carries_retry_after(fake: FakeKubeApiServer) -> None:
    fake.faults.fail_next(
        verb="list", code=429, reason="TooManyRequests", message="slow down", retry_after=3
    )
    apps = kubernetes.client.AppsV1Api(no_retries(fake))

    with pytest.raises(ApiException) as caught:
        apps.list_namespaced_deployment("team-a")

    assert caught.value.status == 429
    assert caught.value.headers is not None
    assert caught.value.headers["Retry-After"] == "3"
    assert json.loads(caught.value.body or "{}")["details"] == {"retryAfterSeconds": 3}


def test_the_client_waits_out_retry_after_and_tries_again(
    fake: FakeKubeApiServer, apps: kubernetes.client.AppsV1Api
) -> None:
    fake.faults.fail_next(verb="list", code=429, reason="TooManyRequests", retry_after=1)

    listed = apps.list_namespaced_deployment("team-a")

    assert listed.items == []
    assert fake.request_count("list", "deployments") == 2


def test_a_server_started_late_on_a_known_port_serves_what_clients_were_told(
    tmp_path: Path,
) -> None:
    # A kubeconfig can point at the fake before it listens: clients are refused until then.
    port = free_port()
    fake = FakeKubeApiServer(port=port)
    config = fake.write_kubeconfig(tmp_path / "config")
    assert not port_answers(port)

    with fake:
        configuration = kubernetes.client.Configuration()
        kubernetes.config.load_kube_config(
            config_file=str(config), client_configuration=configuration
        )
        with kubernetes.client.ApiClient(configuration) as client:
            listed = kubernetes.client.AppsV1Api(client).list_namespaced_deployment("team-a")

    assert listed.items == []
    assert fake.url == f"http://127.0.0.1:{port}"
