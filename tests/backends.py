"""The backends the contract tests run against, each made fresh for one test.

Every entry makes a backend and cleans up after it; the contract suite is parametrised over
all of them, so a behaviour promised by the interface is checked on each.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager as ContextManager

from fnplane.server.backend import FunctionBackend
from fnplane.server.demo import DemoBackend
from fnplane.server.kubernetes.backend import KubernetesBackend
from fnplane.server.validation import Limits
from tests.fakekube import FakeKubeApiServer


@contextlib.contextmanager
def demo_backend(limits: Limits) -> Iterator[FunctionBackend]:
    backend = DemoBackend(limits=limits)
    try:
        yield backend
    finally:
        backend.close()


@contextlib.contextmanager
def kubernetes_backend(limits: Limits) -> Iterator[FunctionBackend]:
    """The Kubernetes backend on a fake API server of its own, which speaks real HTTP."""
    with FakeKubeApiServer() as fake:
        backend = KubernetesBackend(fake.api_client(), limits=limits, backoff=(0.05, 0.5))
        try:
            yield backend
        finally:
            backend.close()


BACKENDS: dict[str, Callable[[Limits], ContextManager[FunctionBackend]]] = {
    "demo": demo_backend,
    "kubernetes": kubernetes_backend,
}
