"""Fixtures: a started fake API server, and the official client's APIs pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import kubernetes.client
import pytest

from tests.fakekube import FakeKubeApiServer


@pytest.fixture
def fake() -> Iterator[FakeKubeApiServer]:
    with FakeKubeApiServer() as started:
        yield started


@pytest.fixture
def client(fake: FakeKubeApiServer) -> Iterator[kubernetes.client.ApiClient]:
    with fake.api_client() as made:
        yield made


@pytest.fixture
def apps(client: kubernetes.client.ApiClient) -> kubernetes.client.AppsV1Api:
    return kubernetes.client.AppsV1Api(client)


@pytest.fixture
def core(client: kubernetes.client.ApiClient) -> kubernetes.client.CoreV1Api:
    return kubernetes.client.CoreV1Api(client)
