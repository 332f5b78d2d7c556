"""Every call fnplane makes to the Kubernetes API server, typed, with its errors translated.

These methods are the whole of what fnplane asks of a cluster; the Role in `deploy/` grants
exactly their verbs on their resources. Objects travel as the JSON the API server sends
(read without the client's model classes), so watch events and write answers look alike.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any, Protocol, Self, TypeVar, cast

from kubernetes import client
from urllib3 import HTTPResponse

from fnplane.server.kubernetes.api_errors import ApiCall, translate
from fnplane.server.kubernetes.objects import MANAGED_SELECTOR, KubeObject

MERGE_PATCH = "application/merge-patch+json"


class _FromDict(Protocol):
    @classmethod
    def from_dict(cls, obj: dict[str, Any] | None) -> Self | None: ...


Model = TypeVar("Model", bound=_FromDict)


class Cluster:
    """The API server behind one client configuration."""

    def __init__(self, api_client: client.ApiClient, *, timeout: float = 10.0) -> None:
        self.api_client = api_client
        self.timeout = timeout
        self._apps = client.AppsV1Api(api_client)
        self._core = client.CoreV1Api(api_client)
        self._version = client.VersionApi(api_client)

    @property
    def server(self) -> str:
        """The API server's address, as error messages name it."""
        return str(self.api_client.configuration.host)

    def version(self) -> KubeObject:
        """Answers the API server's version; a cheap question that proves it answers."""
        with self._calling(ApiCall(verb="get", resource="version", namespace="")):
            return _json(self._version.get_code(**self._options()))

    def list_deployments(self, namespace: str) -> KubeObject:
        """Answers the DeploymentList of every function in `namespace`."""
        call = ApiCall(verb="list", resource="deployments", namespace=namespace)
        with self._calling(call):
            return _json(
                self._apps.list_namespaced_deployment(
                    namespace, label_selector=MANAGED_SELECTOR, **self._options()
                )
            )

    def watch_deployments(
        self, namespace: str, resource_version: str, *, timeout_seconds: int
    ) -> HTTPResponse:
        """Opens a watch of the functions' Deployments in `namespace` after
        `resource_version`; the answer streams one JSON event per line until the API server
        ends it after `timeout_seconds`."""
        call = ApiCall(verb="watch", resource="deployments", namespace=namespace)
        with self._calling(call):
            answer = self._apps.list_namespaced_deployment(
                namespace,
                label_selector=MANAGED_SELECTOR,
                watch=True,
                resource_version=resource_version,
                allow_watch_bookmarks=True,
                timeout_seconds=timeout_seconds,
                _preload_content=False,
                # The read timeout outlasts the server's own end of the watch, so a silent
                # connection is noticed without cutting a quiet but healthy one.
                _request_timeout=(self.timeout, timeout_seconds + self.timeout),
            )
            return _raw(answer)

    def read_deployment(self, namespace: str, name: str) -> KubeObject:
        call = ApiCall(verb="get", resource="deployments", namespace=namespace, name=name)
        with self._calling(call):
            return _json(self._apps.read_namespaced_deployment(name, namespace, **self._options()))

    def create_deployment(self, namespace: str, body: KubeObject) -> KubeObject:
        call = ApiCall(verb="create", resource="deployments", namespace=namespace)
        with self._calling(call):
            return _json(
                self._apps.create_namespaced_deployment(
                    namespace, _model(client.V1Deployment, body), **self._options()
                )
            )

    def patch_deployment(self, namespace: str, name: str, patch: KubeObject) -> KubeObject:
        call = ApiCall(verb="patch", resource="deployments", namespace=namespace, name=name)
        with self._calling(call):
            return _json(
                self._apps.patch_namespaced_deployment(
                    name, namespace, patch, _content_type=MERGE_PATCH, **self._options()
                )
            )

    def delete_deployment(self, namespace: str, name: str, *, uid: str) -> None:
        """Deletes the Deployment `name` if it is still the one with `uid`; its ReplicaSets
        and pods go in the background, as they do for `kubectl delete`."""
        call = ApiCall(verb="delete", resource="deployments", namespace=namespace, name=name)
        with self._calling(call):
            _json(
                self._apps.delete_namespaced_deployment(
                    name, namespace, body=_delete_options(uid), **self._options()
                )
            )

    def read_service(self, namespace: str, name: str) -> KubeObject:
        call = ApiCall(verb="get", resource="services", namespace=namespace, name=name)
        with self._calling(call):
            return _json(self._core.read_namespaced_service(name, namespace, **self._options()))

    def create_service(self, namespace: str, body: KubeObject) -> KubeObject:
        call = ApiCall(verb="create", resource="services", namespace=namespace)
        with self._calling(call):
            return _json(
                self._core.create_namespaced_service(
                    namespace, _model(client.V1Service, body), **self._options()
                )
            )

    def delete_service(self, namespace: str, name: str, *, uid: str) -> None:
        call = ApiCall(verb="delete", resource="services", namespace=namespace, name=name)
        with self._calling(call):
            _json(
                self._core.delete_namespaced_service(
                    name, namespace, body=_delete_options(uid), **self._options()
                )
            )

    def _options(self) -> dict[str, Any]:
        return {"_preload_content": False, "_request_timeout": self.timeout}

    @contextlib.contextmanager
    def _calling(self, call: ApiCall) -> Iterator[None]:
        try:
            yield
        except Exception as error:
            translated = translate(error, call, self.server)
            if translated is error:
                raise
            raise translated from error


def _raw(answer: object) -> HTTPResponse:
    """Answers the HTTP response a call made without the client's models answers (the
    client's annotations name the model it would have made)."""
    return cast(HTTPResponse, answer)


def _json(answer: object) -> KubeObject:
    response = _raw(answer)
    try:
        body: KubeObject = json.loads(response.data)
    finally:
        response.release_conn()
    return body


def _model(kind: type[Model], body: KubeObject) -> Model:
    model = kind.from_dict(body)
    if model is None:
        raise ValueError(f"no {kind.__name__} in {body!r}")
    return model


def _delete_options(uid: str) -> client.V1DeleteOptions:
    # The uid precondition makes a delete miss, rather than hit, an object of the same name
    # made since it was read.
    return client.V1DeleteOptions(
        propagation_policy="Background", preconditions=client.V1Preconditions(uid=uid)
    )
