"""Every error over REST is JSON `{"code", "message", "details"}` with a fitting HTTP status,
whether the server or Envoy itself answers."""

from __future__ import annotations

from typing import Any

import pytest

from tests.rest.conftest import Api
from tests.support.stack import Reply, Stack, call

pytestmark = pytest.mark.envoy

INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, RESOURCE_EXHAUSTED, UNAUTHENTICATED = 3, 5, 6, 8, 16


def error_of(reply: Reply, status: int, code: int) -> dict[str, Any]:
    """Asserts `reply` is a JSON error with this status and gRPC code; answers its body."""
    assert reply.status == status, reply.body
    assert reply.headers["content-type"].startswith("application/json"), reply.headers
    body = reply.json()
    assert set(body) == {"code", "message", "details"}, body
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"], body
    assert isinstance(body["details"], list)
    return dict(body)


def test_a_broken_rule_is_400_with_field_violations(api: Api) -> None:
    reply = api("POST", "/v1/functions", body={"name": "Not_A_Label", "image": ""})
    body = error_of(reply, 400, INVALID_ARGUMENT)
    [detail] = body["details"]
    assert detail["@type"] == "type.googleapis.com/google.rpc.BadRequest"
    fields = {violation["field"] for violation in detail["field_violations"]}
    assert fields == {"name", "image"}
    assert all(violation["description"] for violation in detail["field_violations"])
    assert api("GET", "/v1/functions").json() == []


def test_a_duplicate_name_is_409(api: Api) -> None:
    assert api("POST", "/v1/functions", body={"name": "twice", "image": "nginx"}).status == 200
    reply = api("POST", "/v1/functions", body={"name": "twice", "image": "redis"})
    assert "twice" in str(error_of(reply, 409, ALREADY_EXISTS)["message"])
    assert api("GET", "/v1/functions/twice").json()["image"] == "nginx"


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_an_unknown_function_is_404(api: Api, method: str) -> None:
    body = {"replicas": 2} if method == "PATCH" else None
    reply = api(method, "/v1/functions/ghost", body=body)
    assert "ghost" in str(error_of(reply, 404, NOT_FOUND)["message"])


def test_a_missing_token_is_401(stack: Stack) -> None:
    error_of(stack.call("GET", "/v1/functions"), 401, UNAUTHENTICATED)
    reply = stack.call("POST", "/v1/functions", body={"name": "anon", "image": "nginx"})
    error_of(reply, 401, UNAUTHENTICATED)


def test_a_bad_token_is_401(stack: Stack, token: str) -> None:
    error_of(stack.call("GET", "/v1/functions", token="not-a-token"), 401, UNAUTHENTICATED)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    error_of(stack.call("GET", "/v1/functions", token=forged), 401, UNAUTHENTICATED)


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b'{"name": "half', "string"),
        (b'{"name": "x", "image": "nginx", "replicas": "two"}', "replicas"),
        (b'[{"name": "x", "image": "nginx"}]', "message"),
        (b"name=x&image=nginx", "token"),
    ],
    ids=["malformed", "wrong-type", "array", "not-json"],
)
def test_a_body_that_is_not_the_request_is_400_json(api: Api, raw: bytes, says: str) -> None:
    body = error_of(api("POST", "/v1/functions", raw=raw), 400, INVALID_ARGUMENT)
    assert says in str(body["message"]).lower()
    assert api("GET", "/v1/functions").json() == []


def test_a_path_field_repeated_differently_in_the_body_is_400(api: Api) -> None:
    api("POST", "/v1/functions", body={"name": "here", "image": "nginx"})
    reply = api("PATCH", "/v1/functions/here", body={"name": "there", "replicas": 4})
    error_of(reply, 400, INVALID_ARGUMENT)
    assert api("GET", "/v1/functions/here").json()["replicas"] == 1


@pytest.mark.parametrize("path", ["/nowhere", "/v1/nowhere", "/v1/functions/a/b", "/v2/functions"])
def test_an_unknown_path_is_404_json(api: Api, path: str) -> None:
    error_of(api("GET", path), 404, NOT_FOUND)


@pytest.mark.parametrize(
    ("method", "path"), [("PUT", "/v1/functions"), ("POST", "/v1/functions/x")]
)
def test_an_unknown_method_is_404_json(api: Api, method: str, path: str) -> None:
    reply = api(method, path, body={"name": "x", "image": "nginx"})
    error_of(reply, 404, NOT_FOUND)
    assert api("GET", "/v1/functions").json() == []


def test_an_unknown_query_parameter_is_400_naming_it(api: Api) -> None:
    body = error_of(api("GET", "/v1/functions?colour=blue"), 400, INVALID_ARGUMENT)
    assert "colour" in str(body["message"])


def test_a_body_over_the_limit_is_413_json(api: Api) -> None:
    huge = {"name": "big", "image": "nginx", "env": {"BLOB": "x" * (1024 * 1024)}}
    body = error_of(api("POST", "/v1/functions", body=huge), 413, RESOURCE_EXHAUSTED)
    assert "1048576 bytes" in str(body["message"])
    assert api("GET", "/v1/functions").json() == []


def test_errors_on_the_dashboard_port_are_json_too(stack: Stack, token: str) -> None:
    reply = call("GET", stack.dashboard + "/v1/functions/ghost", token=token)
    error_of(reply, 404, NOT_FOUND)
    error_of(call("GET", stack.dashboard + "/v1/functions"), 401, UNAUTHENTICATED)
    error_of(call("POST", stack.dashboard + "/v1/functions", raw=b"{", token=token), 400, 3)
