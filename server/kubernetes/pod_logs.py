"""A function's log lines, read from its pods through the API server's pods/log.

Each pod's log is asked for with timestamps, so every line carries the time the container
wrote it. Without follow the lines of all pods come at once, merged in time order. With
follow each pod's log is streamed by a thread of its own and lines come as they are written;
the stream ends when every pod's container has ended or when it is closed. Pods that start
after the stream opened (a scale-up, a rollout) are not followed: asking again includes them.
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

from kubernetes.watch.watch import iter_resp_lines
from urllib3 import HTTPResponse

from fnplane.server.domain import LogLine, LogQuery
from fnplane.server.errors import InvalidArgument
from fnplane.server.kubernetes.cluster import Cluster
from fnplane.server.kubernetes.objects import CONTAINER

log = logging.getLogger("fnplane.server.kubernetes")


def parse_line(pod: str, raw: str) -> LogLine:
    """Answers the log line a timestamped pods/log line stands for."""
    stamp, _, text = raw.partition(" ")
    try:
        time = datetime.fromisoformat(stamp)
    except ValueError:
        # Not a timestamp after all (a line the kubelet could not stamp): keep all of it.
        return LogLine(pod=pod, time=datetime.now(UTC), text=raw)
    return LogLine(pod=pod, time=time, text=text)


class PodLogs:
    """The log lines of some pods, as one stream; close() may be called from any thread."""

    def __init__(self, cluster: Cluster, namespace: str, pods: list[str], query: LogQuery) -> None:
        self._cluster = cluster
        self._namespace = namespace
        self._query = query
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._responses: list[HTTPResponse] = []
        self._lines: queue.Queue[LogLine | None] = queue.Queue()
        self._open = 0
        if query.follow:
            # Opened here rather than when read, so a refusal reaches the caller as an error
            # before any line.
            for pod in pods:
                try:
                    self._follow(pod, self._read(pod, follow=True))
                except _NoLog:
                    continue
            self._ready: Iterator[LogLine] = iter(())
        else:
            lines = [line for pod in pods for line in self._whole(pod)]
            self._ready = iter(sorted(lines, key=lambda line: line.time))

    def __iter__(self) -> Iterator[LogLine]:
        yield from self._ready
        while self._open and not self._closed.is_set():
            line = self._lines.get()
            if line is None:
                self._open -= 1
            elif not self._closed.is_set():
                yield line

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            # Under the lock, so no response is shut down after its connection went back to
            # the pool (where another request may be using it).
            for response in self._responses:
                # Interrupts the reading thread's blocked read at once. A response read to
                # its end has closed its socket already (ValueError), and one whose socket is
                # closed while this runs answers EBADF (OSError): either is closed enough.
                with contextlib.suppress(ValueError, OSError):
                    response.shutdown()
        self._lines.put(None)

    def _read(self, pod: str, *, follow: bool) -> HTTPResponse:
        since = self._query.since
        since_seconds = None
        if since is not None:
            elapsed = (datetime.now(UTC) - since).total_seconds()
            since_seconds = max(1, math.ceil(elapsed))
        try:
            return self._cluster.pod_log(
                self._namespace,
                pod,
                container=CONTAINER,
                follow=follow,
                tail_lines=self._query.tail_lines,
                since_seconds=since_seconds,
            )
        except InvalidArgument as error:
            # The API server answers 400 for a container that has not started yet: such a
            # pod has written nothing.
            log.debug("no log of pod %s/%s yet: %s", self._namespace, pod, error)
            raise _NoLog from None

    def _wanted(self, line: LogLine) -> bool:
        return self._query.since is None or line.time >= self._query.since

    def _whole(self, pod: str) -> list[LogLine]:
        try:
            response = self._read(pod, follow=False)
        except _NoLog:
            return []
        try:
            lines = [parse_line(pod, raw) for raw in iter_resp_lines(response) if raw]
        finally:
            response.release_conn()
        return [line for line in lines if self._wanted(line)]

    def _follow(self, pod: str, opened: HTTPResponse) -> None:
        with self._lock:
            self._responses.append(opened)
        self._open += 1
        threading.Thread(
            target=self._stream, args=(pod, opened), name=f"log-{pod}", daemon=True
        ).start()

    def _stream(self, pod: str, response: HTTPResponse) -> None:
        try:
            for raw in iter_resp_lines(response):
                if raw:
                    line = parse_line(pod, raw)
                    if self._wanted(line):
                        self._lines.put(line)
        except Exception as error:  # a cut stream ends this pod's lines, not the others'
            if not self._closed.is_set():
                log.info("log of pod %s/%s ended early: %s", self._namespace, pod, error)
        finally:
            with self._lock:
                self._responses.remove(response)
            response.release_conn()
            self._lines.put(None)


class _NoLog(Exception):
    """The pod has no log to read yet."""
