"""The interface every backend implements: where functions are kept and run.

Backends speak only domain types and raise only `fnplane.server.errors`; they never see
protobuf or gRPC. The namespace is always passed in by the caller, taken from its token.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Protocol

from fnplane.server.domain import Function, FunctionSpec, FunctionUpdate, LogLine, LogQuery
from fnplane.server.watch import FunctionWatch


class LogStream(Protocol):
    """Log lines as they are read; `close` may be called from any thread and ends them."""

    def __iter__(self) -> Iterator[LogLine]: ...

    def close(self) -> None: ...


class FunctionBackend(Protocol):
    """Keeps functions per namespace and reports their state."""

    name: str
    """A short name for logs: "demo" or "kubernetes"."""

    def create(self, namespace: str, spec: FunctionSpec) -> Function:
        """Starts a function from a checked spec; raises AlreadyExists for a taken name."""
        ...

    def list(self, namespace: str) -> list[Function]:
        """Answers every function of `namespace`, sorted by name."""
        ...

    def get(self, namespace: str, name: str) -> Function:
        """Answers one function; raises NotFound."""
        ...

    def update(self, namespace: str, update: FunctionUpdate) -> Function:
        """Applies a checked update and answers the function as it now is; raises NotFound,
        or InvalidArgument when the changed spec as a whole breaks a rule."""
        ...

    def delete(self, namespace: str, name: str) -> None:
        """Removes a function and everything it runs; raises NotFound."""
        ...

    def watch(self, namespace: str) -> FunctionWatch:
        """Answers a watch of `namespace`: an ADDED event for each function there now, a
        SYNCED event, then every change in order. Closing the watch stops it."""
        ...

    def logs(self, namespace: str, query: LogQuery) -> LogStream:
        """Answers the log lines of a function's pods, following new ones if asked; raises
        NotFound, or FailedPrecondition when this backend keeps no logs."""
        ...

    def census(self) -> Mapping[tuple[str, str], int]:
        """Answers how many functions there are by (namespace, status), in every namespace
        the backend knows of; cheap enough to ask on every metrics scrape."""
        ...

    def close(self) -> None:
        """Releases what the backend holds (connections, threads)."""
        ...
