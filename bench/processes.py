"""What the kernel knows about a process: CPU time used, peak memory, its children."""

from __future__ import annotations

import os
import time
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """Answers the user and system CPU time process `pid` has used so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name may hold spaces; the fields after its closing parenthesis do not.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def peak_rss_mb(pid: int) -> float:
    """Answers the most resident memory process `pid` has held so far (VmHWM), in MiB."""
    return _status_kib(pid, "VmHWM") / 1024


def rss_mb(pid: int) -> float:
    """Answers the resident memory of process `pid` now (VmRSS), in MiB."""
    return _status_kib(pid, "VmRSS") / 1024


def children(pid: int) -> list[int]:
    """Answers the ids of the direct children of process `pid`."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(child) for child in text)
    return found


def command_line(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_text().rstrip("\0").split("\0")


def _status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise LookupError(f"/proc/{pid}/status has no {key}")


def settle(
    pids: list[int], *, busy: float = 0.1, window: float = 0.2, timeout: float = 60
) -> None:
    """Waits until processes `pids` together use less than `busy` of a core over `window`
    seconds: work left over from the previous load (a cancelled call still being computed)
    must not be billed to the next one. Gives up quietly after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = sum(cpu_seconds(pid) for pid in pids)
        time.sleep(window)
        if sum(cpu_seconds(pid) for pid in pids) - before < busy * window:
            return
