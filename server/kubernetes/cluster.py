"""Every call fnplane makes to the Kubernetes API server, typed, with its errors translated.

These methods are the whole of what fnplane asks of a cluster; the Role in `deploy/` grants
exactly their verbs on their resources. Objects travel as the JSON the API server sends
(read without the client's model classes), so watch events and write answers look alike.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
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
        self.observer: Callable[[str, str, float], None] | None = None
        """Told of every request: its verb, its outcome and the seconds it took (metrics)."""
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
                namespace, **self._watch_options(resource_version, timeout_seconds)
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

    def list_services(self, namespace: str) -> KubeObject:
        """Answers the ServiceList of every function's Service in `namespace`."""
        call = ApiCall(verb="list", resource="services", namespace=namespace)
        with self._calling(call):
            return _json(
                self._core.list_namespaced_service(
                    namespace, label_selector=MANAGED_SELECTOR, **self._options()
                )
            )

    def watch_services(
        self, namespace: str, resource_version: str, *, timeout_seconds: int
    ) -> HTTPResponse:
        """Opens a watch of the functions' Services in `namespace`, as watch_deployments
        does for their Deployments."""
        call = ApiCall(verb="watch", resource="services", namespace=namespace)
        with self._calling(call):
            answer = self._core.list_namespaced_service(
                namespace, **self._watch_options(resource_version, timeout_seconds)
            )
            return _raw(answer)

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

    def list_pods(self, namespace: str, *, label_selector: str) -> KubeObject:
        """Answers the PodList of the pods `label_selector` selects in `namespace`."""
        call = ApiCall(verb="list", resource="pods", namespace=namespace)
        with self._calling(call):
            return _json(
                self._core.list_namespaced_pod(
                    namespace, label_selector=label_selector, **self._options()
                )
            )

    def pod_log(
        self,
        namespace: str,
        pod: str,
        *,
        container: str,
        follow: bool,
        tail_lines: int | None,
        since_seconds: int | None,
    ) -> HTTPResponse:
        """Opens the log of one container of a pod, each line prefixed by its time; with
        `follow` the answer streams new lines until the container ends."""
        call = ApiCall(verb="get", resource="pods/log", namespace=namespace, name=pod)
        with self._calling(call):
            answer = self._core.read_namespaced_pod_log(
                pod,
                namespace,
                container=container,
                follow=follow,
                timestamps=True,
                tail_lines=tail_lines,
                since_seconds=since_seconds,
                _preload_content=False,
                # A followed log may stay quiet for as long as the function does.
                _request_timeout=None if follow else self.timeout,
            )
            return _raw(answer)

    def _options(self) -> dict[str, Any]:
        return {"_preload_content": False, "_request_timeout": self.timeout}

    def _watch_options(self, resource_version: str, timeout_seconds: int) -> dict[str, Any]:
        """Answers the options of a watch of the functions' objects after
        `resource_version`, ended by the API server after `timeout_seconds`."""
        return {
            "label_selector": MANAGED_SELECTOR,
            "watch": True,
            "resource_version": resource_version,
            "allow_watch_bookmarks": True,
            "timeout_seconds": timeout_seconds,
            "_preload_content": False,
            # The read timeout outlasts the server's own end of the watch, so a silent
            # connection is noticed without cutting a quiet but healthy one.
            "_request_timeout": (self.timeout, timeout_seconds + self.timeout),
        }

    @contextlib.contextmanager
    def _calling(self, call: ApiCall) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        except Exception as error:
            self._observed(call, _outcome(error), start)
            translated = translate(error, call, self.server)
            if translated is error:
                raise
            raise translated from error
        self._observed(call, "ok", start)

    def _observed(self, call: ApiCall, outcome: str, start: float) -> None:
        if self.observer is not None:
            self.observer(call.verb, outcome, time.perf_counter() - start)


def _outcome(error: Exception) -> str:
    # The HTTP status of a refusal, or "unreachable" when no answer came at all.
    status = getattr(error, "status", None)
    return str(status) if isinstance(status, int) and status else "unreachable"


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
