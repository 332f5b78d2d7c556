"""Observing fnplane through `fnplane up`: the REST watch stream, the request id Envoy gives a
call in the server's log, JSON log lines, REST logs on the demo backend, Envoy's statistics."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.stack import Stack, running_stack
from tests.support.waiting import free_port, wait_until


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`fnplane up` with JSON logs and metrics on a free port."""
    log = tmp_path_factory.mktemp("observed") / "up.log"
    args = ("--log-format=json", f"--metrics-port={free_port()}")
    with running_stack(log, args=args) as started:
        yield started


@pytest.fixture(scope="module")
def token(stack: Stack) -> str:
    return stack.token()


class Lines:
    """An open HTTP answer read one line at a time."""

    def __init__(self, stack: Stack, path: str, token: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", stack.http_port, timeout=20)
        self.connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        self.answer = self.connection.getresponse()

    def next_json(self) -> Any:
        line = self.answer.readline()
        assert line, "the stream ended"
        return json.loads(line)

    def close(self) -> None:
        self.connection.close()


def _log_entries(stack: Stack) -> list[dict[str, Any]]:
    """Answers the JSON log lines the stack wrote so far (Envoy's own lines are not JSON)."""
    entries = []
    for line in stack.child.output().splitlines():
        if line.startswith("{"):
            entries.append(json.loads(line))
    return entries


def test_the_rest_watch_streams_one_json_object_per_line(stack: Stack, token: str) -> None:
    stack.call("POST", "/v1/functions", token=token, body={"name": "seen", "image": "nginx"})
    lines = Lines(stack, "/v1/functions:watch", token)
    try:
        assert lines.answer.status == 200
        first = lines.next_json()
        assert first["type"] == "ADDED" and first["function"]["name"] == "seen"
        assert lines.next_json()["type"] == "SYNCED"

        stack.call("PATCH", "/v1/functions/seen", token=token, body={"replicas": 3})
        changed = lines.next_json()
        assert changed["type"] == "MODIFIED"
        assert changed["function"]["replicas"] == 3
        assert changed["function"]["status"] == "Running"

        stack.call("DELETE", "/v1/functions/seen", token=token)
        assert lines.next_json()["type"] == "DELETED"
    finally:
        lines.close()


def test_the_rest_watch_needs_a_token(stack: Stack) -> None:
    reply = stack.call("GET", "/v1/functions:watch")
    assert reply.status == 401
    assert reply.json()["code"] == 16


def test_the_request_id_of_a_rest_call_is_in_the_servers_log_line(
    stack: Stack, token: str
) -> None:
    reply = stack.call("GET", "/v1/functions/nobody-has-this", token=token)
    assert reply.status == 404
    request_id = reply.headers["x-request-id"]
    assert request_id

    def access_line() -> dict[str, Any] | None:
        for entry in _log_entries(stack):
            if entry.get("request_id") == request_id and entry.get("logger") == "fnplane.access":
                return entry
        return None

    wait_until(lambda: access_line() is not None, timeout=10, what="the call's log line")
    entry = access_line()
    assert entry is not None
    assert entry["method"] == "/fnplane.v1.FunctionService/GetFunction"
    assert entry["code"] == "NOT_FOUND"
    assert entry["function"] == "nobody-has-this"
    assert entry["level"] == "INFO" and entry["time"]


def test_logs_over_rest_on_the_demo_backend_say_they_need_kubernetes(
    stack: Stack, token: str
) -> None:
    stack.call("POST", "/v1/functions", token=token, body={"name": "quiet", "image": "nginx"})
    try:
        reply = stack.call("GET", "/v1/functions/quiet/logs?tail_lines=5", token=token)
        assert reply.status == 400
        assert reply.json()["code"] == 9
        assert "kubernetes backend" in reply.json()["message"]
    finally:
        stack.call("DELETE", "/v1/functions/quiet", token=token)


def test_a_bad_log_query_names_the_field(stack: Stack, token: str) -> None:
    reply = stack.call("GET", "/v1/functions/quiet/logs?tail_lines=-1", token=token)
    assert reply.status == 400
    assert "tail_lines" in reply.json()["message"]


def test_envoy_statistics_are_served_in_prometheus_format_on_loopback(stack: Stack) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", stack.admin_port, timeout=10)
    try:
        connection.request("GET", "/stats/prometheus")
        answer = connection.getresponse()
        text = answer.read().decode()
    finally:
        connection.close()
    assert answer.status == 200
    assert "# TYPE envoy_http_downstream_rq_total counter" in text
