"""How the server's log lines look: one line per event, each with a time and a level.

Two formats: text for people ('time level logger message'), and JSON for log collectors (one
object per line). Lines written while a call is served carry that call's request id, the
`x-request-id` Envoy sets (or one made up for a call that came without), so every line about
one REST call can be found from the id Envoy logged.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import logging.handlers
import queue
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime

_request_id: ContextVar[str] = ContextVar("fnplane_request_id", default="")

# Attributes every LogRecord has; anything else on a record came from `extra=` and is a field.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id"}


@contextlib.contextmanager
def request_id(value: str) -> Iterator[None]:
    """Tags the log lines written inside the block with the request id `value`."""
    token = _request_id.set(value)
    try:
        yield
    finally:
        _request_id.reset(token)


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


def configure(level: str, *, log_format: str = "text") -> None:
    """Sends log lines to stderr at `level` and above, as text or as JSON objects.

    A call's thread only queues its line; one thread formats and writes them all, so a slow
    or contended stderr never holds up a call. Lines still queued are written at exit.
    """
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handoff = _Handoff(queue.SimpleQueue())
    # The request id lives in the calling thread's context, so it is read before the handoff.
    handoff.addFilter(_RequestIdFilter())
    writer = logging.handlers.QueueListener(handoff.queue, handler)
    writer.start()
    atexit.register(writer.stop)
    logging.basicConfig(level=level.upper(), handlers=[handoff], force=True)
