"""Telling a supervisor that a process is ready: one line on a file descriptor it handed over.

A supervisor (systemd, s6, a test harness, or `fnplane up` itself) passes the write end of a
pipe and reads `READY` from the other end the moment the process serves. That is sooner and
cheaper than polling its ports, and a process that dies while starting closes the pipe, which
the supervisor sees at once.
"""

from __future__ import annotations

import fcntl
import os

from fnplane.server.config import flag

LINE = b"READY\n"
NONE = 0
"""The descriptor setting that means no supervisor is waiting to be told."""


class UnusableDescriptor(Exception):
    """The descriptor given for telling readiness cannot be written to; the message says why."""


def check(fd: int) -> None:
    """Raises UnusableDescriptor unless `fd` is NONE or a descriptor open for writing."""
    if fd == NONE:
        return
    given = f"{flag('ready_fd')} {fd}"
    try:
        access = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE
    except OSError:
        raise UnusableDescriptor(f"{given} is not an open file descriptor") from None
    if access not in (os.O_WRONLY, os.O_RDWR):
        raise UnusableDescriptor(f"{given} is not open for writing")


def tell(fd: int) -> None:
    """Writes the ready line to `fd` and closes it; does nothing for NONE.

    A supervisor that has gone away (the pipe's reader closed) is no reason to stop serving.
    """
    if fd == NONE:
        return
    try:
        os.write(fd, LINE)
    except BrokenPipeError:
        pass
    finally:
        os.close(fd)
