"""A tenant learns nothing of another tenant's functions from any answer, on every backend.

For each call, a name that exists in another tenant's namespace must be answered exactly as a
name that exists nowhere: the same code, the same message and the same status details, byte
for byte once the name itself is swapped. tests/auth/test_tenants.py checks the codes; this
checks that no word, length or detail differs either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest

from fnplane.v1 import functions_pb2 as pb
from fnplane.v1.functions_pb2_grpc import FunctionServiceStub

StubFor = Callable[[str], FunctionServiceStub]

THEIRS = "ledger-theirs"
NOWHERE = "ledger-nobody"
"""Two names of the same length, so that a length in a message cannot tell them apart."""

Answer = tuple[str, str, bytes]
"""The code, the message and the binary status details of an answer ("OK", "", b"")."""


def _answer(call: Callable[[], Any]) -> Answer:
    try:
        result = call()
        if not isinstance(result, pb.Function | pb.CreateFunctionResponse):
            list(result)  # a stream: read it to its end or its error
    except grpc.RpcError as error:
        details = b""
        for metadatum in error.trailing_metadata() or ():
            if metadatum.key == "grpc-status-details-bin":
                details = metadatum.value
        return error.code().name, error.details() or "", bytes(details)
    return "OK", "", b""


def _as_if_nowhere(answer: Answer) -> Answer:
    code, message, details = answer
    return (
        code,
        message.replace(THEIRS, NOWHERE),
        details.replace(THEIRS.encode(), NOWHERE.encode()),
    )


CALLS: dict[str, Callable[[FunctionServiceStub, str], Any]] = {
    "get": lambda f, name: f.GetFunction(pb.GetFunctionRequest(name=name), timeout=10),
    "update": lambda f, name: f.UpdateFunction(
        pb.UpdateFunctionRequest(name=name, replicas=2), timeout=10
    ),
    "update with a bad field": lambda f, name: f.UpdateFunction(
        pb.UpdateFunctionRequest(name=name, image="not an image"), timeout=10
    ),
    "update of nothing": lambda f, name: f.UpdateFunction(
        pb.UpdateFunctionRequest(name=name), timeout=10
    ),
    "logs": lambda f, name: f.GetFunctionLogs(pb.GetFunctionLogsRequest(name=name), timeout=10),
    "delete": lambda f, name: f.DeleteFunction(pb.DeleteFunctionRequest(name=name), timeout=10),
    "create with a bad field": lambda f, name: f.CreateFunction(
        pb.CreateFunctionRequest(name=name, image="nginx:alpine", replicas=-1), timeout=10
    ),
}


@pytest.mark.parametrize("call", sorted(CALLS))
def test_another_tenants_name_is_answered_as_a_name_that_exists_nowhere(
    functions_as: StubFor, call: str
) -> None:
    team_a, team_b = functions_as("team-a"), functions_as("team-b")
    team_b.CreateFunction(pb.CreateFunctionRequest(name=THEIRS, image="nginx:alpine"))

    theirs = _answer(lambda: CALLS[call](team_a, THEIRS))
    nowhere = _answer(lambda: CALLS[call](team_a, NOWHERE))

    assert theirs[0] != "OK", "a call on a name team-a does not have succeeded"
    assert _as_if_nowhere(theirs) == nowhere
    assert team_b.GetFunction(pb.GetFunctionRequest(name=THEIRS)).replicas == 1, "unchanged"


def test_a_name_is_a_duplicate_only_in_its_own_namespace(functions_as: StubFor) -> None:
    team_a, team_b = functions_as("team-a"), functions_as("team-b")
    team_b.CreateFunction(pb.CreateFunctionRequest(name=THEIRS, image="nginx:alpine"))

    def create(name: str) -> Answer:
        request = pb.CreateFunctionRequest(name=name, image="nginx:alpine")
        return _answer(lambda: team_a.CreateFunction(request, timeout=10))

    assert create(THEIRS) == create(NOWHERE) == ("OK", "", b"")
    again_theirs, again_nowhere = create(THEIRS), create(NOWHERE)
    assert again_theirs[0] == "ALREADY_EXISTS"
    assert _as_if_nowhere(again_theirs) == again_nowhere


def test_lists_and_watches_show_only_the_callers_own_functions(functions_as: StubFor) -> None:
    team_a, team_b = functions_as("team-a"), functions_as("team-b")
    team_b.CreateFunction(pb.CreateFunctionRequest(name=THEIRS, image="nginx:alpine"))
    team_a.CreateFunction(pb.CreateFunctionRequest(name="mine", image="nginx:alpine"))

    listed = team_a.ListFunctions(pb.ListFunctionsRequest(), timeout=10)
    watch = team_a.WatchFunctions(pb.WatchFunctionsRequest(), timeout=10)
    snapshot = []
    for event in watch:
        if event.type == "SYNCED":
            break
        snapshot.append(event.function.name)
    watch.cancel()

    assert [f.name for f in listed.functions] == ["mine"]
    assert snapshot == ["mine"]
