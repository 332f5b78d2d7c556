"""What one log line holds in each format: the request id, a message's named arguments as
JSON fields, and a traceback kept with the line it belongs to."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

_PROGRAM = textwrap.dedent(
    """
    import logging, sys
    from fnplane.server import logs

    logs.configure("info", log_format=sys.argv[1])
    log = logging.getLogger("fnplane.test")

    tag = logs.tag_request("req-7")
    log.info("%(method)s took %(duration_ms).1fms", {"method": "/a.B/C", "duration_ms": 1.5})
    try:
        {}["missing"]
    except KeyError:
        log.exception("lookup failed\\nsecond line of the message")
    logs.untag_request(tag)
    log.warning("outside any call")
    """
)


def _lines(log_format: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROGRAM, log_format],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stderr.splitlines()


def test_text_lines_carry_the_request_id_on_their_first_line_and_the_traceback_below() -> None:
    lines = _lines("text")

    assert lines[0].endswith("INFO fnplane.test /a.B/C took 1.5ms request_id=req-7")
    assert lines[1].endswith("ERROR fnplane.test lookup failed request_id=req-7"), (
        "the id stays on the line a reader searches"
    )
    assert lines[2] == "second line of the message"
    assert lines[3] == "Traceback (most recent call last):"
    assert lines[-2] == "KeyError: 'missing'"
    assert lines[-1].endswith("WARNING fnplane.test outside any call")
    assert "request_id" not in lines[-1]


def test_json_lines_hold_the_named_arguments_as_fields_and_the_traceback_as_one() -> None:
    timed, failed, outside = (json.loads(line) for line in _lines("json"))

    assert timed["message"] == "/a.B/C took 1.5ms"
    assert (timed["method"], timed["duration_ms"], timed["request_id"]) == ("/a.B/C", 1.5, "req-7")
    assert failed["level"] == "ERROR" and failed["request_id"] == "req-7"
    assert failed["traceback"].startswith("Traceback (most recent call last):")
    assert failed["traceback"].endswith("KeyError: 'missing'")
    assert "request_id" not in outside
