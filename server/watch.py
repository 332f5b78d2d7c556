"""Watches of a namespace's functions: each watcher's events, and the fan-out that feeds them.

A backend calls `Watchers.publish` while it holds the lock that orders its writes, and
`Watchers.subscribe` under the same lock with the namespace's functions as they are, so a
watcher sees the snapshot and then every later change exactly once, in order. Publishing
never blocks: each watcher has a bounded queue, and one that falls too far behind is cut
off and ended with RESOURCE_EXHAUSTED, so a slow reader can never hold up writes.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterator

from fnplane.server.domain import EventType, Function, FunctionEvent
from fnplane.server.errors import ResourceExhausted

log = logging.getLogger("fnplane.server.watch")

DEFAULT_BACKLOG = 1000
"""How many events a watcher may have waiting before it is cut off."""


class FunctionWatch:
    """The events of one watcher, in order; iterate to receive them, close to stop.

    Iteration blocks until the next event, and ends when the watch is closed (by the
    watcher hanging up, or the backend closing). A watcher that fell behind receives the
    events queued before it did, then ResourceExhausted.
    """

    def __init__(self, namespace: str, *, backlog: int, room: int, on_close: Watchers) -> None:
        self.namespace = namespace
        self._backlog = backlog
        # The snapshot is queued at once, so it gets room of its own beyond the backlog.
        self._capacity = backlog + room
        self._watchers = on_close
        self._ready = threading.Condition()
        self._events: deque[FunctionEvent] = deque()
        self._closed = False
        self._behind = False

    @property
    def behind(self) -> bool:
        """Whether this watch was cut off for falling too far behind."""
        return self._behind

    def offer(self, event: FunctionEvent) -> bool:
        """Queues `event` without blocking; answers False when this watch takes no more."""
        with self._ready:
            if self._closed or self._behind:
                return False
            if len(self._events) >= self._capacity:
                self._behind = True
                self._ready.notify_all()
                return False
            self._events.append(event)
            self._ready.notify_all()
            return True

    def close(self) -> None:
        """Ends the watch: a blocked iteration returns, and no more events are queued."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        self._watchers.forget(self)

    def __iter__(self) -> Iterator[FunctionEvent]:
        return self

    def __next__(self) -> FunctionEvent:
        with self._ready:
            while not self._events and not self._closed and not self._behind:
                self._ready.wait()
            if self._events:
                return self._events.popleft()
            if self._closed:
                raise StopIteration
        self.close()
        raise ResourceExhausted(
            f"this watch fell more than {self._backlog} events behind and was stopped; "
            "watch again to get the functions as they are now"
        )


class Watchers:
    """Everyone watching the functions of some namespace of one backend."""

    def __init__(self, *, backlog: int = DEFAULT_BACKLOG) -> None:
        self._backlog = backlog
        self._lock = threading.Lock()
        self._watches: dict[str, set[FunctionWatch]] = {}
        self._closed = False

    def subscribe(self, namespace: str, functions: list[Function]) -> FunctionWatch:
        """Answers a new watch of `namespace` that starts with `functions` (as they are now)
        and a SYNCED event; the caller holds the lock its writes publish under."""
        watch = FunctionWatch(
            namespace, backlog=self._backlog, room=len(functions) + 1, on_close=self
        )
        for function in functions:
            watch.offer(FunctionEvent(type=EventType.ADDED, function=function))
        watch.offer(FunctionEvent(type=EventType.SYNCED))
        with self._lock:
            closed = self._closed
            if not closed:
                self._watches.setdefault(namespace, set()).add(watch)
        if closed:
            watch.close()
        return watch

    def watched(self, namespace: str) -> bool:
        """Answers whether anyone watches `namespace`, so that a write nobody watches need not
        build its event."""
        return namespace in self._watches

    def publish(self, namespace: str, event: FunctionEvent) -> None:
        """Gives `event` to every watcher of `namespace`; cuts off those too far behind."""
        with self._lock:
            watches = list(self._watches.get(namespace, ()))
        for watch in watches:
            if not watch.offer(event) and watch.behind:
                log.warning(
                    "a watcher of namespace %r fell %d events behind and was stopped",
                    namespace,
                    self._backlog,
                )
                self.forget(watch)

    def forget(self, watch: FunctionWatch) -> None:
        """Stops giving events to `watch`."""
        with self._lock:
            watches = self._watches.get(watch.namespace)
            if watches is not None:
                watches.discard(watch)
                if not watches:
                    del self._watches[watch.namespace]

    def count(self) -> int:
        """Answers how many watches are open."""
        with self._lock:
            return sum(len(watches) for watches in self._watches.values())

    def close(self) -> None:
        """Ends every watch; later subscriptions end at once after their snapshot."""
        with self._lock:
            self._closed = True
            watches = [w for group in self._watches.values() for w in group]
        for watch in watches:
            watch.close()
