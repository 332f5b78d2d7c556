"""`fnplane serve` as a user runs it: flags, environment, signals."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import grpc
import pytest

from fnplane.v1 import functions_pb2 as pb
from fnplane.v1.functions_pb2_grpc import FunctionServiceStub
from tests.grpc_errors import details
from tests.support.processes import Child, fnplane_argv, printed_by_fresh_python
from tests.support.tokens import signed_in
from tests.support.waiting import free_port, read_until_closed, serving, wait_until


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_server_cleanly(tmp_path: Path, signum: int) -> None:
    port = free_port()
    with Child(
        fnplane_argv("serve", "--listen", f"127.0.0.1:{port}"), log=tmp_path / "log"
    ) as child:
        wait_until(lambda: serving(f"127.0.0.1:{port}"), what="server healthy")

        child.signal(signum)

        assert child.process.wait(15) == 0
        output = child.output()
        assert f"{signal.Signals(signum).name} received" in output
        assert output.rstrip().endswith("stopped")


def test_settings_come_from_fnplane_variables(tmp_path: Path) -> None:
    port = free_port()
    env = {
        "FNPLANE_LISTEN": f"127.0.0.1:{port}",
        "FNPLANE_BACKEND": "demo",
        "FNPLANE_MAX_REPLICAS": "3",
    }
    with Child(fnplane_argv("serve"), log=tmp_path / "log", env=env) as child:
        wait_until(lambda: serving(f"127.0.0.1:{port}"), what="server healthy")
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            functions = FunctionServiceStub(signed_in(channel))
            with pytest.raises(grpc.RpcError) as refused:
                functions.CreateFunction(
                    pb.CreateFunctionRequest(name="a", image="nginx", replicas=4), timeout=5
                )

        assert "between 0 and 3" in details(refused.value)
        # Log lines are written by a thread of their own, a moment after the event.
        wait_until(lambda: "backend demo (asked for)" in child.output(), what="the backend line")


def test_a_taken_address_is_one_clear_line_and_a_failure(tmp_path: Path) -> None:
    port = free_port()
    with Child(
        fnplane_argv("serve", "--listen", f"127.0.0.1:{port}"), log=tmp_path / "a"
    ) as first:
        wait_until(lambda: serving(f"127.0.0.1:{port}"), what="first server healthy")
        with Child(
            fnplane_argv("serve", "--listen", f"127.0.0.1:{port}"), log=tmp_path / "b"
        ) as second:
            code = second.process.wait(15)

            assert code != 0
            assert f"cannot listen on 127.0.0.1:{port}" in second.output()
            assert "Traceback" not in second.output()
        assert first.alive()


def test_a_demo_server_starts_without_loading_the_kubernetes_client() -> None:
    # The kubernetes client takes about a fifth of a second to import; a server asked for the
    # demo backend should not pay for it on each start.
    program = (
        "import sys\n"
        "from fnplane.server import app\n"
        "from fnplane.server.config import ServerConfig\n"
        "from fnplane.server.validation import Limits\n"
        "backend = app.choose_backend(ServerConfig(backend='demo'), Limits())\n"
        "print(backend.name, 'kubernetes' in sys.modules)\n"
    )
    assert printed_by_fresh_python(program) == ["demo", "False"]


def test_the_server_says_ready_on_the_descriptor_it_is_given_once_it_serves(
    tmp_path: Path,
) -> None:
    port = free_port()
    told, tell = os.pipe()
    argv = fnplane_argv("serve", "--listen", f"127.0.0.1:{port}", "--ready-fd", str(tell))
    with Child(argv, log=tmp_path / "log", pass_fds=[tell]) as child:
        os.close(tell)
        try:
            said = read_until_closed(told, what="the server's ready pipe")
        finally:
            os.close(told)

        # No waiting: by the time the line is written, calls are served.
        assert said == b"READY\n"
        assert serving(f"127.0.0.1:{port}")
        assert child.alive()


@pytest.mark.parametrize("given", ["not-open", "read-only"])
def test_a_ready_descriptor_that_cannot_be_written_stops_the_start_in_one_line(
    tmp_path: Path, given: str
) -> None:
    read_end, write_end = os.pipe()
    fd = 97 if given == "not-open" else read_end
    try:
        done = subprocess.run(
            fnplane_argv("serve", "--listen", f"127.0.0.1:{free_port()}", "--ready-fd", str(fd)),
            capture_output=True,
            text=True,
            timeout=60,
            pass_fds=[read_end],
            check=False,
        )
    finally:
        os.close(read_end)
        os.close(write_end)

    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert lines == [
        f"fnplane: --ready-fd {fd} is "
        + ("not an open file descriptor" if given == "not-open" else "not open for writing")
    ]


def test_a_server_loads_pyjwt_only_when_it_first_handles_a_token() -> None:
    # PyJWT (with cryptography, where installed) took longer to import than the rest of the
    # server; a starting server should not wait for it.
    program = (
        "import sys, grpc\n"
        "from fnplane.server import app\n"
        "from fnplane.server.config import ServerConfig\n"
        "from fnplane.v1 import auth_pb2, auth_pb2_grpc\n"
        "config = ServerConfig(listen='127.0.0.1:0', backend='demo', metrics_port=0)\n"
        "running = app.start(config)\n"
        "before = 'jwt' in sys.modules\n"
        "with grpc.insecure_channel(f'127.0.0.1:{running.port}') as channel:\n"
        "    auth_pb2_grpc.AuthServiceStub(channel).IssueToken(\n"
        "        auth_pb2.IssueTokenRequest(), timeout=10)\n"
        "print(before, 'jwt' in sys.modules)\n"
        "running.stop(0)\n"
    )
    assert printed_by_fresh_python(program) == ["False", "True"]
