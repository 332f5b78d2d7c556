"""Child processes started by tests: logs captured to a file, always stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType


class Child:
    """A process a test started, with its combined output in a log file.

    Use it as a context manager: leaving the block stops the process (SIGTERM, then SIGKILL
    after a grace period), whatever happened inside.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        log: Path,
        env: dict[str, str] | None = None,
        pass_fds: Sequence[int] = (),
    ) -> None:
        self.argv = list(argv)
        self.log_path = log
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            self.argv,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            start_new_session=True,
            pass_fds=tuple(pass_fds),
        )

    def output(self) -> str:
        """Answers everything the process has printed so far."""
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def signal(self, signum: int) -> None:
        if self.alive():
            self.process.send_signal(signum)

    def stop(self, grace: float = 10.0) -> int:
        """Stops the process and anything it started in its session; answers its exit code."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()
        return self.process.returncode

    def __enter__(self) -> Child:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


def fnplane_argv(*args: str) -> list[str]:
    """Answers the command line that runs `fnplane ARGS` with this interpreter."""
    return [str(Path(sys.executable).parent / "fnplane"), *args]


def printed_by_fresh_python(program: str) -> list[str]:
    """Runs `program` in a new Python interpreter and answers the words it printed.

    For what depends on a process's whole life, such as which modules a start has loaded.
    """
    done = subprocess.run(
        [sys.executable, "-c", program], check=True, capture_output=True, text=True, timeout=60
    )
    return done.stdout.split()
