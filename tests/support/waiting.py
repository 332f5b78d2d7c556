"""Free ports and waiting for a condition, never a bare sleep."""

from __future__ import annotations

import os
import select
import socket
import time
from collections.abc import Callable
from typing import TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

T = TypeVar("T")


def free_port() -> int:
    """Answers a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(
    condition: Callable[[], T | bool | None],
    *,
    timeout: float = 15.0,
    interval: float = 0.02,
    what: str = "condition",
) -> T:
    """Polls `condition` until it answers something truthy, and answers that.

    Exceptions count as "not yet"; the last one is chained to the timeout error.
    """
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = condition()
        except Exception as error:  # any failure means "not ready yet"
            last = error
        else:
            if result:
                return result  # type: ignore[return-value]
        time.sleep(interval)
    raise TimeoutError(f"{what} did not hold within {timeout}s") from last


def port_answers(port: int, host: str = "127.0.0.1") -> bool:
    """Answers whether something accepts TCP connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def serving(target: str) -> bool:
    """Answers whether the gRPC server at `target` (host:port) says it serves."""
    with grpc.insecure_channel(target) as channel:
        try:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=1
            )
        except grpc.RpcError:
            return False
    return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)


def read_until_closed(fd: int, *, timeout: float = 60.0, what: str = "the pipe") -> bytes:
    """Answers everything written to the pipe `fd` until every writer has closed it."""
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        readable, _, _ = select.select([fd], [], [], max(left, 0))
        if not readable:
            raise TimeoutError(f"{what} was not closed within {timeout}s")
        chunk = os.read(fd, 64)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
