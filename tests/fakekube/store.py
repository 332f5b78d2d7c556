"""The fake's storage: objects under one global resourceVersion, with a bounded change history.

It plays etcd's part: every write takes the next revision, and watches replay the history of
changes after a revision for as long as that history is kept.
"""

from __future__ import annotations

import copy
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from tests.fakekube.resources import Resource
from tests.fakekube.statuses import expired

JsonObject = dict[str, Any]
Key = tuple[str, str, str]
"""(resource plural, namespace or "", name)"""

DEFAULT_HISTORY = 1000


@dataclass(frozen=True)
class Change:
    """One stored write, as watches see it."""

    revision: int
    type: str
    """ADDED, MODIFIED or DELETED."""
    resource: Resource
    obj: JsonObject
    old: JsonObject | None
    """The object before the write, so a filtered watch can tell entering from leaving."""


class Store:
    """Objects by resource, namespace and name, and the changes that made them."""

    def __init__(self, *, history: int = DEFAULT_HISTORY) -> None:
        # One re-entrant lock orders all writes; the registry holds it across a
        # read-modify-write so a conflict check and its write see the same object.
        self.lock = threading.Condition(threading.RLock())
        self._objects: dict[Key, tuple[Resource, JsonObject]] = {}
        self._revision = 1
        self._changes: deque[Change] = deque()
        self._history = history
        self._oldest = 1

    @property
    def revision(self) -> int:
        """The newest resourceVersion, the one a list taken now reports."""
        with self.lock:
            return self._revision

    @property
    def oldest(self) -> int:
        """The oldest resourceVersion a watch can still start from."""
        with self.lock:
            return self._oldest

    def get(self, resource: Resource, namespace: str, name: str) -> JsonObject | None:
        with self.lock:
            found = self._objects.get((resource.plural, namespace, name))
            return copy.deepcopy(found[1]) if found is not None else None

    def items(
        self, resource: Resource, namespace: str | None, *, read_only: bool = False
    ) -> list[JsonObject]:
        """Every stored object of `resource` (in `namespace`, or in all), ordered by key.

        With `read_only` the nested parts are shared with the store (only the top level is a
        copy), which saves the deep copies for readers that serialize and never modify.
        """
        with self.lock:
            keys = sorted(
                key
                for key in self._objects
                if key[0] == resource.plural and (namespace is None or key[1] == namespace)
            )
            found = [self._objects[key][1] for key in keys]
        return [dict(obj) if read_only else copy.deepcopy(obj) for obj in found]

    def everything(self) -> list[tuple[Resource, JsonObject]]:
        """Every stored object with the resource whose object it is."""
        with self.lock:
            return [(resource, copy.deepcopy(obj)) for resource, obj in self._objects.values()]

    def commit(
        self, resource: Resource, kind: str, obj: JsonObject, old: JsonObject | None
    ) -> JsonObject:
        """Stores a write under the next revision, records the change, wakes the watches."""
        with self.lock:
            self._revision += 1
            stored = copy.deepcopy(obj)
            stored.setdefault("metadata", {})["resourceVersion"] = str(self._revision)
            metadata = stored["metadata"]
            key = (resource.plural, metadata.get("namespace", ""), metadata["name"])
            if kind == "DELETED":
                self._objects.pop(key, None)
            else:
                self._objects[key] = (resource, stored)
            self._changes.append(
                Change(self._revision, kind, resource, stored, copy.deepcopy(old))
            )
            while len(self._changes) > self._history:
                self._oldest = self._changes.popleft().revision
            self.lock.notify_all()
            return copy.deepcopy(stored)

    def changes_after(self, revision: int) -> list[Change]:
        """The changes newer than `revision`; 410 Expired when some are no longer kept."""
        with self.lock:
            if revision < self._oldest:
                raise expired(revision, self._oldest)
            return [change for change in self._changes if change.revision > revision]

    def compact(self) -> None:
        """Forgets the change history, as etcd's compaction does."""
        with self.lock:
            self._changes.clear()
            self._oldest = self._revision
            self.lock.notify_all()

    def wake(self) -> None:
        with self.lock:
            self.lock.notify_all()
