"""The demo backend: functions kept in memory, for trying fnplane without a cluster.

Nothing runs: a function's status is decided at once from its spec. A function with replicas
is "Running" with all of them available, ready and updated; one with zero replicas is
"Stopped". Everything is lost when the server stops. Watchers hear of every write the moment
it is made; there are no logs, since no container runs.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from fnplane.server.backend import LogStream
from fnplane.server.domain import (
    EventType,
    Function,
    FunctionEvent,
    FunctionSpec,
    FunctionUpdate,
    LogQuery,
    Status,
)
from fnplane.server.errors import AlreadyExists, FailedPrecondition, NotFound
from fnplane.server.validation import Limits, check_quota, check_spec
from fnplane.server.watch import DEFAULT_BACKLOG, FunctionWatch, Watchers


class WholeSeconds:
    """The time now, in whole seconds: what a function's creation time holds.

    `seconds` answers the time as seconds since the epoch (the system clock by default).
    """

    def __init__(self, seconds: Callable[[], float] = time.time) -> None:
        self._seconds = seconds
        self._known = (0, datetime.fromtimestamp(0, UTC))

    def __call__(self) -> datetime:
        # Creates come many to a second, so each second's datetime is made once: making one
        # for every create was about 11,000 of its 610,000 instructions (callgrind).
        second = int(self._seconds())
        known = self._known
        if known[0] != second:
            known = (second, datetime.fromtimestamp(second, UTC))
            self._known = known
        return known[1]


class DemoBackend:
    """An in-memory backend; one lock makes every call atomic."""

    name = "demo"

    def __init__(
        self,
        *,
        limits: Limits | None = None,
        clock: Callable[[], datetime] | None = None,
        watch_backlog: int = DEFAULT_BACKLOG,
    ) -> None:
        self._limits = limits or Limits()
        self._clock = clock or WholeSeconds()
        self._lock = threading.Lock()
        self._functions: dict[str, dict[str, Function]] = {}
        # Each namespace's functions sorted by name, as last listed; a write drops its own.
        # Sorting touches every function, which for large namespaces is most of a List's cost.
        self._sorted: dict[str, list[Function]] = {}
        self._watchers = Watchers(backlog=watch_backlog)

    def create(self, namespace: str, spec: FunctionSpec) -> Function:
        # Made before the lock is taken, which every other call waits for while it is held.
        function = _observe(spec, namespace, self._clock())
        with self._lock:
            functions = self._functions.setdefault(namespace, {})
            if spec.name in functions:
                raise AlreadyExists(f"function {spec.name!r} already exists")
            check_quota(len(functions), self._limits)
            functions[spec.name] = function
            self._sorted.pop(namespace, None)
            self._tell(namespace, EventType.ADDED, function)
            return function

    def list(self, namespace: str) -> list[Function]:
        with self._lock:
            listed = self._sorted.get(namespace)
            if listed is None:
                listed = sorted(self._functions.get(namespace, {}).values(), key=lambda f: f.name)
                self._sorted[namespace] = listed
            return list(listed)

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
            self._sorted.pop(namespace, None)
            if function != current:
                self._tell(namespace, EventType.MODIFIED, function)
            return function

    def delete(self, namespace: str, name: str) -> None:
        with self._lock:
            function = self._find(namespace, name)
            del self._functions[namespace][name]
            self._sorted.pop(namespace, None)
            self._tell(namespace, EventType.DELETED, function)

    def watch(self, namespace: str) -> FunctionWatch:
        with self._lock:
            functions = sorted(self._functions.get(namespace, {}).values(), key=lambda f: f.name)
            return self._watchers.subscribe(namespace, functions)

    def logs(self, namespace: str, query: LogQuery) -> LogStream:
        raise FailedPrecondition(
            "function logs need the kubernetes backend; the demo backend runs no containers"
        )

    def census(self) -> Mapping[tuple[str, str], int]:
        with self._lock:
            return Counter(
                (namespace, function.status.value)
                for namespace, functions in self._functions.items()
                for function in functions.values()
            )

    def close(self) -> None:
        self._watchers.close()

    def _tell(self, namespace: str, kind: EventType, function: Function) -> None:
        # Called with the lock held, so watchers see writes in the order they were made, and
        # a watch cannot begin between the check and the publish.
        if self._watchers.watched(namespace):
            self._watchers.publish(namespace, FunctionEvent(type=kind, function=function))

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
