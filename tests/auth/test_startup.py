"""Configurations that cannot be served safely stop the server at start, saying what to fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fnplane.server import app
from fnplane.server.demo import DemoBackend
from tests.auth.conftest import credentialed_config
from tests.support.processes import Child, fnplane_argv
from tests.support.tokens import TENANT_KEYS, api_keys_setting
from tests.support.waiting import free_port


def refusal(**changes: Any) -> str:
    """Starts a server with `changes` to the credentialed configuration and answers the
    message it stops with."""
    with pytest.raises(SystemExit) as stopped:
        running = app.start(credentialed_config(**changes), backend=DemoBackend())
        running.stop(grace=0)
    return str(stopped.value)


def test_api_keys_without_a_secret_stop_the_server() -> None:
    assert "no token signing secret" in refusal(token_secret="")


def test_a_short_secret_stops_the_server_and_is_not_shown() -> None:
    message = refusal(token_secret="only-31-bytes-long-xxxxxxxxxxxx")

    assert "has 31 bytes; it needs at least 32" in message
    assert "only-31-bytes" not in message


def test_an_unreadable_secret_file_stops_the_server(tmp_path: Path) -> None:
    message = refusal(token_secret="", token_secret_file=str(tmp_path / "absent"))

    assert "--token-secret-file" in message
    assert "absent" in message


def test_a_secret_file_is_read_without_its_newline(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("s" * 32 + "\n")

    running = app.start(
        credentialed_config(token_secret="", token_secret_file=str(secret_file)),
        backend=DemoBackend(),
    )
    running.stop(grace=0)


def test_a_malformed_key_entry_is_named_without_the_key() -> None:
    message = refusal(api_keys="good-key-for-team-a-xyz=team-a,secret-lonely-key")

    assert "entry 2: expected KEY=NAMESPACE" in message
    assert "secret-lonely-key" not in message


def test_a_key_for_a_bad_namespace_name_is_refused() -> None:
    assert "'Team_A' is not a DNS-1123 label" in refusal(api_keys="some-key-value-xyz=Team_A")


def test_keys_reaching_a_namespace_outside_the_allow_list_stop_the_server() -> None:
    message = refusal(allowed_namespaces="team-a")

    assert "API keys reach namespace(s) team-b" in message


def test_a_key_for_kube_system_needs_the_allow_list_to_name_it() -> None:
    keys = api_keys_setting({**TENANT_KEYS, "kube-system": "key-for-the-cluster-itself"})

    assert "API keys reach kube-system, where Kubernetes keeps" in refusal(api_keys=keys)
    assert "API keys reach namespace(s) kube-system" in refusal(
        api_keys=keys, allowed_namespaces="team-a,team-b"
    )


def test_a_lifetime_of_zero_is_refused() -> None:
    assert "--token-lifetime-seconds must be between 1" in refusal(token_lifetime_seconds=0)


def test_fnplane_serve_stops_with_one_clear_line(tmp_path: Path) -> None:
    env = {"FNPLANE_API_KEYS": api_keys_setting(TENANT_KEYS), "FNPLANE_TOKEN_SECRET": "short"}
    argv = fnplane_argv("serve", "--listen", f"127.0.0.1:{free_port()}", "--backend", "demo")

    with Child(argv, log=tmp_path / "log", env=env) as child:
        code = child.process.wait(15)
        output = child.output()

    assert code != 0
    assert "the token signing secret has 5 bytes; it needs at least 32" in output
    assert "Traceback" not in output
    for key in TENANT_KEYS.values():
        assert key not in output
