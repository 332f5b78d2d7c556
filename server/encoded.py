"""Functions kept encoded as protobuf, so that Get and List do not build their messages anew.

Building one message per function was most of a List's cost: about 10 µs a function, 130 ms
of server CPU for a List of 10,000 under load. Here each function is encoded once, when it is
first answered, and its bytes are kept for as long as the backend answers the very same
Function object. Backends replace a Function whenever anything about it changes, so the same
object means the same bytes.
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Sequence

from fnplane.server.convert import function_to_pb
from fnplane.server.domain import Function
from fnplane.v1 import functions_pb2 as pb

DEFAULT_LIMIT = 50_000
"""How many functions are kept encoded, about 400 bytes each; past it the oldest is dropped."""

LISTINGS_KEPT = 16
"""How many namespaces' last listings are kept; past it the oldest is dropped."""


class EncodedFunctions:
    """Each function's message encoded once, reused while the function is unchanged.

    Safe to use from many threads. Two threads answering a function that is not yet kept may
    both encode it; the bytes are the same either way.
    """

    def __init__(self, *, limit: int = DEFAULT_LIMIT) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        # (namespace, name) -> (the function, its ListFunctionsResponse field, message size)
        self._kept: dict[tuple[str, str], tuple[Function, bytes, int]] = {}
        # namespace -> (the functions of its last listing, that listing)
        self._listings: dict[str, tuple[tuple[Function, ...], bytes]] = {}

    def function(self, function: Function) -> bytes:
        """Answers `function` encoded as a `fnplane.v1.Function` message."""
        field, size = self._encoded(function)
        return field[len(field) - size :]

    def listing(self, namespace: str, functions: Sequence[Function]) -> bytes:
        """Answers `functions`, the functions of `namespace` in order, encoded as a
        `ListFunctionsResponse`.

        A message's encoding is the concatenation of its fields' encodings, and a repeated
        field is one encoding per element, so the response is its functions' fields joined.
        When they are the very functions of the namespace's last listing, that listing is
        answered again: comparing references touches none of the functions, where joining
        them touches each, and with 10,000 that was most of a List's cost.
        """
        last = self._listings.get(namespace)
        if last is not None and _same(last[0], functions):
            return last[1]

        listing = b"".join([self._encoded(function)[0] for function in functions])
        with self._lock:
            if namespace not in self._listings and len(self._listings) >= LISTINGS_KEPT:
                del self._listings[next(iter(self._listings))]
            self._listings[namespace] = (tuple(functions), listing)
        return listing

    def _encoded(self, function: Function) -> tuple[bytes, int]:
        key = (function.namespace, function.name)
        kept = self._kept.get(key)
        if kept is not None and kept[0] is function:
            return kept[1], kept[2]

        message = function_to_pb(function)
        # Protobuf itself frames the function as an element of the response's repeated field.
        field = pb.ListFunctionsResponse(functions=[message]).SerializeToString()
        size = message.ByteSize()
        with self._lock:
            if key not in self._kept and len(self._kept) >= self._limit:
                del self._kept[next(iter(self._kept))]
            self._kept[key] = (function, field, size)
        return field, size


def _same(kept: Sequence[Function], functions: Sequence[Function]) -> bool:
    return len(kept) == len(functions) and all(map(operator.is_, kept, functions))
