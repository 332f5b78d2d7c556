"""A gRPC load generator: several client processes, each with several threads in a closed loop.

On a 2-core machine one Python client process cannot keep a server busy, so the calls come
from several processes (started with `spawn`, so no gRPC state is shared through `fork`).
Each thread makes one call at a time; the number of calls in flight is processes x threads.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.synchronize import Barrier
from queue import Empty
from typing import Any

import grpc

from bench.ceiling import METHOD
from bench.measures import Load, percentile
from bench.processes import cpu_seconds
from fnplane.v1 import functions_pb2 as pb

CHANNEL_OPTIONS = [("grpc.max_receive_message_length", -1)]


@dataclass(frozen=True, kw_only=True)
class Call:
    """One kind of call to drive: `kind` is ceiling, create, get or list."""

    kind: str
    target: str
    token: str = ""
    name: str = ""
    """The function a get asks for, or the name prefix a create makes new names from."""


def drive(
    label: str,
    call: Call,
    *,
    seconds: float,
    processes: int,
    threads: int,
    watch: dict[str, int] | None = None,
) -> Load:
    """Drives `call` from `processes` x `threads` callers for `seconds`; answers what it
    measured, with the CPU time per call of each process in `watch` (name -> pid)."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes + 1)
    results = context.Queue()
    workers = [
        context.Process(
            target=_worker,
            args=(_Share(call, index, threads, seconds), barrier, results),
            daemon=True,
        )
        for index in range(processes)
    ]
    for worker in workers:
        worker.start()
    try:
        barrier.wait(timeout=60)
        cpu_before = {name: cpu_seconds(pid) for name, pid in (watch or {}).items()}
        outcomes = [results.get(timeout=seconds + 120) for _ in workers]
        cpu_after = {name: cpu_seconds(pid) for name, pid in (watch or {}).items()}
    except (Empty, threading.BrokenBarrierError) as error:
        raise RuntimeError(f"the {label} load generator did not finish") from error
    finally:
        for worker in workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.kill()

    latencies = sorted(value for outcome in outcomes for value in outcome[0])
    errors = sum(outcome[1] for outcome in outcomes)
    elapsed = max(outcome[2] for outcome in outcomes)
    client_cpu = sum(outcome[3] for outcome in outcomes)
    calls = len(latencies)
    return Load(
        name=label,
        calls=calls,
        errors=errors,
        seconds=round(elapsed, 3),
        p50_ms=round(percentile(latencies, 0.50), 3),
        p99_ms=round(percentile(latencies, 0.99), 3),
        concurrency=processes * threads,
        cpu_ms={
            **{
                name: round(
                    (cpu_after[name] - cpu_before[name]) * 1000 / max(calls + errors, 1), 4
                )
                for name in cpu_before
            },
            # The callers share the machine's cores with the server, so what a call costs
            # them is taken from the server's throughput too.
            "clients": round(client_cpu * 1000 / max(calls + errors, 1), 4),
        },
    )


@dataclass(frozen=True)
class _Share:
    """One client process's part of a load."""

    call: Call
    index: int
    threads: int
    seconds: float


def _worker(share: _Share, barrier: Barrier, results: Any) -> None:
    call, index, threads, seconds = share.call, share.index, share.threads, share.seconds
    with grpc.insecure_channel(call.target, options=CHANNEL_OPTIONS) as channel:
        invokers = [_invoker(call, channel, f"{index}-{thread}") for thread in range(threads)]
        for invoke in invokers:
            invoke()  # connects and warms up before the clock starts
        latencies: list[list[float]] = [[] for _ in invokers]
        errors = [0] * len(invokers)
        barrier.wait(timeout=60)
        start = time.perf_counter()
        cpu_start = time.process_time()
        deadline = start + seconds

        def loop(slot: int) -> None:
            invoke = invokers[slot]
            mine = latencies[slot]
            while (began := time.perf_counter()) < deadline:
                try:
                    invoke()
                except grpc.RpcError:
                    errors[slot] += 1
                    continue
                mine.append((time.perf_counter() - began) * 1000)

        running = [threading.Thread(target=loop, args=(slot,)) for slot in range(threads)]
        for thread in running:
            thread.start()
        for thread in running:
            thread.join()
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
    results.put(([value for slot in latencies for value in slot], sum(errors), elapsed, cpu))


def _invoker(call: Call, channel: grpc.Channel, caller: str) -> Callable[[], object]:
    """Answers a function making one call of `call.kind`; creates make a new name each time.

    Every kind is called as the ceiling is, with the request encoded beforehand (a create's
    per call, for its new name) and the reply left encoded: decoding replies would spend the
    callers' share of the two cores, which the server's throughput then pays for, on work
    the ceiling's callers do not do. The first reply of each kind is decoded and checked, so
    that a load of failing or empty answers is not measured as a fast one.
    """
    if call.kind == "ceiling":
        empty = channel.unary_unary(METHOD, None, None)
        return lambda: empty(b"", timeout=60)

    metadata: tuple[tuple[str, str | bytes], ...] = (("authorization", f"Bearer {call.token}"),)
    if call.kind == "create":
        create = _raw_method(channel, "CreateFunction")
        counter = iter(range(10**9))

        def encoded() -> bytes:
            name = f"{call.name}-{caller}-{next(counter)}"
            return pb.CreateFunctionRequest(
                name=name, image="nginx:alpine", replicas=1
            ).SerializeToString()

        reply = create(encoded(), metadata=metadata, timeout=60)
        _check_reply(pb.CreateFunctionResponse, reply, "name")
        return lambda: create(encoded(), metadata=metadata, timeout=60)

    if call.kind == "get":
        read = _raw_method(channel, "GetFunction")
        request = pb.GetFunctionRequest(name=call.name).SerializeToString()
        _check_reply(pb.Function, read(request, metadata=metadata, timeout=60), "name")
    elif call.kind == "list":
        read = _raw_method(channel, "ListFunctions")
        request = pb.ListFunctionsRequest().SerializeToString()
        reply = read(request, metadata=metadata, timeout=60)
        _check_reply(pb.ListFunctionsResponse, reply, "functions")
    else:
        raise ValueError(f"unknown call kind {call.kind!r}")
    return lambda: read(request, metadata=metadata, timeout=60)


def _raw_method(channel: grpc.Channel, method: str) -> grpc.UnaryUnaryMultiCallable[bytes, bytes]:
    """Answers FunctionService's `method` on `channel`, taking and answering encoded bytes."""
    service = pb.DESCRIPTOR.services_by_name["FunctionService"]
    path = f"/{service.full_name}/{service.methods_by_name[method].name}"
    return channel.unary_unary(path, None, None)


def _check_reply(reply_type: Any, encoded: bytes, field: str) -> None:
    """Raises RuntimeError unless `encoded` decodes as `reply_type` with `field` set."""
    reply = reply_type.FromString(encoded)
    if not getattr(reply, field):
        raise RuntimeError(f"a {reply_type.__name__} without {field}: {reply}")
