"""How the server's log lines look: one line per event, each with a time and a level.

Two formats: text for people ('time level logger message'), and JSON for log collectors (one
object per line). Lines written while a call is served carry that call's request id, the
`x-request-id` Envoy sets (or one made up for a call that came without), so every line about
one REST call can be found from the id Envoy logged.
"""

from __future__ import annotations

import atexit
import json
import logging
import logging.handlers
import queue
import threading
import time
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import TextIO

WRITE_PAUSE = 0.02
"""Seconds the writing thread rests after a write: how late a line may appear under load."""

_request_id: ContextVar[str] = ContextVar("fnplane_request_id", default="")

# Attributes every LogRecord has; anything else on a record came from `extra=` and is a field.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id"}


def tag_request(value: str) -> Token[str]:
    """Tags the log lines written from here on in this context with the request id `value`;
    answers what `untag_request` needs to end it."""
    return _request_id.set(value)


def untag_request(tag: Token[str]) -> None:
    """Ends the request id a `tag_request` began."""
    _request_id.reset(tag)


def current_request_id() -> str:
    """Answers the request id of the call being served, "" outside any call."""
    return _request_id.get()


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


class TextFormatter(logging.Formatter):
    """'time level logger message', then request_id=... when the line is about a call."""

    def __init__(self) -> None:
        super().__init__(
            fmt="%(asctime)s %(levelname)s %(name)s %(message)s", datefmt="%Y-%m-%dT%H:%M:%S%z"
        )
        self._last_time: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        # Times are shown to the second and lines come many to a second, so each second is
        # formatted once (one tuple, so that threads sharing the formatter never mix two).
        second = int(record.created)
        last = self._last_time
        if last[0] == second:
            return last[1]
        shown = super().formatTime(record, datefmt)
        self._last_time = (second, shown)
        return shown

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request = getattr(record, "request_id", "")
        if not request:
            return line
        first, newline, rest = line.partition("\n")
        return f"{first} request_id={request}{newline}{rest}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the request id, any fields
    given with `extra=`, and the traceback (as one string) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request = getattr(record, "request_id", "")
        if request:
            entry["request_id"] = request
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class _Handoff(logging.handlers.QueueHandler):
    """Hands records to the writing thread whole: the queue never leaves the process, so
    nothing needs flattening, and formatting happens off the calling thread too."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record


class _Writer:
    """The one thread that formats queued records and writes them, a batch at a time.

    After each write it pauses `pause` seconds, so that under load it wakes once per batch
    rather than once per record: waking per record made it fight the calls' threads for the
    interpreter lock (side by side, batching took a Get's server CPU from 0.415 to 0.379 ms).
    When the server is quiet, a line is written as soon as it is queued.
    """

    def __init__(
        self,
        source: queue.SimpleQueue[logging.LogRecord | None],
        handler: logging.StreamHandler[TextIO],
        *,
        pause: float,
    ) -> None:
        self._source = source
        self._handler = handler
        self._pause = pause
        self._thread = threading.Thread(target=self._run, name="log-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Writes what is still queued, then ends the thread."""
        self._source.put(None)
        self._thread.join()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch = [self._source.get()]
            while True:
                try:
                    batch.append(self._source.get_nowait())
                except queue.Empty:
                    break
            stopping = None in batch
            self._write([record for record in batch if record is not None])
            if not stopping:
                time.sleep(self._pause)

    def _write(self, records: list[logging.LogRecord]) -> None:
        lines = []
        for record in records:
            try:
                lines.append(self._handler.format(record) + "\n")
            except Exception:
                self._handler.handleError(record)
        if not lines:
            return
        try:
            self._handler.stream.write("".join(lines))
            self._handler.flush()
        except Exception:
            # As a logging handler does: a stream that fails is reported, and the server goes on.
            self._handler.handleError(records[-1])


def configure(level: str, *, log_format: str = "text") -> None:
    """Sends log lines to stderr at `level` and above, as text or as JSON objects.

    A call's thread only queues its line; one thread formats and writes them all, in batches,
    so a slow or contended stderr never holds up a call. Lines still queued are written at
    exit.
    """
    # No line shows where in the source it was logged from, nor the thread or process: not
    # collecting those is the logging module's documented way to make records cheaper.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False

    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    # None, queued last, tells the writer to stop.
    records: queue.SimpleQueue[logging.LogRecord | None] = queue.SimpleQueue()
    handoff = _Handoff(records)
    # The request id lives in the calling thread's context, so it is read before the handoff.
    handoff.addFilter(_RequestIdFilter())
    writer = _Writer(records, handler, pause=WRITE_PAUSE)
    writer.start()
    atexit.register(writer.stop)
    logging.basicConfig(level=level.upper(), handlers=[handoff], force=True)
