"""The demo backend: functions kept in memory, for trying fnplane without a cluster.

Nothing runs: a function's status is decided at once from its spec. A function with replicas
is "Running" with all of them available, ready and updated; one with zero replicas is
"Stopped". Everything is lost when the server stops.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

from fnplane.server.domain import Function, FunctionSpec, FunctionUpdate, Status
from fnplane.server.errors import AlreadyExists, NotFound
from fnplane.server.validation import Limits, check_quota, check_spec


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class DemoBackend:
    """An in-memory backend; one lock makes every call atomic."""

    name = "demo"

    def __init__(
        self, *, limits: Limits | None = None, clock: Callable[[], datetime] = _now
    ) -> None:
        self._limits = limits or Limits()
        self._clock = clock
        self._lock = threading.Lock()
        self._functions: dict[str, dict[str, Function]] = {}

    def create(self, namespace: str, spec: FunctionSpec) -> Function:
        with self._lock:
            functions = self._functions.setdefault(namespace, {})
            if spec.name in functions:
                raise AlreadyExists(f"function {spec.name!r} already exists")
            check_quota(len(functions), self._limits)
            function = _observe(spec, namespace, self._clock())
            functions[spec.name] = function
            return function

    def list(self, namespace: str) -> list[Function]:
        with self._lock:
            functions = list(self._functions.get(namespace, {}).values())
        return sorted(functions, key=lambda f: f.name)

    def get(self, namespace: str, name: str) -> Function:
        with self._lock:
            return self._find(namespace, name)

    def update(self, namespace: str, update: FunctionUpdate) -> Function:
        with self._lock:
            current = self._find(namespace, update.name)
            spec = update.apply_to(current.spec)
            check_spec(spec, self._limits)
            function = _observe(spec, namespace, current.created_at)
            self._functions[namespace][update.name] = function
            return function

    def delete(self, namespace: str, name: str) -> None:
        with self._lock:
            self._find(namespace, name)
            del self._functions[namespace][name]

    def close(self) -> None:
        pass

    def _find(self, namespace: str, name: str) -> Function:
        try:
            return self._functions[namespace][name]
        except KeyError:
            raise NotFound(f"function {name!r} not found") from None


def _observe(spec: FunctionSpec, namespace: str, created_at: datetime) -> Function:
    """Answers the state the demo backend reports for `spec`: everything up at once."""
    return Function(
        spec=spec,
        namespace=namespace,
        created_at=created_at,
        available_replicas=spec.replicas,
        ready_replicas=spec.replicas,
        updated_replicas=spec.replicas,
        status=Status.RUNNING if spec.replicas else Status.STOPPED,
    )
