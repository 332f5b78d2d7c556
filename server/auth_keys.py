"""API keys: which key reaches which namespace, kept only as SHA-256 digests.

Keys come as `KEY=NAMESPACE` entries (commas or newlines between them, `#` starting a
comment). A key may be written as `sha256:HEX`, the digest of the key, so a key file need not
hold the keys themselves. A presented key is hashed and compared with every stored digest in
constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from fnplane.server.calls import Caller

HASHED_PREFIX = "sha256:"

# A Kubernetes namespace name: a DNS-1123 label.
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")


class KeyFileError(ValueError):
    """An API key entry cannot be read; the message names the entry, never the key."""


def is_namespace(name: str) -> bool:
    """Answers whether `name` is a valid Kubernetes namespace name."""
    return _NAMESPACE.fullmatch(name) is not None


@dataclass(frozen=True)
class ApiKey:
    """One configured key, as its digest, and the namespace it reaches."""

    digest: bytes = field(repr=False)
    namespace: str

    @property
    def subject(self) -> str:
        """A name for the key holder that logs and tokens may show: a digest prefix."""
        return "key-" + self.digest.hex()[:12]


class ApiKeys:
    """The configured API keys; empty when the server runs in open mode."""

    def __init__(self, keys: tuple[ApiKey, ...] = ()) -> None:
        self._keys = keys

    @classmethod
    def parse(cls, text: str, *, source: str) -> ApiKeys:
        """Reads `KEY=NAMESPACE` entries from `text`; raises KeyFileError naming the entry
        of `source` at fault."""
        keys: list[ApiKey] = []
        for number, entry in _entries(text):
            where = f"{source}, entry {number}"
            key, equals, namespace = entry.rpartition("=")
            key, namespace = key.strip(), namespace.strip()
            if not equals or not key:
                raise KeyFileError(f"{where}: expected KEY=NAMESPACE")
            if not is_namespace(namespace):
                raise KeyFileError(
                    f"{where}: namespace {namespace!r} is not a DNS-1123 label "
                    "(lowercase letters, digits and '-', at most 63 characters)"
                )
            digest = _digest_of(key, where)
            if any(hmac.compare_digest(digest, known.digest) for known in keys):
                raise KeyFileError(f"{where}: the same key appears earlier")
            keys.append(ApiKey(digest=digest, namespace=namespace))
        return cls(tuple(keys))

    def __add__(self, other: ApiKeys) -> ApiKeys:
        for key in other._keys:
            if any(hmac.compare_digest(key.digest, known.digest) for known in self._keys):
                raise KeyFileError(f"the key of {key.subject} is configured twice")
        return ApiKeys(self._keys + other._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def namespaces(self) -> frozenset[str]:
        """Answers every namespace some key reaches."""
        return frozenset(key.namespace for key in self._keys)

    def caller_for(self, presented: str) -> Caller | None:
        """Answers the caller a presented key proves, or None for an unknown key.

        Every stored digest is compared, whatever matched first, so the time taken does not
        tell which key (or how much of one) was right.
        """
        digest = hashlib.sha256(presented.encode()).digest()
        found: ApiKey | None = None
        for key in self._keys:
            if hmac.compare_digest(digest, key.digest) and found is None:
                found = key
        if found is None:
            return None
        return Caller(subject=found.subject, namespace=found.namespace)


def hashed(key: str) -> str:
    """Answers the `sha256:HEX` form of a key, for a key file that holds no keys."""
    return HASHED_PREFIX + hashlib.sha256(key.encode()).hexdigest()


def _entries(text: str) -> Iterator[tuple[int, str]]:
    number = 0
    for line in text.splitlines():
        for entry in line.split("#", 1)[0].split(","):
            if entry.strip():
                number += 1
                yield number, entry.strip()


def _digest_of(key: str, where: str) -> bytes:
    if not key.startswith(HASHED_PREFIX):
        return hashlib.sha256(key.encode()).digest()
    hex_digest = key.removeprefix(HASHED_PREFIX)
    if not _HEX_DIGEST.fullmatch(hex_digest):
        raise KeyFileError(f"{where}: a sha256: key must be followed by 64 hex digits")
    return bytes.fromhex(hex_digest)
