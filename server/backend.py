"""The interface every backend implements: where functions are kept and run.

Backends speak only domain types and raise only `fnplane.server.errors`; they never see
protobuf or gRPC. The namespace is always passed in by the caller, taken from its token.
"""

from __future__ import annotations

from typing import Protocol

from fnplane.server.domain import Function, FunctionSpec, FunctionUpdate


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

    def close(self) -> None:
        """Releases what the backend holds (connections, threads)."""
        ...
