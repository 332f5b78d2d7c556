"""`fnplane functions ...` and `fnplane token` as a user runs them against a real server:
every command, every output format, and every failure as one line with its exit code."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from fnplane.client import FunctionsClient
from fnplane.client.cli import cli
from fnplane.client.failures import ExitCode
from fnplane.server import errors as server_errors
from fnplane.v1 import auth_pb2
from fnplane.v1 import functions_pb2 as pb
from tests.client.conftest import ScriptedBackend, StartServer
from tests.support.certificates import self_signed
from tests.support.tokens import TENANT_KEYS
from tests.support.waiting import free_port

RFC3339_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
FUNCTION_FIELDS = [f.name for f in pb.Function.DESCRIPTOR.fields]
TOKEN_FIELDS = [f.name for f in auth_pb2.IssueTokenResponse.DESCRIPTOR.fields]


def fnplane(*args: str, server: str | None = None, **env: str) -> Result:
    """Runs `fnplane ARGS` with FNPLANE_SERVER set to `server`, and checks that whatever
    happened, it ended with an exit code and no traceback."""
    environment = {"FNPLANE_SERVER": server, "FNPLANE_API_KEY": None, "COLUMNS": "120", **env}
    result = CliRunner().invoke(cli, list(args), env=environment, prog_name="fnplane")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


def failed_with(result: Result, code: ExitCode) -> str:
    """Checks that `result` failed with `code` and one line on stderr, and answers it."""
    assert result.exit_code == code, (result.exit_code, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("fnplane: ")
    assert result.stdout == ""
    return lines[0]


def test_create_prints_what_it_did(address: str) -> None:
    made = fnplane(
        "functions",
        "create",
        "hello",
        "--image",
        "nginx:alpine",
        "--replicas",
        "2",
        "--env",
        "GREETING=hi",
        "-e",
        "MODE=a=b",
        server=address,
    )

    assert made.exit_code == 0, made.stderr
    assert made.stdout == "Created function hello.\n"
    with FunctionsClient(address) as client:
        function = client.get("hello")
    assert (function.replicas, function.env) == (2, {"GREETING": "hi", "MODE": "a=b"})

    as_json = fnplane(
        "functions", "create", "other", "--image", "busybox", "-o", "json", server=address
    )
    assert json.loads(as_json.stdout) == {
        "name": "other",
        "message": "function created successfully",
    }


def test_list_prints_a_table_of_name_image_ready_status_and_age(address: str) -> None:
    with FunctionsClient(address) as client:
        client.create("hello", image="nginx:alpine", replicas=2)
        client.create("stopped", image="busybox", replicas=0)

    listed = fnplane("functions", "list", server=address)

    assert listed.exit_code == 0, listed.stderr
    header, *rows = listed.stdout.strip().splitlines()
    assert header.split() == ["NAME", "IMAGE", "READY", "STATUS", "AGE"]
    assert [row.split()[:4] for row in rows] == [
        ["hello", "nginx:alpine", "2/2", "Running"],
        ["stopped", "busybox", "0/0", "Stopped"],
    ]
    assert all(re.fullmatch(r"\d+[smhd]", row.split()[4]) for row in rows)


def test_the_table_fits_a_narrow_terminal(address: str) -> None:
    image = "registry.example.com/a-rather-long/path/to/an/image:with-a-long-tag-1.2.3"
    with FunctionsClient(address) as client:
        client.create("a-function-with-a-long-name", image=image)

    listed = fnplane("functions", "list", server=address, COLUMNS="60")

    assert listed.exit_code == 0
    lines = listed.stdout.rstrip("\n").splitlines()
    assert all(len(line) <= 60 for line in lines), lines
    assert "Running" in listed.stdout
    assert "".join(listed.stdout.split()).count("with-a-long-tag-1.2.3") == 1


def test_an_empty_list_says_how_to_start(address: str) -> None:
    listed = fnplane("functions", "list", server=address)
    assert listed.exit_code == 0
    assert "fnplane functions create" in listed.stdout
    assert json.loads(fnplane("functions", "list", "-o", "json", server=address).stdout) == []


@pytest.mark.parametrize("output", ["json", "yaml"])
def test_machine_output_uses_the_rest_field_names(address: str, output: str) -> None:
    with FunctionsClient(address) as client:
        client.create("hello", image="nginx:alpine", env={"A": "1"}, memory_limit="128Mi")
        expected = client.get("hello").as_rest()
    parse = json.loads if output == "json" else yaml.safe_load

    listed = parse(fnplane("functions", "list", "-o", output, server=address).stdout)
    got = parse(fnplane("functions", "get", "hello", "-o", output, server=address).stdout)
    updated = parse(
        fnplane(
            "functions", "update", "hello", "--replicas", "3", "-o", output, server=address
        ).stdout
    )

    assert listed == [expected]
    assert got == expected
    assert list(got) == FUNCTION_FIELDS
    assert RFC3339_Z.fullmatch(got["created_at"])
    assert (got["env"], got["memory_limit"], got["ready_replicas"]) == ({"A": "1"}, "128Mi", 1)
    assert updated == {
        **expected,
        "replicas": 3,
        "available_replicas": 3,
        "ready_replicas": 3,
        "updated_replicas": 3,
    }


def test_get_shows_every_field_a_person_needs(address: str) -> None:
    with FunctionsClient(address) as client:
        client.create("hello", image="nginx:alpine", env={"GREETING": "hi"}, cpu_request="250m")

    shown = fnplane("functions", "get", "hello", server=address)

    assert shown.exit_code == 0
    text = shown.stdout
    for expected in (
        "hello",
        "nginx:alpine",
        "Running",
        "GREETING=hi",
        "cpu request 250m",
        "1 desired, 1 ready",
    ):
        assert expected in text
    assert re.search(r"Created\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", text)


def test_update_changes_what_is_given(address: str) -> None:
    with FunctionsClient(address) as client:
        client.create("hello", image="nginx:alpine", env={"A": "1"})

    changed = fnplane(
        "functions", "update", "hello", "--image", "nginx:1.27", "--env", "B=2", server=address
    )
    assert changed.exit_code == 0, changed.stderr
    assert "nginx:1.27" in changed.stdout
    with FunctionsClient(address) as client:
        assert (client.get("hello").image, client.get("hello").env) == ("nginx:1.27", {"B": "2"})

    cleared = fnplane("functions", "update", "hello", "--clear-env", "-o", "json", server=address)
    assert json.loads(cleared.stdout)["env"] == {}


def test_update_without_changes_is_invalid_input(address: str) -> None:
    line = failed_with(
        fnplane("functions", "update", "hello", server=address), ExitCode.INVALID_INPUT
    )
    assert "nothing to change" in line
    both = fnplane("functions", "update", "hello", "--env", "A=1", "--clear-env", server=address)
    assert "not both" in failed_with(both, ExitCode.INVALID_INPUT)


def test_delete_with_yes_deletes_at_once(address: str) -> None:
    with FunctionsClient(address) as client:
        client.create("hello", image="nginx:alpine")
        client.create("other", image="nginx:alpine")

    deleted = fnplane("functions", "delete", "hello", "--yes", server=address)
    assert deleted.exit_code == 0
    assert deleted.stdout == "Deleted function hello.\n"
    as_yaml = fnplane("functions", "delete", "other", "-y", "-o", "yaml", server=address)
    assert yaml.safe_load(as_yaml.stdout) == {
        "name": "other",
        "message": "function deleted successfully",
    }
    with FunctionsClient(address) as client:
        assert client.list() == []


def test_delete_asks_first_and_keeps_the_function_unless_told_yes(address: str) -> None:
    with FunctionsClient(address) as client:
        client.create("hello", image="nginx:alpine")
    runner = CliRunner()
    env = {"FNPLANE_SERVER": address}

    declined = runner.invoke(cli, ["functions", "delete", "hello"], input="n\n", env=env)
    assert declined.exit_code == ExitCode.FAILED
    assert "Delete function hello" in declined.stderr
    assert "not deleted" in declined.stderr.splitlines()[-1]
    unanswered = runner.invoke(cli, ["functions", "delete", "hello"], input="", env=env)
    assert unanswered.exit_code == ExitCode.FAILED
    with FunctionsClient(address) as client:
        assert client.get("hello").name == "hello"

    confirmed = runner.invoke(cli, ["functions", "delete", "hello"], input="y\n", env=env)
    assert confirmed.exit_code == 0
    assert confirmed.stdout == "Deleted function hello.\n"
    with FunctionsClient(address) as client:
        assert client.list() == []


def test_token_prints_a_bare_token_or_the_rest_reply(keyed_address: str) -> None:
    key = TENANT_KEYS["team-a"]

    bare = fnplane("token", server=keyed_address, FNPLANE_API_KEY=key)
    assert bare.exit_code == 0, bare.stderr
    token = bare.stdout.strip()
    assert token.count(".") == 2
    assert bare.stdout == token + "\n"

    reply = json.loads(
        fnplane("token", "--api-key", key, "-o", "json", server=keyed_address).stdout
    )
    assert list(reply) == TOKEN_FIELDS
    assert reply["namespace"] == "team-a"
    assert RFC3339_Z.fullmatch(reply["expires_at"])
    assert reply["expires_in"] > 0


def test_not_found_exits_3_naming_the_function(address: str) -> None:
    for args in (["get", "nope"], ["update", "nope", "--replicas", "1"], ["delete", "nope", "-y"]):
        line = failed_with(fnplane("functions", *args, server=address), ExitCode.NOT_FOUND)
        assert f"cannot {args[0]} function nope" in line
        assert "not found" in line


def test_invalid_input_exits_2_naming_each_field(address: str) -> None:
    result = fnplane(
        "functions", "create", "Bad_Name", "--image", "has space", "--env", "1X=v", server=address
    )
    line = failed_with(result, ExitCode.INVALID_INPUT)
    assert line.startswith("fnplane: cannot create function Bad_Name: invalid input: ")
    for field in ("name: ", "image: ", "env"):
        assert field in line

    fnplane("functions", "create", "hello", "--image", "nginx:alpine", server=address)
    scaled = fnplane("functions", "update", "hello", "--replicas", "-1", server=address)
    assert "replicas: must be between 0 and 100" in failed_with(scaled, ExitCode.INVALID_INPUT)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["functions", "get"], "Missing argument 'NAME'"),
        (["functions", "create", "x"], "Missing option '--image'"),
        (["functions", "create", "x", "--image", "y", "--env", "NOEQUALS"], "KEY=VALUE"),
        (["functions", "create", "x", "--image", "y", "--replicas", "two"], "not a valid integer"),
        (["functions", "list", "-o", "xml"], "'xml' is not one of 'json', 'yaml'"),
        (["functions", "frobnicate"], "No such command 'frobnicate'"),
        (["token", "--no-such-flag"], "No such option '--no-such-flag'"),
    ],
)
def test_bad_command_lines_exit_2_with_one_line(args: list[str], expected: str) -> None:
    line = failed_with(fnplane(*args, server="127.0.0.1:1"), ExitCode.INVALID_INPUT)
    assert expected in line
    assert re.search(r"\(see fnplane [a-z ]+ --help\)$", line)


def test_an_unreadable_ca_file_is_invalid_input(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    result = fnplane("functions", "list", "--ca-file", str(missing), server="127.0.0.1:1")
    line = failed_with(result, ExitCode.INVALID_INPUT)
    assert f"--ca-file {missing}" in line


@pytest.mark.parametrize(
    ("args", "complaint"),
    [(["--server", ""], "is not HOST:PORT"), (["--timeout", "0"], "more than 0 seconds")],
)
def test_settings_that_cannot_work_are_invalid_input(args: list[str], complaint: str) -> None:
    result = fnplane("functions", "list", *args, server="127.0.0.1:1")
    assert complaint in failed_with(result, ExitCode.INVALID_INPUT)


def test_a_taken_name_exits_6(address: str) -> None:
    fnplane("functions", "create", "hello", "--image", "nginx:alpine", server=address)
    again = fnplane("functions", "create", "hello", "--image", "nginx:alpine", server=address)
    assert "already exists" in failed_with(again, ExitCode.ALREADY_EXISTS)


def test_auth_failures_exit_4(keyed_address: str, scripted: tuple[str, ScriptedBackend]) -> None:
    no_key = failed_with(fnplane("functions", "list", server=keyed_address), ExitCode.AUTH_FAILED)
    assert "not authenticated" in no_key
    assert "FNPLANE_API_KEY" in no_key

    wrong = fnplane("token", "--api-key", "wrong", server=keyed_address)
    assert "not authenticated" in failed_with(wrong, ExitCode.AUTH_FAILED)

    address, backend = scripted
    backend.fail_next("list", server_errors.PermissionDenied("the cluster forbids listing"))
    denied = failed_with(fnplane("functions", "list", server=address), ExitCode.AUTH_FAILED)
    assert "permission denied: the cluster forbids listing" in denied


def test_an_unreachable_server_exits_5() -> None:
    address = f"127.0.0.1:{free_port()}"
    for args in (["functions", "list"], ["functions", "create", "x", "--image", "y"], ["token"]):
        line = failed_with(fnplane(*args, server=address), ExitCode.UNREACHABLE)
        assert f"fnplane at {address} is unreachable" in line


def test_a_server_that_does_not_answer_in_time_exits_5(
    scripted: tuple[str, ScriptedBackend],
) -> None:
    address, backend = scripted
    fnplane("functions", "create", "hello", "--image", "nginx:alpine", server=address)
    backend.stalled.set()

    late = fnplane("functions", "get", "hello", "--timeout", "0.3", server=address)

    assert "did not answer within 0.3s" in failed_with(late, ExitCode.UNREACHABLE)


def test_the_server_comes_from_the_flag_before_the_environment(address: str) -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    assert fnplane("functions", "list", server=nowhere).exit_code == ExitCode.UNREACHABLE
    assert fnplane("functions", "list", "--server", address, server=nowhere).exit_code == 0


def test_tls_is_asked_for_with_flags(
    start_server: StartServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    certificate = self_signed(tmp_path_factory.mktemp("tls"))
    running = start_server(tls_cert=str(certificate.cert_path), tls_key=str(certificate.key_path))
    address = f"127.0.0.1:{running.port}"

    trusted = fnplane("functions", "list", "--ca-file", str(certificate.cert_path), server=address)
    assert trusted.exit_code == 0, trusted.stderr

    plain = fnplane("functions", "list", "--timeout", "3", server=address)
    failed_with(plain, ExitCode.UNREACHABLE)


@pytest.mark.parametrize(
    "command",
    [
        ["functions"],
        ["functions", "create"],
        ["functions", "list"],
        ["functions", "get"],
        ["functions", "update"],
        ["functions", "delete"],
        ["token"],
    ],
)
def test_every_command_explains_itself_with_an_example(command: list[str]) -> None:
    shown = fnplane(*command, "--help")
    assert shown.exit_code == 0
    assert "Example" in shown.stdout
    assert "fnplane " + " ".join(command) in shown.stdout.split("Example", 1)[1]
    assert "Exit codes:" in shown.stdout
    assert "FNPLANE_SERVER" in shown.stdout or command == ["functions"]
