"""Create, read, update and delete as the Kubernetes API documents them, through the client."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import kubernetes.client
import kubernetes.config
import pytest
from kubernetes.client import ApiException, V1Deployment, V1Service

from tests.fakekube import FakeKubeApiServer
from tests.fakekube.answers import metadata_of, name_of, pod_spec_of, status_of, version_of
from tests.fakekube.manifests import deployment, deployment_body, service, service_body
from tests.fakekube.statuses import ApiError
from tests.support.processes import Child
from tests.support.waiting import wait_until


def test_server_sets_uid_creation_time_version_and_generation(
    apps: kubernetes.client.AppsV1Api,
) -> None:
    created = apps.create_namespaced_deployment("team-a", deployment("echo"))

    assert metadata_of(created).uid
    assert metadata_of(created).creation_timestamp is not None
    assert metadata_of(created).generation == 1
    assert version_of(created) > 0
    assert metadata_of(created).namespace == "team-a"
    # Defaults the API server fills in, so reads look like a cluster's.
    assert created.spec is not None and created.spec.strategy is not None
    assert created.spec.strategy.type == "RollingUpdate"
    ports = pod_spec_of(created).containers[0].ports
    assert ports is not None
    assert ports[0].protocol == "TCP"


def test_client_supplied_uid_and_status_are_replaced_on_create(
    apps: kubernetes.client.AppsV1Api,
) -> None:
    body = deployment_body("echo")
    body["metadata"]["uid"] = "chosen-by-client"
    body["status"] = {"replicas": 7, "availableReplicas": 7}

    created = apps.create_namespaced_deployment("team-a", V1Deployment.model_validate(body))

    assert metadata_of(created).uid != "chosen-by-client"
    assert created.status is not None
    assert created.status.replicas is None
    assert created.status.available_replicas is None


def test_resource_version_is_global_and_increasing_also_on_lists(
    apps: kubernetes.client.AppsV1Api, core: kubernetes.client.CoreV1Api
) -> None:
    first = apps.create_namespaced_deployment("team-a", deployment("one"))
    svc = core.create_namespaced_service("team-b", service("two"))
    second = apps.create_namespaced_deployment("team-a", deployment("three"))

    versions = [version_of(o) for o in (first, svc, second)]
    assert versions == sorted(versions) and len(set(versions)) == 3
    listed = apps.list_namespaced_deployment("team-a")
    assert version_of(listed) >= versions[-1]
    assert [name_of(d) for d in listed.items] == ["one", "three"]


def test_get_of_a_missing_object_answers_a_not_found_status(
    apps: kubernetes.client.AppsV1Api,
) -> None:
    with pytest.raises(ApiException) as caught:
        apps.read_namespaced_deployment("nothing", "team-a")

    assert caught.value.status == 404
    assert status_of(caught.value) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'deployments.apps "nothing" not found',
        "reason": "NotFound",
        "details": {"name": "nothing", "group": "apps", "kind": "deployments"},
        "code": 404,
    }


def test_creating_an_existing_name_answers_already_exists(
    core: kubernetes.client.CoreV1Api,
) -> None:
    core.create_namespaced_service("team-a", service("echo"))

    with pytest.raises(ApiException) as caught:
        core.create_namespaced_service("team-a", service("echo"))

    assert caught.value.status == 409
    status = status_of(caught.value)
    assert status["reason"] == "AlreadyExists"
    assert status["message"] == 'services "echo" already exists'
    assert status["details"] == {"name": "echo", "kind": "services"}


def test_same_name_in_another_namespace_is_another_object(
    apps: kubernetes.client.AppsV1Api,
) -> None:
    a = apps.create_namespaced_deployment("team-a", deployment("echo"))
    b = apps.create_namespaced_deployment("team-b", deployment("echo"))

    assert metadata_of(a).uid != metadata_of(b).uid
    everywhere = apps.list_deployment_for_all_namespaces()
    assert sorted((metadata_of(d).namespace, metadata_of(d).name) for d in everywhere.items) == [
        ("team-a", "echo"),
        ("team-b", "echo"),
    ]


def test_update_with_a_stale_resource_version_is_a_conflict(
    apps: kubernetes.client.AppsV1Api,
) -> None:
    created = apps.create_namespaced_deployment("team-a", deployment("echo"))
    apps.patch_namespaced_deployment("echo", "team-a", {"spec": {"replicas": 2}})

    created.spec.replicas = 5
    with pytest.raises(ApiException) as caught:
        apps.replace_namespaced_deployment("echo", "team-a", created)

    assert caught.value.status == 409
    status = status_of(caught.value)
    assert status["reason"] == "Conflict"
    assert status["message"] == (
        'Operation cannot be fulfilled on deployments.apps "echo": the object has been '
        "modified; please apply your changes to the latest version and try again"
    )
    assert apps.read_namespaced_deployment("echo", "team-a").spec.replicas == 2


def test_update_with_the_current_version_succeeds_and_bumps_generation(
    apps: kubernetes.client.AppsV1Api,
) -> None:
    created = apps.create_namespaced_deployment("team-a", deployment("echo"))

    created.spec.replicas = 4
    updated = apps.replace_namespaced_deployment("echo", "team-a", created)

    assert updated.spec.replicas == 4
    assert metadata_of(updated).generation == 2
    assert version_of(updated) > version_of(created)
    assert metadata_of(updated).uid == metadata_of(created).uid
    assert metadata_of(updated).creation_timestamp == metadata_of(created).creation_timestamp


def test_label_changes_do_not_bump_generation(apps: kubernetes.client.AppsV1Api) -> None:
    apps.create_namespaced_deployment("team-a", deployment("echo"))

    relabelled = apps.patch_namespaced_deployment(
        "echo", "team-a", {"metadata": {"labels": {"tier": "gold"}}}
    )

    labels = metadata_of(relabelled).labels
    assert labels is not None
    assert labels["tier"] == "gold"
    assert metadata_of(relabelled).generation == 1


def test_annotation_changes_bump_a_deployments_generation(
    apps: kubernetes.client.AppsV1Api,
) -> None:
    # The Deployment strategy counts annotations as desired state (they reach ReplicaSets).
    apps.create_namespaced_deployment("team-a", deployment("echo"))

    annotated = apps.patch_namespaced_deployment(
        "echo", "team-a", {"metadata": {"annotations": {"note": "hello"}}}
    )

    assert metadata_of(annotated).generation == 2


def test_a_write_that_changes_nothing_keeps_the_resource_version(
    apps: kubernetes.client.AppsV1Api,
) -> None:
    created = apps.create_namespaced_deployment("team-a", deployment("echo"))

    same = apps.patch_namespaced_deployment("echo", "team-a", {"spec": {"replicas": 1}})

    assert metadata_of(same).resource_version == metadata_of(created).resource_version
    assert metadata_of(same).generation == 1


def test_status_written_to_the_main_resource_is_ignored(
    apps: kubernetes.client.AppsV1Api,
) -> None:
    apps.create_namespaced_deployment("team-a", deployment("echo"))

    patched = apps.patch_namespaced_deployment(
        "echo", "team-a", {"status": {"availableReplicas": 3}, "spec": {"replicas": 3}}
    )

    assert patched.spec.replicas == 3
    assert patched.status is not None
    assert patched.status.available_replicas is None


def test_status_subresource_changes_only_status(apps: kubernetes.client.AppsV1Api) -> None:
    created = apps.create_namespaced_deployment("team-a", deployment("echo"))

    reported = apps.patch_namespaced_deployment_status(
        "echo",
        "team-a",
        {
            "spec": {"replicas": 9},
            "metadata": {"labels": {"sneaky": "yes"}},
            "status": {"observedGeneration": 1, "replicas": 1, "availableReplicas": 1},
        },
    )

    assert reported.status is not None
    assert reported.status.available_replicas == 1
    assert reported.status.observed_generation == 1
    assert reported.spec.replicas == 1
    labels = metadata_of(reported).labels
    assert labels is not None
    assert "sneaky" not in labels
    assert metadata_of(reported).generation == metadata_of(created).generation
    stored = apps.read_namespaced_deployment_status("echo", "team-a")
    assert stored.status is not None
    assert stored.status.available_replicas == 1


def test_status_replace_checks_the_resource_version(apps: kubernetes.client.AppsV1Api) -> None:
    created = apps.create_namespaced_deployment("team-a", deployment("echo"))
    apps.patch_namespaced_deployment("echo", "team-a", {"spec": {"replicas": 2}})

    created.status = kubernetes.client.V1DeploymentStatus(replicas=2)
    with pytest.raises(ApiException) as caught:
        apps.replace_namespaced_deployment_status("echo", "team-a", created)

    assert caught.value.status == 409


def test_deleting_a_deployment_answers_a_success_status(
    apps: kubernetes.client.AppsV1Api,
) -> None:
    created = apps.create_namespaced_deployment("team-a", deployment("echo"))

    answer = apps.delete_namespaced_deployment("echo", "team-a", propagation_policy="Background")

    assert isinstance(answer, dict)
    assert answer["kind"] == "Status"
    assert answer["status"] == "Success"
    assert answer["details"] == {
        "name": "echo",
        "group": "apps",
        "kind": "deployments",
        "uid": metadata_of(created).uid,
    }
    with pytest.raises(ApiException) as caught:
        apps.read_namespaced_deployment("echo", "team-a")
    assert caught.value.status == 404


def test_deleting_a_service_answers_the_deleted_service(
    core: kubernetes.client.CoreV1Api,
) -> None:
    created = core.create_namespaced_service("team-a", service("echo"))

    answer = core.delete_namespaced_service("echo", "team-a")

    assert metadata_of(answer).uid == metadata_of(created).uid
    assert core.list_namespaced_service("team-a").items == []


def test_deleting_a_missing_object_answers_not_found(
    apps: kubernetes.client.AppsV1Api,
) -> None:
    with pytest.raises(ApiException) as caught:
        apps.delete_namespaced_deployment("nothing", "team-a")

    assert caught.value.status == 404
    assert status_of(caught.value)["reason"] == "NotFound"


def test_delete_preconditions_are_checked(apps: kubernetes.client.AppsV1Api) -> None:
    apps.create_namespaced_deployment("team-a", deployment("echo"))

    with pytest.raises(ApiException) as caught:
        apps.delete_namespaced_deployment(
            "echo",
            "team-a",
            body=kubernetes.client.V1DeleteOptions(
                preconditions=kubernetes.client.V1Preconditions(uid="someone-else")
            ),
        )

    assert caught.value.status == 409
    assert metadata_of(apps.read_namespaced_deployment("echo", "team-a")).name == "echo"


def test_an_unknown_propagation_policy_is_invalid(apps: kubernetes.client.AppsV1Api) -> None:
    apps.create_namespaced_deployment("team-a", deployment("echo"))

    with pytest.raises(ApiException) as caught:
        apps.delete_namespaced_deployment("echo", "team-a", propagation_policy="Eventually")

    assert caught.value.status == 422


def test_finalizers_hold_a_deleted_object_until_removed(
    apps: kubernetes.client.AppsV1Api,
) -> None:
    body = deployment_body("echo")
    body["metadata"]["finalizers"] = ["example.com/hold"]
    apps.create_namespaced_deployment("team-a", V1Deployment.model_validate(body))

    apps.delete_namespaced_deployment("echo", "team-a")
    held = apps.read_namespaced_deployment("echo", "team-a")
    assert metadata_of(held).deletion_timestamp is not None

    apps.patch_namespaced_deployment(
        "echo", "team-a", [{"op": "remove", "path": "/metadata/finalizers"}]
    )
    with pytest.raises(ApiException) as caught:
        apps.read_namespaced_deployment("echo", "team-a")
    assert caught.value.status == 404


def test_any_namespace_exists_on_demand(core: kubernetes.client.CoreV1Api) -> None:
    namespace = core.read_namespace("tenant-42")

    assert metadata_of(namespace).name == "tenant-42"
    assert namespace.status is not None
    assert namespace.status.phase == "Active"


def test_list_pages_with_limit_and_continue(apps: kubernetes.client.AppsV1Api) -> None:
    for name in ("a", "b", "c"):
        apps.create_namespaced_deployment("team-a", deployment(name))

    first = apps.list_namespaced_deployment("team-a", limit=2)
    rest = apps.list_namespaced_deployment(
        "team-a", limit=2, _continue=metadata_of(first)._continue
    )

    assert [name_of(d) for d in first.items] == ["a", "b"]
    assert metadata_of(first).remaining_item_count == 1
    assert [name_of(d) for d in rest.items] == ["c"]
    assert metadata_of(rest)._continue is None


def test_service_gets_a_cluster_ip_that_updates_keep(core: kubernetes.client.CoreV1Api) -> None:
    created = core.create_namespaced_service("team-a", service("echo"))
    assert created.spec is not None
    assert created.spec.cluster_ip
    assert created.spec.type == "ClusterIP"

    body = service_body("echo")
    body["metadata"]["resourceVersion"] = metadata_of(created).resource_version
    replaced = core.replace_namespaced_service("echo", "team-a", V1Service.model_validate(body))

    assert replaced.spec is not None
    assert replaced.spec.cluster_ip == created.spec.cluster_ip


def test_an_unserved_path_answers_not_found(client: kubernetes.client.ApiClient) -> None:
    with pytest.raises(ApiException) as caught:
        kubernetes.client.BatchV1Api(client).list_namespaced_job("team-a")

    assert caught.value.status == 404


def test_discovery_documents_answer(client: kubernetes.client.ApiClient) -> None:
    groups = kubernetes.client.ApisApi(client).get_api_versions()
    core_versions = kubernetes.client.CoreApi(client).get_api_versions()
    version = kubernetes.client.VersionApi(client).get_code()
    resources = kubernetes.client.AppsV1Api(client).get_api_resources()

    assert [g.name for g in groups.groups] == ["apps"]
    assert core_versions.versions == ["v1"]
    assert version.major == "1"
    assert {"deployments", "deployments/status"} <= {r.name for r in resources.resources}


def test_a_kubeconfig_from_the_fake_reaches_it(fake: FakeKubeApiServer, tmp_path: Path) -> None:
    path = fake.write_kubeconfig(tmp_path / "config")
    configuration = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=str(path), client_configuration=configuration)

    with kubernetes.client.ApiClient(configuration) as client:
        listed = kubernetes.client.AppsV1Api(client).list_namespaced_deployment("default")

    assert listed.items == []
    assert fake.request_count("list", "deployments") == 1


def test_requests_are_recorded_with_verb_and_resource(
    fake: FakeKubeApiServer, apps: kubernetes.client.AppsV1Api
) -> None:
    apps.create_namespaced_deployment("team-a", deployment("echo"))
    apps.read_namespaced_deployment("echo", "team-a")
    apps.list_namespaced_deployment("team-a")
    apps.patch_namespaced_deployment_status("echo", "team-a", {"status": {"replicas": 1}})

    assert fake.request_count("create", "deployments") == 1
    assert fake.request_count("get", "deployments") == 1
    assert fake.request_count("list", "deployments") == 1
    assert fake.request_count("patch", "deployments/status") == 1
    assert fake.request_count(resource="deployments") == 3
    recorded = fake.requests[0]
    assert (recorded.verb, recorded.path, recorded.namespace) == (
        "create",
        "/apis/apps/v1/namespaces/team-a/deployments",
        "team-a",
    )

    fake.reset_requests()
    assert fake.request_count() == 0


def test_api_error_bodies_are_status_objects() -> None:
    error = ApiError(410, "Expired", "too old resource version: 1 (5)")

    assert error.body() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "too old resource version: 1 (5)",
        "reason": "Expired",
        "code": 410,
    }


def test_a_continue_token_older_than_the_history_is_gone(
    fake: FakeKubeApiServer, apps: kubernetes.client.AppsV1Api
) -> None:
    for name in ("a", "b"):
        apps.create_namespaced_deployment("team-a", deployment(name))
    first = apps.list_namespaced_deployment("team-a", limit=1)
    apps.patch_namespaced_deployment("b", "team-a", {"spec": {"replicas": 2}})
    fake.compact()

    with pytest.raises(ApiException) as caught:
        apps.list_namespaced_deployment("team-a", limit=1, _continue=metadata_of(first)._continue)

    assert caught.value.status == 410
    assert status_of(caught.value)["reason"] == "Expired"


def test_the_fake_runs_on_its_own_and_stops_on_sigterm(tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    log = tmp_path / "fake.log"
    with Child(
        [sys.executable, "-m", "tests.fakekube", "--kubeconfig", str(config)],
        log=log,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    ) as child:
        wait_until(lambda: config.exists() and "kubeconfig in" in child.output(), what="start")
        configuration = kubernetes.client.Configuration()
        kubernetes.config.load_kube_config(
            config_file=str(config), client_configuration=configuration
        )
        with kubernetes.client.ApiClient(configuration) as client:
            namespace = kubernetes.client.CoreV1Api(client).read_namespace("default")
        child.signal(signal.SIGTERM)
        assert child.process.wait(timeout=10) == 0

    assert metadata_of(namespace).name == "default"


def test_delete_collection_removes_what_the_selector_matches(
    apps: kubernetes.client.AppsV1Api,
) -> None:
    apps.create_namespaced_deployment("team-a", deployment("keep"))
    apps.create_namespaced_deployment("team-a", deployment("drop", labels={"tier": "x"}))

    answer = apps.delete_collection_namespaced_deployment("team-a", label_selector="tier=x")

    assert answer.status == "Success"
    names = [name_of(d) for d in apps.list_namespaced_deployment("team-a").items]
    assert names == ["keep"]


def test_deleting_a_namespace_deletes_what_is_in_it(
    fake: FakeKubeApiServer,
    apps: kubernetes.client.AppsV1Api,
    core: kubernetes.client.CoreV1Api,
) -> None:
    apps.create_namespaced_deployment("team-a", deployment("echo"))
    apps.create_namespaced_deployment("team-b", deployment("echo"))

    core.delete_namespace("team-a")

    assert fake.objects("deployments", "team-a") == []
    assert len(fake.objects("deployments", "team-b")) == 1
