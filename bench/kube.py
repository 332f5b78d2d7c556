"""The Kubernetes backend against the fake API server: requests per call, and List from the
watch cache with many functions in it.

The backend runs in this process, as the server runs it, talking HTTP to the fake API server
(`tests.fakekube`) on a free port. Requests are counted by the fake itself. The namespaces
measured for List are filled by writing Deployments straight into the fake's store, which is
what the cluster would hold after that many creates, without spending the run on them.
"""

from __future__ import annotations

import time
from typing import Any

from bench.measures import percentile
from fnplane.server.domain import FunctionSpec
from fnplane.server.kubernetes.backend import KubernetesBackend
from fnplane.server.kubernetes.objects import deployment_for
from fnplane.server.validation import Limits
from tests.fakekube import FakeKubeApiServer
from tests.fakekube.resources import DEPLOYMENTS
from tests.support.waiting import wait_until

WRITES = frozenset({"create", "update", "patch", "delete", "deletecollection"})
SIZES = (1000, 10000)


def _spec(name: str) -> FunctionSpec:
    return FunctionSpec(
        name=name,
        image="registry.example.com/team/app:1.4.2",
        replicas=2,
        env={"ENV": "production", "LOG_LEVEL": "info"},
    )


def _counted(fake: FakeKubeApiServer) -> dict[str, Any]:
    requests = fake.requests
    fake.reset_requests()
    return {
        "requests": len(requests),
        "writes": sum(1 for r in requests if r.verb in WRITES),
        "reads": sum(1 for r in requests if r.verb not in WRITES),
        "calls": [f"{r.verb} {r.resource}" for r in requests],
    }


def measure(*, seconds: float) -> dict[str, Any]:
    """Answers the requests each call makes once the cache is warm, and List's latency with
    each of SIZES functions cached (timed for `seconds` each)."""
    with FakeKubeApiServer() as fake:
        backend = KubernetesBackend(
            fake.api_client(), limits=Limits(max_replicas=100, max_functions=10**7), timeout=30
        )
        try:
            return {
                "requests_per_call": _requests_per_call(fake, backend),
                "list": [_list_latency(fake, backend, size, seconds) for size in SIZES],
            }
        finally:
            backend.close()


def _requests_per_call(fake: FakeKubeApiServer, backend: KubernetesBackend) -> dict[str, Any]:
    namespace = "bench-calls"
    fake.registry.ensure_namespace(namespace)
    backend.list(namespace)  # the first read lists and starts the watch
    wait_until(lambda: fake.open_watches > 0, timeout=30, what="the watch to open")
    fake.reset_requests()

    counts: dict[str, Any] = {}
    backend.create(namespace, _spec("fn-measured"))
    counts["create"] = _counted(fake)
    backend.get(namespace, "fn-measured")
    counts["get"] = _counted(fake)
    backend.list(namespace)
    counts["list"] = _counted(fake)
    backend.delete(namespace, "fn-measured")
    counts["delete"] = _counted(fake)
    return counts


def _list_latency(
    fake: FakeKubeApiServer, backend: KubernetesBackend, size: int, seconds: float
) -> dict[str, Any]:
    namespace = f"bench-{size}"
    fake.registry.ensure_namespace(namespace)
    for index in range(size):
        fake.registry.create(DEPLOYMENTS, namespace, deployment_for(_spec(f"fn-{index:05d}")))
    began = time.perf_counter()
    wait_until(lambda: len(backend.list(namespace)) == size, timeout=120, what="a warm cache")
    warm_seconds = time.perf_counter() - began
    fake.reset_requests()

    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    while (start := time.perf_counter()) < deadline:
        backend.list(namespace)
        latencies.append((time.perf_counter() - start) * 1000)
    latencies.sort()
    return {
        "functions": size,
        "calls": len(latencies),
        "p50_ms": round(percentile(latencies, 0.5), 3),
        "p99_ms": round(percentile(latencies, 0.99), 3),
        "requests_while_listing": [f"{r.verb} {r.resource}" for r in fake.requests],
        "warm_seconds": round(warm_seconds, 2),
    }
