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
import queue
import sys
import threading
import time
import traceback
from collections.abc import Mapping
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


class TextFormatter(logging.Formatter):
    """'time level logger message', then request_id=... when the line is about a call, then
    the traceback, if any, on the lines below."""

    def __init__(self) -> None:
        super().__init__(datefmt="%Y-%m-%dT%H:%M:%S%z")
        self._last_time: tuple[int, str] = (-1, "")

    def format(self, record: logging.LogRecord) -> str:
        # Written out rather than left to logging.Formatter's template: every call logs a
        # line, and the template's generic steps were a third of a line's cost.
        message = record.getMessage()
        request = getattr(record, "request_id", "")
        if request:
            first, newline, rest = message.partition("\n")
            message = f"{first} request_id={request}{newline}{rest}"
        line = f"{self._time(record.created)} {record.levelname} {record.name} {message}"

        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line = f"{line}\n{record.exc_text}"
        if record.stack_info:
            line = f"{line}\n{self.formatStack(record.stack_info)}"
        return line

    def _time(self, created: float) -> str:
        # Times are shown to the second and lines come many to a second, so each second is
        # formatted once (one tuple, so that threads sharing the formatter never mix two).
        second = int(created)
        last = self._last_time
        if last[0] == second:
            return last[1]
        shown = time.strftime(self.datefmt or "", self.converter(second))
        self._last_time = (second, shown)
        return shown


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the request id, the fields of
    the line (the names of a message's named arguments, and any given with `extra=`), and
    the traceback (as one string) when there is one."""

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
        if isinstance(record.args, Mapping):
            for key, value in record.args.items():
                entry.setdefault(str(key), value)
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class _Handoff(logging.Handler):
    """Formats each record in the thread that logged it and queues the finished line.

    The record is formatted while it is fresh and let go at once; only a short string waits
    for the writer. (Queuing records for the writer to format kept hundreds alive at a time.
    Counted with callgrind, an access line took about 65,000 instructions that way, against
    42,000 with this handoff and the hand-written text format.)
    """

    def __init__(self, lines: queue.SimpleQueue[str | None], formatter: logging.Formatter) -> None:
        super().__init__()
        self._lines = lines
        self.setFormatter(formatter)

    def handle(self, record: logging.LogRecord) -> bool:
        # The queue takes lines from many threads without a lock of the handler's own.
        if not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        record.request_id = _request_id.get()
        try:
            self._lines.put(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


class _Writer:
    """The one thread that writes the queued lines to a stream, a batch at a time.

    After each write it pauses `pause` seconds, so that under load it wakes once per batch
    rather than once per line: waking per line made it fight the calls' threads for the
    interpreter lock (side by side, batching took a Get's server CPU from 0.415 to 0.379 ms).
    When the server is quiet, a line is written as soon as it is queued.
    """

    def __init__(
        self, source: queue.SimpleQueue[str | None], stream: TextIO, *, pause: float
    ) -> None:
        self._source = source
        self._stream = stream
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
            self._write("".join(line for line in batch if line is not None))
            if not stopping:
                time.sleep(self._pause)

    def _write(self, text: str) -> None:
        if not text:
            return
        try:
            self._stream.write(text)
            self._stream.flush()
        except Exception:
            # A stream that fails loses these lines but never stops the server, as with any
            # logging handler; the failure goes where Python reports errors of last resort.
            with contextlib.suppress(Exception):
                traceback.print_exc(file=sys.__stderr__)


def configure(level: str, *, log_format: str = "text") -> None:
    """Sends log lines to stderr at `level` and above, as text or as JSON objects.

    A call's thread formats its line and queues it; one thread writes them all, in batches,
    so a slow or contended stderr never holds up a call. Lines still queued are written at
    exit.
    """
    # No line shows where in the source it was logged from, nor the thread or process: not
    # collecting those is the logging module's documented way to make records cheaper.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False

    formatter = JsonFormatter() if log_format == "json" else TextFormatter()
    # None, queued last, tells the writer to stop.
    lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
    handoff = _Handoff(lines, formatter)
    writer = _Writer(lines, sys.stderr, pause=WRITE_PAUSE)
    writer.start()
    atexit.register(writer.stop)
    logging.basicConfig(level=level.upper(), handlers=[handoff], force=True)
