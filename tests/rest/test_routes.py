"""The REST routes through a real Envoy: the documented curl sequence and every shape."""

from __future__ import annotations

import http.client
import json
import re
from typing import Any

import pytest

from tests.rest.conftest import Api
from tests.support.stack import Stack, call

pytestmark = pytest.mark.envoy

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
CREATED = {"message": "function created successfully", "name": "my-app"}


def test_the_documented_curl_sequence(stack: Stack, api: Api) -> None:
    token = stack.call("POST", "/auth/token", raw=b"{}").json()["token"]
    created = stack.call(
        "POST",
        "/v1/functions",
        token=token,
        body={
            "name": "my-app",
            "image": "nginx:alpine",
            "replicas": 2,
            "env": {"ENV": "production", "LOG_LEVEL": "info"},
        },
    )
    assert (created.status, created.json()) == (200, CREATED)
    assert created.headers["content-type"] == "application/json"

    listed = stack.call("GET", "/v1/functions", token=token)
    assert listed.status == 200
    [function] = listed.json()
    assert {key: function[key] for key in EXPECTED_KEYS} == {
        "name": "my-app",
        "image": "nginx:alpine",
        "replicas": 2,
        "available_replicas": 2,
        "ready_replicas": 2,
        "updated_replicas": 2,
        "status": "Running",
        "created_at": function["created_at"],
    }
    assert TIMESTAMP.match(function["created_at"]), function["created_at"]
    assert function["env"] == {"ENV": "production", "LOG_LEVEL": "info"}


EXPECTED_KEYS = (
    "name",
    "image",
    "replicas",
    "available_replicas",
    "ready_replicas",
    "updated_replicas",
    "status",
    "created_at",
)


def test_an_empty_list_is_a_bare_empty_array(api: Api) -> None:
    listed = api("GET", "/v1/functions")
    assert listed.status == 200
    assert listed.body.strip() == b"[]"


def test_the_list_is_a_bare_array_sorted_by_name(api: Api) -> None:
    for name in ("beta", "alpha"):
        assert api("POST", "/v1/functions", body={"name": name, "image": "nginx"}).status == 200
    listed = api("GET", "/v1/functions")
    assert listed.body.lstrip().startswith(b"[")
    assert [f["name"] for f in listed.json()] == ["alpha", "beta"]
    assert int(listed.headers["content-length"]) == len(listed.body)


def test_zero_values_are_printed_as_numbers(api: Api) -> None:
    api("POST", "/v1/functions", body={"name": "idle", "image": "nginx", "replicas": 0})
    [function] = api("GET", "/v1/functions").json()
    assert function["replicas"] == 0
    assert function["available_replicas"] == 0
    assert function["status"] == "Stopped"
    assert function["env"] == {}
    assert function["status_message"] == ""


def test_get_answers_the_function_itself(api: Api) -> None:
    api("POST", "/v1/functions", body={"name": "my-app", "image": "nginx:alpine"})
    got = api("GET", "/v1/functions/my-app")
    assert got.status == 200
    function = got.json()
    assert function["name"] == "my-app"
    assert function["replicas"] == 1
    assert TIMESTAMP.match(function["created_at"])
    assert function == api("GET", "/v1/functions").json()[0]


def test_patch_changes_what_it_names_and_answers_the_function(api: Api) -> None:
    api("POST", "/v1/functions", body={"name": "my-app", "image": "nginx", "env": {"A": "1"}})
    patched = api("PATCH", "/v1/functions/my-app", body={"replicas": 3})
    assert patched.status == 200
    function = patched.json()
    assert (function["name"], function["replicas"], function["env"]) == ("my-app", 3, {"A": "1"})

    cleared = api("PATCH", "/v1/functions/my-app", body={"env": {}, "update_mask": "env"})
    assert cleared.json()["env"] == {}
    stopped = api("PATCH", "/v1/functions/my-app", body={"replicas": 0})
    assert (stopped.json()["replicas"], stopped.json()["status"]) == (0, "Stopped")


def test_delete_answers_a_confirmation_and_the_function_is_gone(api: Api) -> None:
    api("POST", "/v1/functions", body={"name": "my-app", "image": "nginx"})
    deleted = api("DELETE", "/v1/functions/my-app")
    assert (deleted.status, deleted.json()) == (
        200,
        {"message": "function deleted successfully", "name": "my-app"},
    )
    assert api("GET", "/v1/functions/my-app").status == 404
    assert api("GET", "/v1/functions").json() == []


def test_a_misspelt_body_field_is_ignored(api: Api) -> None:
    # Envoy's transcoder drops JSON fields the request message does not have; the README
    # says so. Here "replica" is not a field, so the function gets the default of one.
    created = api("POST", "/v1/functions", body={"name": "typo", "image": "nginx", "replica": 5})
    assert created.status == 200
    assert api("GET", "/v1/functions/typo").json()["replicas"] == 1


def test_the_token_reply_has_its_documented_fields(stack: Stack) -> None:
    issued = stack.call("POST", "/auth/token", body={})
    assert issued.status == 200
    answer = issued.json()
    assert answer["token"].count(".") == 2
    assert answer["namespace"] == "default"
    assert answer["expires_in"] > 0
    assert TIMESTAMP.match(answer["expires_at"])


@pytest.mark.parametrize("port", ["http", "dashboard"])
def test_openapi_is_served_on_both_ports(stack: Stack, port: str) -> None:
    base = stack.api if port == "http" else stack.dashboard
    served = call("GET", base + "/openapi.json")
    assert served.status == 200
    assert served.headers["content-type"] == "application/json"
    document = served.json()
    assert document["openapi"].startswith("3.")
    assert {"/auth/token", "/v1/functions", "/v1/functions/{name}"} <= set(document["paths"])


def test_the_dashboard_port_serves_the_page_and_the_api_beside_it(stack: Stack, api: Api) -> None:
    page = call("GET", stack.dashboard + "/")
    assert page.status == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.body == call("GET", stack.dashboard + "/index.html").body
    assert b"<html" in page.body.lower()

    api("POST", "/v1/functions", body={"name": "seen", "image": "nginx"})
    listed = call("GET", stack.dashboard + "/v1/functions", token=api.token)
    assert [f["name"] for f in listed.json()] == ["seen"]
    assert call("POST", stack.dashboard + "/auth/token", body={}).status == 200


def test_dashboard_files_have_content_types_by_extension(stack: Stack) -> None:
    page = call("GET", stack.dashboard + "/").body.decode()
    linked = re.findall(r'(?:src|href)="([\w./-]+\.(?:js|css|svg))"', page)
    assert linked, "the page links no script, style or image"
    kinds = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
    for path in linked:
        served = call("GET", f"{stack.dashboard}/{path.lstrip('./')}")
        assert served.status == 200, path
        suffix = path[path.rindex(".") :]
        assert served.headers["content-type"].startswith(kinds[suffix]), path


def test_an_unknown_dashboard_path_is_a_json_404(stack: Stack) -> None:
    missing = call("GET", stack.dashboard + "/no-such-file.js")
    assert missing.status == 404
    assert missing.json()["code"] == 5
    assert json.loads(missing.body)["details"] == []


def test_a_watch_streams_one_json_object_per_line(stack: Stack, api: Api) -> None:
    api("POST", "/v1/functions", body={"name": "before", "image": "nginx"})
    connection = http.client.HTTPConnection("127.0.0.1", stack.http_port, timeout=15)
    try:
        connection.request(
            "GET", "/v1/functions:watch", headers={"Authorization": f"Bearer {api.token}"}
        )
        answer = connection.getresponse()
        assert answer.status == 200
        assert answer.getheader("content-type") == "application/x-ndjson"

        def next_event() -> dict[str, Any]:
            line = answer.readline()
            assert line.strip(), "the stream ended"
            event: dict[str, Any] = json.loads(line)
            return event

        first = next_event()
        assert (first["type"], first["function"]["name"]) == ("ADDED", "before")
        assert next_event()["type"] == "SYNCED"
        api("POST", "/v1/functions", body={"name": "after", "image": "nginx", "replicas": 0})
        added = next_event()
        assert (added["type"], added["function"]["name"]) == ("ADDED", "after")
        assert added["function"]["replicas"] == 0
    finally:
        connection.close()
