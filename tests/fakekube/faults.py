"""Faults the fake can inject, so reliability tests meet a misbehaving API server on demand."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from tests.fakekube.statuses import ApiError


@dataclass
class Fault:
    """One rule: which requests it applies to, how many more times, and what it does."""

    verb: str | None
    resource: str | None
    remaining: int | None
    """How many more matching requests it applies to; None for every one until cleared."""
    delay: float = 0.0
    error: ApiError | None = None
    disconnect: bool = False
    after_write: bool = False

    def applies_to(self, verb: str, resource: str) -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.verb is not None and self.verb != verb:
            return False
        return self.resource is None or self.resource == resource


@dataclass(frozen=True)
class Outcome:
    """What the faults decided for one request."""

    delay: float = 0.0
    error: ApiError | None = None
    disconnect: bool = False
    after_write: bool = False


class Faults:
    """The injected faults of one fake API server.

    `verb` is a Kubernetes verb (get, list, watch, create, update, patch, delete) and
    `resource` a resource as RBAC names it (deployments, deployments/status, pods/log); leaving
    either out matches every request.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Fault] = []

    def fail_next(
        self,
        count: int = 1,
        *,
        verb: str | None = None,
        resource: str | None = None,
        code: int = 500,
        reason: str = "InternalError",
        message: str = "Internal error occurred: injected by the test",
        after_write: bool = False,
        disconnect: bool = False,
        retry_after: int | None = None,
    ) -> None:
        """Answers the next `count` matching requests with a `code` Status.

        `retry_after` adds the Retry-After header the API server sends with 429 answers.

        With `after_write` the request is carried out first, so the client sees a failure for a
        write that happened (an API server dying mid-request). With `disconnect` the connection
        is closed without any answer instead of sending the Status.
        """
        error = ApiError(code, reason, message, retry_after=retry_after)
        self._add(
            Fault(
                verb, resource, count, error=error, disconnect=disconnect, after_write=after_write
            )
        )

    def delay(
        self,
        seconds: float,
        *,
        verb: str | None = None,
        resource: str | None = None,
        count: int | None = None,
    ) -> None:
        """Holds matching requests for `seconds` before answering them (all, or `count`)."""
        self._add(Fault(verb, resource, count, delay=seconds))

    def forbid(self, *, verb: str | None = None, resource: str | None = None) -> None:
        """Answers matching requests 403 Forbidden, as RBAC does, until cleared."""
        self._add(Fault(verb, resource, None, error=ApiError(403, "Forbidden", "")))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def _add(self, fault: Fault) -> None:
        with self._lock:
            self._rules.append(fault)

    def decide(self, verb: str, resource: str) -> Outcome:
        """Consumes the rules that apply to one request and answers what to do with it.

        Delays add up; of the rules that fail a request, the oldest applies and the others
        keep their count for later requests.
        """
        delay, failing = 0.0, None
        with self._lock:
            for rule in self._rules:
                if not rule.applies_to(verb, resource):
                    continue
                used = False
                if rule.delay:
                    delay, used = delay + rule.delay, True
                if (rule.error is not None or rule.disconnect) and failing is None:
                    failing, used = rule, True
                if used and rule.remaining is not None:
                    rule.remaining -= 1
            self._rules = [r for r in self._rules if r.remaining is None or r.remaining > 0]
        if failing is None:
            return Outcome(delay=delay)
        return Outcome(delay, failing.error, failing.disconnect, failing.after_write)
