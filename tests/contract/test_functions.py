"""The FunctionService contract, run against every backend over a real gRPC channel."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from fnplane.v1 import functions_pb2 as pb
from fnplane.v1.functions_pb2_grpc import FunctionServiceStub
from tests.grpc_errors import details, failure, field_violations

CREATED = "function created successfully"


def create(functions: FunctionServiceStub, name: str = "my-app", **fields: object) -> None:
    fields.setdefault("image", "nginx:alpine")
    reply = functions.CreateFunction(pb.CreateFunctionRequest(name=name, **fields))  # type: ignore[arg-type]
    assert (reply.message, reply.name) == (CREATED, name)


def test_create_answers_message_and_name_and_get_shows_the_spec(
    functions: FunctionServiceStub,
) -> None:
    create(functions, replicas=2, env={"ENV": "production", "LOG_LEVEL": "info"})

    function = functions.GetFunction(pb.GetFunctionRequest(name="my-app"))

    assert function.name == "my-app"
    assert function.image == "nginx:alpine"
    assert function.replicas == 2
    assert dict(function.env) == {"ENV": "production", "LOG_LEVEL": "info"}
    assert function.status in {"Running", "Deploying"}
    assert function.created_at.seconds > 0
    assert function.created_at.nanos == 0


def test_replicas_left_out_means_one_and_zero_is_kept(functions: FunctionServiceStub) -> None:
    create(functions, "one")
    create(functions, "none", replicas=0)

    assert functions.GetFunction(pb.GetFunctionRequest(name="one")).replicas == 1
    stopped = functions.GetFunction(pb.GetFunctionRequest(name="none"))
    assert stopped.replicas == 0
    assert stopped.status == "Stopped"


def test_list_is_empty_at_first_then_sorted_by_name(functions: FunctionServiceStub) -> None:
    assert list(functions.ListFunctions(pb.ListFunctionsRequest()).functions) == []

    for name in ("web", "api", "worker"):
        create(functions, name)

    listed = functions.ListFunctions(pb.ListFunctionsRequest()).functions
    assert [f.name for f in listed] == ["api", "web", "worker"]


def test_second_create_of_a_name_is_already_exists_and_keeps_the_first(
    functions: FunctionServiceStub,
) -> None:
    create(functions, image="nginx:alpine")

    error = failure(
        lambda: functions.CreateFunction(pb.CreateFunctionRequest(name="my-app", image="redis:7"))
    )

    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "my-app" in details(error)
    assert functions.GetFunction(pb.GetFunctionRequest(name="my-app")).image == "nginx:alpine"


@pytest.mark.parametrize(
    "call",
    [
        lambda f: f.GetFunction(pb.GetFunctionRequest(name="ghost")),
        lambda f: f.UpdateFunction(pb.UpdateFunctionRequest(name="ghost", replicas=3)),
        lambda f: f.DeleteFunction(pb.DeleteFunctionRequest(name="ghost")),
    ],
    ids=["get", "update", "delete"],
)
def test_unknown_name_is_not_found(functions: FunctionServiceStub, call: object) -> None:
    error = failure(lambda: call(functions))  # type: ignore[operator]

    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert "ghost" in details(error)


def test_update_changes_only_the_fields_present(functions: FunctionServiceStub) -> None:
    create(functions, replicas=2, env={"ENV": "production"})

    updated = functions.UpdateFunction(pb.UpdateFunctionRequest(name="my-app", replicas=5))

    assert updated.replicas == 5
    assert updated.image == "nginx:alpine"
    assert dict(updated.env) == {"ENV": "production"}
    again = functions.GetFunction(pb.GetFunctionRequest(name="my-app"))
    assert (again.replicas, again.image) == (5, "nginx:alpine")


def test_update_replaces_env_and_image(functions: FunctionServiceStub) -> None:
    create(functions, env={"A": "1", "B": "2"})

    updated = functions.UpdateFunction(
        pb.UpdateFunctionRequest(name="my-app", image="nginx:1.27", env={"C": "3"})
    )

    assert updated.image == "nginx:1.27"
    assert dict(updated.env) == {"C": "3"}


def test_update_to_zero_replicas_stops_the_function(functions: FunctionServiceStub) -> None:
    create(functions, replicas=3)

    updated = functions.UpdateFunction(pb.UpdateFunctionRequest(name="my-app", replicas=0))

    assert (updated.replicas, updated.status) == (0, "Stopped")


def test_update_mask_clears_a_map_and_changes_nothing_else(functions: FunctionServiceStub) -> None:
    create(functions, replicas=2, env={"A": "1"})

    updated = functions.UpdateFunction(
        pb.UpdateFunctionRequest(name="my-app", replicas=9, update_mask=FieldMask(paths=["env"]))
    )

    assert dict(updated.env) == {}
    assert updated.replicas == 2


def test_update_mask_with_an_unknown_field_is_invalid(functions: FunctionServiceStub) -> None:
    create(functions)

    error = failure(
        lambda: functions.UpdateFunction(
            pb.UpdateFunctionRequest(name="my-app", update_mask=FieldMask(paths=["name"]))
        )
    )

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "update_mask" in field_violations(error)


def test_update_with_nothing_to_change_answers_the_function(
    functions: FunctionServiceStub,
) -> None:
    create(functions, replicas=2)

    same = functions.UpdateFunction(pb.UpdateFunctionRequest(name="my-app"))

    assert (same.name, same.replicas, same.image) == ("my-app", 2, "nginx:alpine")


def test_delete_answers_message_and_the_function_is_gone(functions: FunctionServiceStub) -> None:
    create(functions)

    reply = functions.DeleteFunction(pb.DeleteFunctionRequest(name="my-app"))

    assert (reply.message, reply.name) == ("function deleted successfully", "my-app")
    assert list(functions.ListFunctions(pb.ListFunctionsRequest()).functions) == []
    error = failure(lambda: functions.GetFunction(pb.GetFunctionRequest(name="my-app")))
    assert error.code() == grpc.StatusCode.NOT_FOUND


def test_a_deleted_name_can_be_created_again(functions: FunctionServiceStub) -> None:
    create(functions)
    functions.DeleteFunction(pb.DeleteFunctionRequest(name="my-app"))

    create(functions, image="redis:7")

    assert functions.GetFunction(pb.GetFunctionRequest(name="my-app")).image == "redis:7"


def test_resources_labels_and_annotations_round_trip(functions: FunctionServiceStub) -> None:
    create(
        functions,
        cpu_request="250m",
        cpu_limit="1",
        memory_request="64Mi",
        memory_limit="128Mi",
        labels={"team": "payments"},
        annotations={"example.com/owner": "ana@example.com"},
    )

    function = functions.GetFunction(pb.GetFunctionRequest(name="my-app"))

    assert (function.cpu_request, function.cpu_limit) == ("250m", "1")
    assert (function.memory_request, function.memory_limit) == ("64Mi", "128Mi")
    assert dict(function.labels) == {"team": "payments"}
    assert dict(function.annotations) == {"example.com/owner": "ana@example.com"}


def test_update_that_makes_a_request_exceed_its_limit_is_invalid_and_changes_nothing(
    functions: FunctionServiceStub,
) -> None:
    create(functions, cpu_request="250m", cpu_limit="500m")

    error = failure(
        lambda: functions.UpdateFunction(pb.UpdateFunctionRequest(name="my-app", cpu_request="2"))
    )

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "cpu_request" in field_violations(error)
    assert functions.GetFunction(pb.GetFunctionRequest(name="my-app")).cpu_request == "250m"
