"""WatchFunctions: the snapshot, then every change in order, only in the caller's namespace,
and a watcher that falls behind cut off without holding up writers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator

import grpc
import pytest

from fnplane.server import app
from fnplane.server.demo import DemoBackend
from fnplane.server.domain import EventType, FunctionSpec, FunctionUpdate
from fnplane.server.errors import ResourceExhausted
from fnplane.v1 import functions_pb2 as pb
from fnplane.v1 import functions_pb2_grpc
from tests.grpc_errors import details

Stubs = Callable[[str], functions_pb2_grpc.FunctionServiceStub]


def _events(stream: Iterable[pb.FunctionEvent], count: int) -> list[tuple[str, str]]:
    """Reads `count` events from a watch stream as (type, function name)."""
    found = []
    for event in stream:
        found.append((event.type, event.function.name))
        if len(found) == count:
            return found
    raise AssertionError(f"the watch ended after {found}")


def test_a_watch_starts_with_the_functions_there_then_synced(
    functions: functions_pb2_grpc.FunctionServiceStub,
) -> None:
    functions.CreateFunction(pb.CreateFunctionRequest(name="beta", image="nginx:alpine"))
    functions.CreateFunction(pb.CreateFunctionRequest(name="alpha", image="nginx:alpine"))

    stream = functions.WatchFunctions(pb.WatchFunctionsRequest(), timeout=30)
    events = iter(stream)
    try:
        first = [next(events) for _ in range(3)]
    finally:
        stream.cancel()

    assert [(e.type, e.function.name) for e in first] == [
        ("ADDED", "alpha"),
        ("ADDED", "beta"),
        ("SYNCED", ""),
    ]
    assert first[0].function.image == "nginx:alpine"
    assert not first[2].HasField("function")


def test_a_watch_sees_every_change_with_the_whole_function(
    functions: functions_pb2_grpc.FunctionServiceStub,
) -> None:
    stream = functions.WatchFunctions(pb.WatchFunctionsRequest(), timeout=30)
    events = iter(stream)
    try:
        assert next(events).type == "SYNCED"
        functions.CreateFunction(pb.CreateFunctionRequest(name="web", image="nginx:alpine"))
        functions.UpdateFunction(
            pb.UpdateFunctionRequest(name="web", env={"MODE": "live"}, replicas=2)
        )
        functions.DeleteFunction(pb.DeleteFunctionRequest(name="web"))

        seen = []
        for event in events:
            seen.append(event)
            if event.type == "DELETED":
                break
    finally:
        stream.cancel()

    assert seen[0].type == "ADDED" and seen[0].function.name == "web"
    assert seen[-1].type == "DELETED" and seen[-1].function.name == "web"
    # The Kubernetes backend may report status changes of its own between these events.
    modified = [e for e in seen if e.type == "MODIFIED"]
    assert modified and dict(modified[-1].function.env) == {"MODE": "live"}
    assert modified[-1].function.replicas == 2


def test_watchers_see_only_their_own_namespace(functions_as: Stubs) -> None:
    team_a, team_b = functions_as("team-a"), functions_as("team-b")
    team_a.CreateFunction(pb.CreateFunctionRequest(name="mine", image="nginx:alpine"))
    watch_b = team_b.WatchFunctions(pb.WatchFunctionsRequest(), timeout=30)
    events_b = iter(watch_b)
    try:
        assert next(events_b).type == "SYNCED"
        team_a.CreateFunction(pb.CreateFunctionRequest(name="also-mine", image="nginx:alpine"))
        team_b.CreateFunction(pb.CreateFunctionRequest(name="theirs", image="nginx:alpine"))
        # team-a's write came first; team-b's watch must still begin with its own.
        assert _events(events_b, 1) == [("ADDED", "theirs")]
    finally:
        watch_b.cancel()


def test_concurrent_writes_reach_a_watcher_complete_and_in_order() -> None:
    backend = DemoBackend()
    watch = backend.watch("default")
    assert next(watch).type == EventType.SYNCED
    writers, rounds = 4, 50

    def write(writer: int) -> None:
        name = f"fn-{writer}"
        backend.create("default", FunctionSpec(name=name, image="nginx:alpine"))
        for replicas in range(2, rounds + 2):
            backend.update("default", FunctionUpdate(name=name, replicas=replicas))
        backend.delete("default", name)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    events = [next(watch) for _ in range(writers * (rounds + 2))]
    backend.close()
    assert list(watch) == []

    for writer in range(writers):
        mine = [e for e in events if e.function is not None and e.function.name == f"fn-{writer}"]
        assert [e.type for e in mine] == [
            EventType.ADDED,
            *[EventType.MODIFIED] * rounds,
            EventType.DELETED,
        ]
        assert [e.function.spec.replicas for e in mine if e.function] == [
            1,
            *range(2, rounds + 2),
            rounds + 1,
        ]


def test_a_watcher_that_falls_behind_is_cut_off_and_writes_go_on() -> None:
    backend = DemoBackend(watch_backlog=5)
    slow = backend.watch("default")
    for n in range(20):
        backend.create("default", FunctionSpec(name=f"fn-{n}", image="nginx:alpine"))

    received = []
    with pytest.raises(ResourceExhausted, match="fell more than 5 events behind"):
        for event in slow:
            received.append(event)
    assert [e.type for e in received] == [EventType.SYNCED] + [EventType.ADDED] * 5
    assert len(backend.list("default")) == 20

    fresh = backend.watch("default")
    assert [next(fresh).type for _ in range(21)][-1] == EventType.SYNCED
    backend.close()


def test_a_server_stopping_ends_open_watches(
    functions: functions_pb2_grpc.FunctionServiceStub, server: app.RunningServer
) -> None:
    events = iter(functions.WatchFunctions(pb.WatchFunctionsRequest(), timeout=30))
    assert next(events).type == "SYNCED"
    stopped = threading.Thread(target=server.stop, kwargs={"grace": 30})
    stopped.start()
    # Without the watch being ended, stop would wait out its whole grace period.
    stopped.join(timeout=10)
    assert not stopped.is_alive()
    with pytest.raises((grpc.RpcError, StopIteration)):
        next(events)


@pytest.fixture
def watches_in_flight(
    functions: functions_pb2_grpc.FunctionServiceStub,
) -> Iterator[list[grpc.CallIterator[pb.FunctionEvent]]]:
    opened: list[grpc.CallIterator[pb.FunctionEvent]] = []
    yield opened
    for stream in opened:
        stream.cancel()


def test_too_many_open_watches_answer_resource_exhausted(
    functions: functions_pb2_grpc.FunctionServiceStub,
    watches_in_flight: list[grpc.CallIterator[pb.FunctionEvent]],
) -> None:
    for _ in range(8):
        stream = functions.WatchFunctions(pb.WatchFunctionsRequest(), timeout=30)
        watches_in_flight.append(stream)
        assert next(iter(stream)).type == "SYNCED"

    extra = functions.WatchFunctions(pb.WatchFunctionsRequest(), timeout=30)
    watches_in_flight.append(extra)
    with pytest.raises(grpc.RpcError) as raised:
        next(iter(extra))
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "--max-streams" in details(raised.value)


def test_concurrent_callers_changes_all_reach_a_watcher_in_order(
    functions: functions_pb2_grpc.FunctionServiceStub,
) -> None:
    names = [f"fn-{n}" for n in range(6)]
    stream = functions.WatchFunctions(pb.WatchFunctionsRequest(), timeout=60)
    changes = iter(stream)
    try:
        assert next(changes).type == "SYNCED"

        def lifecycle(name: str) -> None:
            functions.CreateFunction(pb.CreateFunctionRequest(name=name, image="nginx:alpine"))
            functions.UpdateFunction(pb.UpdateFunctionRequest(name=name, replicas=4))
            functions.DeleteFunction(pb.DeleteFunctionRequest(name=name))

        threads = [threading.Thread(target=lifecycle, args=(name,)) for name in names]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        seen: dict[str, list[pb.FunctionEvent]] = {name: [] for name in names}
        for event in changes:
            seen[event.function.name].append(event)
            if all(events and events[-1].type == "DELETED" for events in seen.values()):
                break
    finally:
        stream.cancel()

    for name, events in seen.items():
        kinds = [e.type for e in events]
        assert kinds[0] == "ADDED" and kinds[-1] == "DELETED", (name, kinds)
        assert set(kinds[1:-1]) <= {"MODIFIED"}, (name, kinds)
        # The update is seen before the delete (the backend may tell of status changes too).
        assert any(e.function.replicas == 4 for e in events[1:-1]), (name, kinds)
