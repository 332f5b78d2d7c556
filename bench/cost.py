"""What one List costs on its own: calls made one after another, with nothing else in flight.

gRPC calls are made from this process; REST calls by wrk on a single keep-alive connection,
so that neither pays for opening a connection per call.

Under saturating load, a large list's CPU time per call is blurred by the calls still in
flight when the clock stops. One call at a time gives each process's CPU per call exactly,
and the latency of a lone call, which is what the List targets compare.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import grpc

from bench import rest_load
from bench.grpc_load import CHANNEL_OPTIONS
from bench.processes import cpu_seconds
from fnplane.v1 import functions_pb2 as pb
from fnplane.v1 import functions_pb2_grpc


def sequential(
    make_call: Callable[[], bool], *, watch: dict[str, int], seconds: float, least: int = 3
) -> dict[str, Any]:
    """Calls `make_call` one at a time for `seconds` (and at least `least` times); answers
    the median latency and each watched process's CPU per call, in milliseconds."""
    make_call()  # the first call may set up connections
    before = {name: cpu_seconds(pid) for name, pid in watch.items()}
    latencies: list[float] = []
    failed = 0
    deadline = time.perf_counter() + seconds
    while len(latencies) + failed < least or time.perf_counter() < deadline:
        began = time.perf_counter()
        if make_call():
            latencies.append((time.perf_counter() - began) * 1000)
        else:
            failed += 1
    after = {name: cpu_seconds(pid) for name, pid in watch.items()}
    made = len(latencies) + failed
    return {
        "calls": len(latencies),
        "errors": failed,
        "p50_ms": round(statistics.median(latencies), 3) if latencies else None,
        "cpu_ms": {name: round((after[name] - before[name]) * 1000 / made, 3) for name in before},
    }


def grpc_list(target: str, token: str) -> Callable[[], bool]:
    """Answers a function that lists the token's namespace over gRPC, answering success."""
    channel = grpc.insecure_channel(target, options=CHANNEL_OPTIONS)
    stub = functions_pb2_grpc.FunctionServiceStub(channel)
    metadata = (("authorization", f"Bearer {token}"),)

    def make_call() -> bool:
        try:
            stub.ListFunctions(pb.ListFunctionsRequest(), metadata=metadata, timeout=60)
        except grpc.RpcError:
            return False
        return True

    return make_call


def rest_alone(url: str, token: str, *, watch: dict[str, int], seconds: float) -> dict[str, Any]:
    """Lists over REST with one keep-alive connection (wrk, one call at a time); answers the
    same figures as `sequential`."""
    load = rest_load.drive(
        "alone", url, seconds=seconds, connections=1, threads=1, token=token, watch=watch
    )
    return {
        "calls": load.calls,
        "errors": load.errors,
        "p50_ms": load.p50_ms if load.calls else None,
        "cpu_ms": load.cpu_ms,
    }
