"""Every field rule, over the wire: INVALID_ARGUMENT naming the field and rule, nothing changed."""

from __future__ import annotations

import grpc
import pytest

from fnplane.v1 import functions_pb2 as pb
from fnplane.v1.functions_pb2_grpc import FunctionServiceStub
from tests.grpc_errors import details, failure, field_violations

DIGEST = "sha256:" + "a" * 64

BAD_CREATES = [
    # (case id, request fields, field expected in the violations, words in its description)
    ("name missing", {"name": ""}, "name", "required"),
    ("name uppercase", {"name": "MyApp"}, "name", "DNS-1035"),
    ("name starts with digit", {"name": "1app"}, "name", "DNS-1035"),
    ("name ends with dash", {"name": "app-"}, "name", "DNS-1035"),
    ("name with underscore", {"name": "my_app"}, "name", "DNS-1035"),
    ("name with dot", {"name": "my.app"}, "name", "DNS-1035"),
    ("name too long", {"name": "a" * 64}, "name", "at most 63"),
    ("image missing", {"image": ""}, "image", "required"),
    ("image with space", {"image": "nginx: alpine"}, "image", "whitespace"),
    ("image with newline", {"image": "nginx\n"}, "image", "whitespace"),
    ("image uppercase repo", {"image": "Nginx:alpine"}, "image", "OCI image reference"),
    ("image bad tag", {"image": "nginx:-x"}, "image", "OCI image reference"),
    ("image short digest", {"image": "nginx@sha256:abc"}, "image", "OCI image reference"),
    ("image too long", {"image": "a/" * 256 + "b"}, "image", "at most 512"),
    ("replicas negative", {"replicas": -1}, "replicas", "between 0 and 100"),
    ("replicas over maximum", {"replicas": 101}, "replicas", "between 0 and 100"),
    ("env key with dash", {"env": {"MY-VAR": "x"}}, "env['MY-VAR']", "C identifier"),
    ("env key starts with digit", {"env": {"1X": "x"}}, "env['1X']", "C identifier"),
    ("env key empty", {"env": {"": "x"}}, "env['']", "C identifier"),
    ("env too many", {"env": {f"K{i}": "v" for i in range(101)}}, "env", "at most 100"),
    ("env value too big", {"env": {"BIG": "x" * (32 * 1024 + 1)}}, "env['BIG']", "32768"),
    ("cpu not a quantity", {"cpu_request": "lots"}, "cpu_request", "quantity"),
    ("cpu infinite", {"cpu_request": "inf"}, "cpu_request", "quantity"),
    ("cpu not a number", {"cpu_limit": "nan"}, "cpu_limit", "quantity"),
    ("memory huge exponent", {"memory_limit": "1e400"}, "memory_limit", "smaller than 2^63"),
    ("memory past 63 bits", {"memory_request": "10e18"}, "memory_request", "quantity"),
    ("memory negative", {"memory_limit": "-1Mi"}, "memory_limit", "negative"),
    (
        "request above limit",
        {"memory_request": "1Gi", "memory_limit": "512Mi"},
        "memory_request",
        "not be more than memory_limit",
    ),
    ("label key bad", {"labels": {"-bad": "x"}}, "labels['-bad']", "key name"),
    ("label value bad", {"labels": {"team": "a b"}}, "labels['team']", "value"),
    (
        "label reserved",
        {"labels": {"app.kubernetes.io/managed-by": "me"}},
        "labels['app.kubernetes.io/managed-by']",
        "reserved",
    ),
    ("annotation key bad", {"annotations": {"a/b/c": "x"}}, "annotations['a/b/c']", "prefix"),
]


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [case[1:] for case in BAD_CREATES],
    ids=[case[0] for case in BAD_CREATES],
)
def test_create_that_breaks_a_rule_is_refused_and_creates_nothing(
    functions: FunctionServiceStub, fields: dict[str, object], field: str, words: str
) -> None:
    request = {"name": "my-app", "image": "nginx:alpine", **fields}

    error = failure(lambda: functions.CreateFunction(pb.CreateFunctionRequest(**request)))  # type: ignore[arg-type]

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = field_violations(error)
    assert field in violations, violations
    assert words in violations[field]
    assert field in details(error)
    assert list(functions.ListFunctions(pb.ListFunctionsRequest()).functions) == []


def test_every_broken_rule_is_reported_at_once(functions: FunctionServiceStub) -> None:
    error = failure(
        lambda: functions.CreateFunction(
            pb.CreateFunctionRequest(name="Bad", image="", replicas=-1, env={"1": "x"})
        )
    )

    assert set(field_violations(error)) == {"name", "image", "replicas", "env['1']"}


GOOD_CREATES = [
    ("name of 63", {"name": "a" * 63}),
    ("name of 1", {"name": "a"}),
    ("image with registry port", {"image": "registry.example.com:5000/team/app:v1.2.3"}),
    ("image by digest", {"image": f"ghcr.io/org/app@{DIGEST}"}),
    ("image with tag and digest", {"image": f"nginx:1.27@{DIGEST}"}),
    ("image without tag", {"image": "busybox"}),
    ("image of 512", {"image": "a/" * 255 + "bb"}),
    ("replicas at maximum", {"replicas": 100}),
    ("env of 100", {"env": {f"K{i}": "v" for i in range(100)}}),
    ("env value of 32 KiB", {"env": {"BIG": "x" * 32 * 1024}}),
    ("env key underscore", {"env": {"_private": "1"}}),
    ("quantities", {"cpu_request": "0.5", "cpu_limit": "2", "memory_limit": "1G"}),
    ("prefixed label", {"labels": {"example.com/tier": "web"}}),
]


@pytest.mark.parametrize(
    "fields", [case[1] for case in GOOD_CREATES], ids=[case[0] for case in GOOD_CREATES]
)
def test_create_at_the_edge_of_each_rule_succeeds(
    functions: FunctionServiceStub, fields: dict[str, object]
) -> None:
    request = {"name": "my-app", "image": "nginx:alpine", **fields}

    functions.CreateFunction(pb.CreateFunctionRequest(**request))  # type: ignore[arg-type]

    listed = functions.ListFunctions(pb.ListFunctionsRequest()).functions
    assert [f.name for f in listed] == [request["name"]]


BAD_UPDATES = [
    ("image empty", {"image": ""}, "image"),
    ("image bad", {"image": "not an image"}, "image"),
    ("replicas negative", {"replicas": -3}, "replicas"),
    ("replicas over maximum", {"replicas": 1000}, "replicas"),
    ("env key bad", {"env": {"a-b": "1"}}, "env['a-b']"),
    ("cpu bad", {"cpu_limit": "1.2.3"}, "cpu_limit"),
]


@pytest.mark.parametrize(
    ("fields", "field"), [case[1:] for case in BAD_UPDATES], ids=[case[0] for case in BAD_UPDATES]
)
def test_update_that_breaks_a_rule_is_refused_and_changes_nothing(
    functions: FunctionServiceStub, fields: dict[str, object], field: str
) -> None:
    functions.CreateFunction(
        pb.CreateFunctionRequest(name="my-app", image="nginx:alpine", env={"A": "1"})
    )
    before = functions.GetFunction(pb.GetFunctionRequest(name="my-app"))

    error = failure(
        lambda: functions.UpdateFunction(pb.UpdateFunctionRequest(name="my-app", **fields))  # type: ignore[arg-type]
    )

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(error)
    after = functions.GetFunction(pb.GetFunctionRequest(name="my-app"))
    assert (after.image, after.replicas, dict(after.env)) == (
        before.image,
        before.replicas,
        dict(before.env),
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda f: f.GetFunction(pb.GetFunctionRequest(name="Not_A_Name")),
        lambda f: f.DeleteFunction(pb.DeleteFunctionRequest(name="")),
        lambda f: f.UpdateFunction(pb.UpdateFunctionRequest(name="UPPER", replicas=1)),
    ],
    ids=["get", "delete", "update"],
)
def test_a_name_that_cannot_exist_is_invalid_not_missing(
    functions: FunctionServiceStub, call: object
) -> None:
    error = failure(lambda: call(functions))  # type: ignore[operator]

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "name" in field_violations(error)
