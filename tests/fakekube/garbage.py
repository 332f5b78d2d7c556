"""A garbage collector in the manner of the controller manager's: owners take dependents along.

When an owner goes, every object whose ownerReferences name its uid goes too (Background),
goes first (Foreground), or is kept with that reference removed (Orphan). It runs on its own
thread, so like the real one it acts shortly after the delete, not inside it.
"""

from __future__ import annotations

import copy
import logging
import queue
import threading
import time

from tests.fakekube.registry import FOREGROUND, ORPHAN, Registry
from tests.fakekube.resources import Resource
from tests.fakekube.statuses import ApiError
from tests.fakekube.store import JsonObject

log = logging.getLogger(__name__)


class GarbageCollector:
    """Deletes or orphans the dependents of owners handed to it by the registry."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._work: queue.Queue[tuple[Resource, JsonObject, str] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        registry.collect = self.collect

    def start(self) -> None:
        """Starts collecting, including what was handed over while stopped."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="fakekube-gc", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stops collecting, as a lagging controller manager would; owners keep queueing."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._work.put(None)
            thread.join(timeout=5)

    def collect(self, resource: Resource, owner: JsonObject, policy: str) -> None:
        self._work.put((resource, owner, policy))

    def settle(self, timeout: float = 10.0) -> None:
        """Waits until every owner handed over so far has been dealt with."""
        deadline = time.monotonic() + timeout
        while self._work.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.005)
        if self._work.unfinished_tasks:
            raise TimeoutError(f"garbage collection did not settle within {timeout}s")

    def _run(self) -> None:
        while True:
            item = self._work.get()
            try:
                if item is None:
                    return
                self._handle(*item)
            except Exception:  # the collector must outlive any one bad object
                log.exception("garbage collection failed")
            finally:
                self._work.task_done()

    def _handle(self, resource: Resource, owner: JsonObject, policy: str) -> None:
        uid = owner["metadata"]["uid"]
        deleting = "deletionTimestamp" in owner["metadata"]
        finalizers = owner["metadata"].get("finalizers") or []
        gone = (
            self._registry.store.get(
                resource, owner["metadata"].get("namespace", ""), owner["metadata"]["name"]
            )
            is None
        )

        if deleting and not gone and ORPHAN in finalizers:
            for dependent_resource, dependent in self._dependents(uid):
                self._orphan(dependent_resource, dependent, uid)
            self._registry.remove_finalizer(resource, owner, ORPHAN)
        elif deleting and not gone and FOREGROUND in finalizers:
            for dependent_resource, dependent in self._dependents(uid):
                self._delete(dependent_resource, dependent)
            self._registry.remove_finalizer(resource, owner, FOREGROUND)
        elif gone:
            for dependent_resource, dependent in self._dependents(uid):
                if not self._has_other_owner(dependent, uid):
                    self._delete(dependent_resource, dependent)
                else:
                    self._orphan(dependent_resource, dependent, uid)

    def _dependents(self, uid: str) -> list[tuple[Resource, JsonObject]]:
        return [
            (resource, obj)
            for resource, obj in self._registry.store.everything()
            if any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or [])
        ]

    def _has_other_owner(self, dependent: JsonObject, uid: str) -> bool:
        refs = dependent["metadata"].get("ownerReferences") or []
        others = {ref.get("uid") for ref in refs} - {uid}
        living = {obj["metadata"]["uid"] for _, obj in self._registry.store.everything()}
        return bool(others & living)

    def _delete(self, resource: Resource, obj: JsonObject) -> None:
        metadata = obj["metadata"]
        try:
            self._registry.delete(
                resource,
                metadata.get("namespace", ""),
                metadata["name"],
                {"propagationPolicy": "Background", "preconditions": {"uid": metadata["uid"]}},
            )
        except ApiError as error:
            log.debug("dependent %s already gone: %s", metadata["name"], error.message)

    def _orphan(self, resource: Resource, obj: JsonObject, uid: str) -> None:
        metadata = obj["metadata"]
        with self._registry.store.lock:
            current = self._registry.store.get(
                resource, metadata.get("namespace", ""), metadata["name"]
            )
            if current is None:
                return
            orphaned = copy.deepcopy(current)
            refs = current["metadata"].get("ownerReferences") or []
            kept = [ref for ref in refs if ref.get("uid") != uid]
            if kept:
                orphaned["metadata"]["ownerReferences"] = kept
            else:
                orphaned["metadata"].pop("ownerReferences", None)
            self._registry.store.commit(resource, "MODIFIED", orphaned, current)
