"""The server's log lines are written by a thread of their own: none may be lost or reordered,
even when many threads log at once and the process exits right after."""

from __future__ import annotations

import subprocess
import sys
import textwrap

THREADS, LINES = 8, 2_000

_PROGRAM = textwrap.dedent(
    f"""
    import logging, threading
    from fnplane.server import logs

    logs.configure("info", log_format="text")
    log = logging.getLogger("fnplane.test")

    def talk(thread):
        for line in range({LINES}):
            log.info("thread=%d line=%d", thread, line)

    threads = [threading.Thread(target=talk, args=(n,)) for n in range({THREADS})]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.warning("last words")
    """
)


def test_every_line_logged_before_exit_is_written_in_each_threads_order() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROGRAM], check=False, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]

    lines = done.stderr.splitlines()
    assert lines[-1].endswith("WARNING fnplane.test last words")
    seen: dict[int, list[int]] = {thread: [] for thread in range(THREADS)}
    for line in lines[:-1]:
        thread, number = line.rsplit(" ", 2)[-2:]
        seen[int(thread.removeprefix("thread="))].append(int(number.removeprefix("line=")))
    assert all(numbers == list(range(LINES)) for numbers in seen.values())
