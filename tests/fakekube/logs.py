"""Container logs of the fake's pods, read the way the kubelet serves pods/log."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tests.fakekube.routes import TRUE, integer_param
from tests.fakekube.validation import FieldErrors

LogKey = tuple[str, str, str]
"""(namespace, pod, container)"""


@dataclass(frozen=True)
class LogLine:
    time: datetime
    text: str

    def render(self, *, timestamps: bool) -> str:
        if not timestamps:
            return self.text
        # The kubelet prefixes lines with RFC 3339 time at a fixed nine-digit precision.
        stamp = self.time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"
        return f"{stamp} {self.text}"


@dataclass(frozen=True)
class LogQuery:
    """The pods/log query parameters that choose which lines to answer."""

    tail_lines: int | None = None
    since: datetime | None = None
    timestamps: bool = False
    limit_bytes: int | None = None


class ContainerLogs:
    """Every line each container has written, and the containers that have finished."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self._lines: dict[LogKey, list[LogLine]] = {}
        self._ended: set[LogKey] = set()
        self._closing = False

    def append(self, key: LogKey, text: str, at: datetime | None = None) -> None:
        with self.changed:
            lines = self._lines.setdefault(key, [])
            when = at or datetime.now(UTC)
            if lines and when < lines[-1].time:
                when = lines[-1].time
            for part in text.splitlines() or [""]:
                lines.append(LogLine(when, part))
            self.changed.notify_all()

    def end(self, key: LogKey) -> None:
        """Marks the container as finished: followers get what is left, then the end."""
        with self.changed:
            self._ended.add(key)
            self.changed.notify_all()

    def forget(self, namespace: str, pod: str) -> None:
        with self.changed:
            for key in [k for k in self._lines if k[:2] == (namespace, pod)]:
                self._ended.add(key)
            self.changed.notify_all()

    def close(self) -> None:
        """Ends every follow, as a stopping server does."""
        with self.changed:
            self._closing = True
            self.changed.notify_all()

    def open(self) -> None:
        with self.changed:
            self._closing = False

    def read(self, key: LogKey, query: LogQuery) -> tuple[list[str], int]:
        """Answers the rendered lines chosen by `query`, and where a follow resumes."""
        with self.changed:
            lines = list(self._lines.get(key, []))
        chosen = [line for line in lines if query.since is None or line.time >= query.since]
        if query.tail_lines is not None:
            chosen = chosen[len(chosen) - query.tail_lines :] if query.tail_lines else []
        return [line.render(timestamps=query.timestamps) for line in chosen], len(lines)

    def follow(
        self, key: LogKey, start: int, *, timestamps: bool, still_wanted: Callable[[], bool]
    ) -> Iterator[str]:
        """Yields lines appended from index `start` on, until the container ends."""
        position = start
        while True:
            with self.changed:
                while (
                    len(self._lines.get(key, [])) <= position
                    and key not in self._ended
                    and not self._closing
                    and still_wanted()
                ):
                    self.changed.wait(0.25)
                fresh = self._lines.get(key, [])[position:]
                finished = key in self._ended or self._closing or not still_wanted()
            for line in fresh:
                yield line.render(timestamps=timestamps)
            position += len(fresh)
            if finished and not fresh:
                return


def since_seconds(seconds: int) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)


def parse_log_query(query: Mapping[str, str]) -> LogQuery:
    errors = FieldErrors()
    tail = integer_param(query, "tailLines")
    if tail is not None and tail < 0:
        errors.invalid("tailLines", tail, "must be greater than or equal to 0")
    seconds = integer_param(query, "sinceSeconds")
    if seconds is not None and seconds < 1:
        errors.invalid("sinceSeconds", seconds, "must be greater than 0")
    limit = integer_param(query, "limitBytes")
    if limit is not None and limit < 1:
        errors.invalid("limitBytes", limit, "must be greater than 0")
    since: datetime | None = None
    if query.get("sinceTime"):
        try:
            since = datetime.fromisoformat(query["sinceTime"].replace("Z", "+00:00"))
        except ValueError:
            errors.invalid("sinceTime", query["sinceTime"], "must be an RFC 3339 time")
    if seconds is not None and since is not None:
        errors.forbidden("", "at most one of `sinceTime` or `sinceSeconds` may be specified")
    error = errors.as_error(kind="PodLogOptions", group="", name="")
    if error is not None:
        raise error
    if seconds is not None:
        since = since_seconds(seconds)
    return LogQuery(
        tail_lines=tail,
        since=since,
        timestamps=query.get("timestamps") in TRUE,
        limit_bytes=limit,
    )
