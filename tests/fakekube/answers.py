"""Reading what the fake answered through the client, for the fake's tests.

The client's models make every field optional, as the OpenAPI document does; these read the
fields the API server always fills in, and fail the test when one is missing.
"""

from __future__ import annotations

import json
from typing import Any, Protocol, TypeVar

from kubernetes.client import ApiException, V1Deployment, V1ListMeta, V1ObjectMeta, V1PodSpec
from urllib3 import HTTPResponse

Meta_co = TypeVar("Meta_co", V1ObjectMeta, V1ListMeta, covariant=True)


class Described(Protocol[Meta_co]):
    """An object (ObjectMeta) or a list (ListMeta), as the client's model of it."""

    @property
    def metadata(self) -> Meta_co | None: ...


def metadata_of(answer: Described[Meta_co]) -> Meta_co:
    """The metadata the API server sets on every object and list it answers."""
    assert answer.metadata is not None, f"{type(answer).__name__} answered without metadata"
    return answer.metadata


def name_of(answer: Described[V1ObjectMeta]) -> str:
    found = metadata_of(answer).name
    assert found is not None, f"{type(answer).__name__} answered without a name"
    return found


def version_of(answer: Described[Meta_co]) -> int:
    """The resourceVersion as the number the fake makes it, for tests that compare them."""
    found = metadata_of(answer).resource_version
    assert found is not None, f"{type(answer).__name__} answered without a resourceVersion"
    return int(found)


def status_of(error: ApiException) -> dict[str, Any]:
    """The `Status` body of a refusal."""
    assert error.body is not None, f"the {error.status} answer has no body"
    body: dict[str, Any] = json.loads(error.body)
    return body


def raw(answer: object) -> HTTPResponse:
    """The HTTP response a call made with `_preload_content=False` answers (the client's
    annotations name the model it would otherwise have made)."""
    assert isinstance(answer, HTTPResponse), f"{type(answer).__name__} is no HTTP response"
    return answer


def pod_spec_of(deployment: V1Deployment) -> V1PodSpec:
    """The pod spec of a Deployment's template, which the API server requires of each."""
    assert deployment.spec is not None, "a Deployment answered without its spec"
    assert deployment.spec.template.spec is not None, "a template answered without its spec"
    return deployment.spec.template.spec
