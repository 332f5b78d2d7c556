"""The demo backend: instant status, and no lost or doubled writes under concurrency."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from fnplane.server.demo import DemoBackend, WholeSeconds
from fnplane.server.domain import FunctionSpec, FunctionUpdate, Status
from fnplane.server.errors import AlreadyExists, InvalidArgument, NotFound


def test_a_function_is_running_at_once_with_every_replica_up() -> None:
    backend = DemoBackend(clock=lambda: datetime(2025, 11, 1, 0, 45, 26, tzinfo=UTC))

    function = backend.create("default", FunctionSpec(name="my-app", image="nginx", replicas=3))

    assert function.status is Status.RUNNING
    assert (function.available_replicas, function.ready_replicas) == (3, 3)
    assert function.updated_replicas == 3
    assert function.created_at == datetime(2025, 11, 1, 0, 45, 26, tzinfo=UTC)


def test_scaling_to_zero_stops_and_back_up_runs_keeping_created_at() -> None:
    backend = DemoBackend()
    created = backend.create("default", FunctionSpec(name="my-app", image="nginx"))

    stopped = backend.update("default", FunctionUpdate(name="my-app", replicas=0))
    running = backend.update("default", FunctionUpdate(name="my-app", replicas=2))

    assert (stopped.status, stopped.available_replicas) == (Status.STOPPED, 0)
    assert (running.status, running.ready_replicas) == (Status.RUNNING, 2)
    assert running.created_at == created.created_at


def test_created_at_is_the_time_of_the_create_in_whole_seconds() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    function = DemoBackend().create("default", FunctionSpec(name="a", image="nginx"))
    after = datetime.now(UTC)

    assert before <= function.created_at <= after
    assert function.created_at.microsecond == 0
    assert function.created_at.tzinfo is not None


def test_the_clock_moves_on_with_each_second_and_not_within_one() -> None:
    now = [1_764_806_400.25]
    clock = WholeSeconds(lambda: now[0])

    first = clock()
    now[0] += 0.7
    same_second = clock()
    now[0] += 0.1
    next_second = clock()

    assert first == same_second == datetime(2025, 12, 4, 0, 0, 0, tzinfo=UTC)
    assert next_second == datetime(2025, 12, 4, 0, 0, 1, tzinfo=UTC)


def test_namespaces_are_separate() -> None:
    backend = DemoBackend()
    backend.create("team-a", FunctionSpec(name="api", image="nginx"))
    backend.create("team-b", FunctionSpec(name="api", image="redis"))

    assert [f.spec.image for f in backend.list("team-a")] == ["nginx"]
    assert [f.spec.image for f in backend.list("team-b")] == ["redis"]
    with pytest.raises(NotFound):
        backend.get("team-c", "api")


def test_update_checks_the_spec_as_a_whole() -> None:
    backend = DemoBackend()
    backend.create("default", FunctionSpec(name="a", image="nginx", memory_limit="64Mi"))

    with pytest.raises(InvalidArgument, match="memory_request"):
        backend.update("default", FunctionUpdate(name="a", memory_request="1Gi"))

    assert backend.get("default", "a").spec.memory_request == ""


def test_racing_creates_make_each_name_exactly_once() -> None:
    backend = DemoBackend()
    names = [f"fn-{i % 20}" for i in range(400)]
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(8)

    def create(name: str) -> None:
        try:
            backend.create("default", FunctionSpec(name=name, image="nginx"))
            outcome = "created"
        except AlreadyExists:
            outcome = "exists"
        with lock:
            outcomes[outcome] += 1

    def worker(chunk: list[str]) -> None:
        start.wait()
        for name in chunk:
            create(name)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(worker, [names[i::8] for i in range(8)]))

    assert outcomes == {"created": 20, "exists": 380}
    assert sorted(f.name for f in backend.list("default")) == sorted(set(names))


def test_racing_updates_lose_nothing_and_lists_are_never_torn() -> None:
    backend = DemoBackend()
    for i in range(10):
        backend.create("default", FunctionSpec(name=f"fn-{i}", image="nginx", replicas=1))
    stop = threading.Event()
    torn: list[int] = []

    def list_forever() -> None:
        while not stop.is_set():
            listed = backend.list("default")
            if len(listed) != 10:
                torn.append(len(listed))

    def update(i: int) -> None:
        backend.update("default", FunctionUpdate(name=f"fn-{i % 10}", env={"WRITER": str(i)}))

    lister = threading.Thread(target=list_forever)
    lister.start()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(update, range(1000)))
    stop.set()
    lister.join()

    assert torn == []
    for i in range(10):
        writer = int(backend.get("default", f"fn-{i}").spec.env["WRITER"])
        assert writer % 10 == i
