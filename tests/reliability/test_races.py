"""Many callers racing on overlapping names, over gRPC, against every backend."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from fnplane.server import app
from fnplane.server.config import ServerConfig
from fnplane.server.validation import Limits
from fnplane.v1 import functions_pb2 as pb
from fnplane.v1.functions_pb2_grpc import FunctionServiceStub
from tests.backends import BACKENDS
from tests.support.tokens import signed_in

THREADS = 8
NAMES = [f"fn-{i}" for i in range(12)]


@pytest.fixture(params=sorted(BACKENDS))
def functions(request: pytest.FixtureRequest) -> Iterator[FunctionServiceStub]:
    config = ServerConfig(listen="127.0.0.1:0", workers=THREADS * 2)
    with BACKENDS[request.param](Limits()) as backend:
        running = app.start(config, backend=backend)
        try:
            with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
                yield FunctionServiceStub(signed_in(channel))
        finally:
            running.stop(grace=1)


def code_of(call: object) -> str:
    try:
        call()  # type: ignore[operator]
    except grpc.RpcError as error:
        return error.code().name
    return "OK"


def test_racing_creates_make_each_name_exactly_once(functions: FunctionServiceStub) -> None:
    start = threading.Barrier(THREADS)

    def creator(worker: int) -> Counter[str]:
        start.wait()
        seen: Counter[str] = Counter()
        for name in NAMES:
            request = pb.CreateFunctionRequest(name=name, image=f"nginx:{worker}")
            seen[code_of(lambda r=request: functions.CreateFunction(r, timeout=10))] += 1
        return seen

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = sum(pool.map(creator, range(THREADS)), Counter())

    assert outcomes == {"OK": len(NAMES), "ALREADY_EXISTS": len(NAMES) * (THREADS - 1)}
    listed = functions.ListFunctions(pb.ListFunctionsRequest(), timeout=10).functions
    assert [f.name for f in listed] == sorted(NAMES)


def test_racing_updates_lose_none_and_end_in_a_serial_state(
    functions: FunctionServiceStub,
) -> None:
    for name in NAMES:
        functions.CreateFunction(pb.CreateFunctionRequest(name=name, image="nginx"), timeout=10)
    start = threading.Barrier(THREADS)
    written: dict[str, set[str]] = {name: set() for name in NAMES}
    lock = threading.Lock()

    def updater(worker: int) -> None:
        start.wait()
        for round_ in range(3):
            for name in NAMES:
                value = f"w{worker}-r{round_}"
                functions.UpdateFunction(
                    pb.UpdateFunctionRequest(name=name, env={"WRITER": value}, replicas=worker),
                    timeout=10,
                )
                with lock:
                    written[name].add(value)

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(updater, range(THREADS)))

    for function in functions.ListFunctions(pb.ListFunctionsRequest(), timeout=10).functions:
        writer = function.env["WRITER"]
        # Each update sets env and replicas together: a serial order leaves them matching.
        assert writer in written[function.name]
        assert writer.startswith(f"w{function.replicas}-")


def test_lists_are_never_torn_while_creates_and_deletes_race(
    functions: FunctionServiceStub,
) -> None:
    stable = [f"keep-{i}" for i in range(5)]
    for name in stable:
        functions.CreateFunction(pb.CreateFunctionRequest(name=name, image="nginx"), timeout=10)
    stop = threading.Event()

    def churn(worker: int) -> Counter[str]:
        seen: Counter[str] = Counter()
        while not stop.is_set():
            name = NAMES[worker % len(NAMES)]
            create = pb.CreateFunctionRequest(name=name, image="nginx")
            seen[code_of(lambda r=create: functions.CreateFunction(r, timeout=10))] += 1
            delete = pb.DeleteFunctionRequest(name=name)
            seen[code_of(lambda r=delete: functions.DeleteFunction(r, timeout=10))] += 1
        return seen

    with ThreadPoolExecutor(THREADS) as pool:
        churners = [pool.submit(churn, worker) for worker in range(THREADS - 1)]
        for _ in range(100):
            listed = functions.ListFunctions(pb.ListFunctionsRequest(), timeout=10).functions
            names = [f.name for f in listed]
            assert set(stable) <= set(names)
            assert names == sorted(set(names)), "a list holds each name once, in order"
            assert all(f.image == "nginx" for f in listed)
        stop.set()
        outcomes = sum((c.result() for c in churners), Counter())

    assert set(outcomes) <= {"OK", "ALREADY_EXISTS", "NOT_FOUND"}
    assert outcomes["OK"] > 0
