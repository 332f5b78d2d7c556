"""`fnplane up`: the gRPC server and Envoy (REST, gRPC, dashboard) run together and supervised.

The gRPC server runs in this process and Envoy as its child. They are started together,
waited on until each is ready, and stopped together: on Ctrl-C or SIGTERM, and when Envoy
dies (then `fnplane up` exits non-zero, since the stack is no longer whole).

The server is not a child of its own: a second Python process would load the interpreter and
most of the same modules again before serving, which made the stack's start about a third
slower and cost the memory of a second interpreter.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import errno
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from fnplane.envoy import binary
from fnplane.server import logs, readiness
from fnplane.server.config import ServerConfig, click_options, flag, setting

if TYPE_CHECKING:
    from fnplane.envoy import config
    from fnplane.server.app import RunningServer

log = logging.getLogger("fnplane.up")

LOOPBACK = "127.0.0.1"
READY_POLL_SECONDS = 0.01
"""How often starting Envoy is asked whether it is ready: how late `fnplane up` may notice."""


@dataclass(frozen=True, kw_only=True)
class UpConfig(ServerConfig):
    """How `fnplane up` runs: the server's settings, and the ports and files of the stack."""

    http_port: int = setting(8080, "Port of Envoy's public listener: REST (JSON) and gRPC.")
    grpc_port: int = setting(
        50051, "Port the gRPC server listens on, on 127.0.0.1 only; Envoy forwards to it."
    )
    dashboard_port: int = setting(
        3000, "Port of the dashboard, with the REST API beside it on the same origin."
    )
    admin_port: int = setting(9901, "Port of Envoy's admin interface, on 127.0.0.1 only.")
    http_host: str = setting(
        "0.0.0.0", "Address the public ports (--http-port, --dashboard-port) listen on."
    )
    envoy: str = setting("", "Envoy binary to run; empty means the one installed with fnplane.")
    startup_seconds: float = setting(30.0, "How long each part may take to become ready.")
    tls_cert: str = setting(
        "", "PEM certificate chain; with --tls-key, Envoy serves the public ports over TLS."
    )
    tls_key: str = setting("", "PEM private key of --tls-cert.")

    def server_config(self) -> ServerConfig:
        """Answers the settings of the gRPC server behind Envoy.

        It listens on loopback only and without TLS: Envoy is its one client, on this host.
        Readiness is told by `fnplane up`, once Envoy is ready too.
        """
        shared = {item.name: getattr(self, item.name) for item in dataclasses.fields(ServerConfig)}
        shared.update(
            listen=f"{LOOPBACK}:{self.grpc_port}",
            tls_cert="",
            tls_key="",
            ready_fd=readiness.NONE,
        )
        return ServerConfig(**shared)


@click.command()
@click_options(UpConfig, leave_out=("listen",))
def up(**settings: Any) -> None:
    """Run fnplane in the foreground: the gRPC server, and Envoy serving REST, gRPC and the
    dashboard in front of it. Stops everything on Ctrl-C or SIGTERM.

    \b
    Example:
      fnplane up --backend demo --http-port 8080 --dashboard-port 3000
    """
    config = UpConfig(**settings)
    logs.configure(config.log_level, log_format=config.log_format)
    raise SystemExit(run(config))


class StackError(Exception):
    """`fnplane up` cannot start or keep running; the message is the one line it prints."""


def run(up: UpConfig) -> int:
    """Runs the stack in the foreground until a signal or Envoy's death; answers the exit
    code (0 after a requested stop, 1 otherwise).

    A setting the server refuses ends the start with SystemExit and its one-line message,
    once Envoy, already starting, has been stopped.
    """
    try:
        envoy = binary.find(up.envoy)
        _check_ports(up)
        _check_tls(up)
        readiness.check(up.ready_fd)
    except (binary.EnvoyMissing, StackError, readiness.UnusableDescriptor) as error:
        click.echo(f"fnplane: {error}", err=True)
        return 1

    with (
        tempfile.TemporaryDirectory(prefix="fnplane-up-") as folder,
        Stack(up, envoy=envoy, folder=Path(folder)) as stack,
    ):
        try:
            stack.start()
        except StackError as error:
            click.echo(f"fnplane: {error}", err=True)
            code = 1
        else:
            click.echo(_banner(up))
            readiness.tell(up.ready_fd)
            code = stack.supervise()
    log.info("stopped: every part of the stack has exited")
    return code


def _site(up: UpConfig) -> config.Site:
    from fnplane.envoy import config  # noqa: PLC0415 (see Stack._start_envoy)

    return config.Site(
        http_host=up.http_host,
        http_port=up.http_port,
        dashboard_port=up.dashboard_port,
        grpc_port=up.grpc_port,
        admin_port=up.admin_port,
        max_request_bytes=up.max_request_bytes,
        tls_cert=up.tls_cert,
        tls_key=up.tls_key,
    )


class Stack:
    """The gRPC server and the Envoy child of `fnplane up`, started, watched and stopped as
    one."""

    def __init__(self, up: UpConfig, *, envoy: Path, folder: Path) -> None:
        self._up = up
        self._envoy_binary = envoy
        self._folder = folder
        self._envoy: subprocess.Popen[bytes] | None = None
        self._server: RunningServer | None = None
        self._wake = threading.Event()
        self._stop_requested: str | None = None

    def __enter__(self) -> Stack:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
            signal.signal(signum, self._on_signal)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if signum != signal.SIGCHLD and self._stop_requested is None:
            self._stop_requested = signal.Signals(signum).name
        self._wake.set()

    def start(self) -> None:
        """Starts Envoy and the server, and answers once both are ready.

        Envoy goes first: it starts on one core while the server loads on the other, and it
        is started before the server's threads run (see `_spawn`).
        """
        self._start_envoy()
        self._start_server()
        self._wait_until_envoy_ready()
        assert self._envoy is not None
        log.info("ready: gRPC server in pid %d, Envoy pid %d", os.getpid(), self._envoy.pid)

    def _start_server(self) -> None:
        # Loaded only now, with Envoy already starting beside it.
        from fnplane.server import app  # noqa: PLC0415

        self._server = app.start(self._up.server_config())
        app.collect_garbage_less_often()

    def _start_envoy(self) -> None:
        # Loaded only when starting: rendering the configuration brings in protobuf and the
        # contract's descriptors, which checking the settings does not need.
        from fnplane.envoy import config  # noqa: PLC0415

        envoy_config = self._folder / "envoy.yaml"
        try:
            envoy_config.write_text(config.render(_site(self._up)))
        except OSError as error:
            # Only an incomplete installation lacks a file the configuration names.
            raise StackError(f"cannot write Envoy's configuration: {error}") from error
        self._envoy = _spawn(
            "Envoy",
            [
                str(self._envoy_binary),
                "--config-path",
                str(envoy_config),
                "--disable-hot-restart",
                "--log-level",
                "warning",
            ],
        )

    def supervise(self) -> int:
        """Waits for a stop signal or Envoy's death; answers the exit code."""
        while True:
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            if self._stop_requested is not None:
                log.info("%s received: stopping", self._stop_requested)
                return 0
            code = self._envoy_exit_code()
            if code is not None:
                click.echo(f"fnplane: Envoy exited (code {code}); stopping the server", err=True)
                return 1

    def stop(self) -> None:
        """Stops what is running: Envoy answers new calls 503 (UNAVAILABLE) at once, the
        calls in flight finish within the grace period while the server still serves, then
        the server stops, and Envoy last."""
        if self._server is not None:
            # Only a server that has started has calls in flight to finish.
            deadline = time.monotonic() + self._up.grace_seconds
            if self._refuse_new_calls():
                self._wait_until_envoy_idle(deadline)
            self._server.stop(max(0.0, deadline - time.monotonic()))
            self._server = None
        envoy = self._envoy
        if envoy is None or envoy.poll() is not None:
            return
        envoy.terminate()
        try:
            envoy.wait(self._up.grace_seconds + 5)
        except subprocess.TimeoutExpired:
            log.warning("Envoy did not stop in time: killing it")
            envoy.kill()
            envoy.wait()

    def _refuse_new_calls(self) -> bool:
        """Has Envoy answer every new call 503 (UNAVAILABLE) by itself; answers whether it
        took the order.

        Envoy keeps its ports open meanwhile: closing them instead reset the connections that
        clients had just opened, before Envoy had taken them. Envoy's threads take the order
        a moment after it is given, so a call may still slip through; the server, which
        serves until Envoy holds no call, answers it.
        """
        if self._envoy is None or self._envoy.poll() is not None:
            return False
        from fnplane.envoy.config import STOPPING_RUNTIME_KEY  # noqa: PLC0415 (loaded already)

        try:
            _admin_call(
                self._up.admin_port, f"/runtime_modify?{STOPPING_RUNTIME_KEY}=100", method="POST"
            )
        except OSError as error:
            log.warning("Envoy did not stop taking calls (%s); stopping anyway", error)
            return False
        log.info("Envoy refuses new calls; calls in flight get %gs", self._up.grace_seconds)
        return True

    def _wait_until_envoy_idle(self, deadline: float) -> None:
        """Waits until Envoy holds no call from a client, or until `deadline` (a monotonic
        time), whichever comes first."""
        servicer = self._server.servicer if self._server is not None else None
        while True:
            # Watches and followed logs never finish on their own; another may have begun
            # since the last were ended, in the moment before Envoy refused new calls.
            if servicer is not None:
                servicer.end_streams()
            try:
                held = _calls_held(self._up.admin_port)
            except (OSError, ValueError, KeyError) as error:
                log.warning("cannot read Envoy's calls in flight (%s); stopping anyway", error)
                return
            if held == 0:
                return
            if time.monotonic() >= deadline:
                log.warning("%d calls still in flight after the grace period: ending them", held)
                return
            time.sleep(0.01)

    def _wait_until_envoy_ready(self) -> None:
        deadline = time.monotonic() + self._up.startup_seconds
        while not envoy_ready(self._up.admin_port):
            code = self._envoy_exit_code()
            if code is not None:
                raise StackError(f"Envoy exited (code {code}) while starting")
            if self._stop_requested is not None:
                raise StackError(f"{self._stop_requested} received while starting")
            if time.monotonic() > deadline:
                raise StackError(f"Envoy was not ready within {self._up.startup_seconds:g}s")
            self._wake.wait(timeout=READY_POLL_SECONDS)

    def _envoy_exit_code(self) -> int | None:
        return None if self._envoy is None else self._envoy.poll()


def _spawn(name: str, argv: list[str]) -> subprocess.Popen[bytes]:
    """Starts the child `name` running `argv`, to be stopped with `fnplane up`.

    The child is set up by Python code run between fork and exec, which a lock held by
    another thread at the fork could block: that code makes one system call through a
    function found beforehand, and the stack starts Envoy before the server's threads run.
    """
    try:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            # Its own process group keeps a terminal's Ctrl-C from reaching the child
            # directly, so that the stack stops in its own order.
            process_group=0,
            preexec_fn=_stop_with_parent,  # noqa: PLW1509 (see the docstring)
        )
    except OSError as error:
        raise StackError(f"cannot start {name}: {error.strerror}") from error


def _check_ports(up: UpConfig) -> None:
    """Raises StackError naming the first port of the stack that something else holds."""
    wanted = [
        ("http_port", up.http_host, up.http_port),
        ("dashboard_port", up.http_host, up.dashboard_port),
        ("grpc_port", LOOPBACK, up.grpc_port),
        ("admin_port", LOOPBACK, up.admin_port),
    ]
    seen: dict[int, str] = {}
    for name, host, port in wanted:
        if port in seen:
            raise StackError(f"{flag(name)} and {flag(seen[port])} are both {port}: pick two")
        seen[port] = name
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with contextlib.closing(socket.socket(family, socket.SOCK_STREAM)) as probe:
            # As Envoy and gRPC do, so that connections closing on the port do not count.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    raise StackError(
                        f"port {port} ({flag(name)}) is already in use on {host}: "
                        "stop what holds it or choose another port"
                    ) from error
                raise StackError(
                    f"cannot listen on {host}:{port} ({flag(name)}): {error.strerror}"
                ) from error


def _check_tls(up: UpConfig) -> None:
    if bool(up.tls_cert) != bool(up.tls_key):
        raise StackError("--tls-cert and --tls-key go together: give both or neither")
    for name in ("tls_cert", "tls_key"):
        path = getattr(up, name)
        if path and not os.access(path, os.R_OK):
            raise StackError(f"cannot read {flag(name)} {path}")


def _banner(up: UpConfig) -> str:
    scheme = "https" if up.tls_cert else "http"
    host = "localhost" if up.http_host in ("0.0.0.0", "::") else up.http_host
    api = f"{scheme}://{host}:{up.http_port}"
    return "\n".join(
        [
            f"fnplane is up (backend: {up.backend})",
            f"  REST and gRPC  {api}",
            f"  OpenAPI        {api}/openapi.json",
            f"  dashboard      {scheme}://{host}:{up.dashboard_port}",
            f"  gRPC server    {LOOPBACK}:{up.grpc_port} (behind Envoy)",
            f"  Envoy admin    http://{LOOPBACK}:{up.admin_port}",
            "Press Ctrl-C to stop.",
        ]
    )


_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None
_PR_SET_PDEATHSIG = 1


def _stop_with_parent() -> None:
    # Runs in the child before it starts: asks Linux to send it SIGTERM when `fnplane up`
    # dies, even by SIGKILL, so that no child outlives the stack.
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)


def envoy_ready(admin_port: int) -> bool:
    """Answers whether the Envoy whose admin interface is on `admin_port` is ready."""
    try:
        _admin_call(admin_port, "/ready", timeout=1)
    except OSError:
        return False
    return True


def _admin_call(admin_port: int, path: str, *, method: str = "GET", timeout: float = 2.0) -> bytes:
    """Answers the body of the answer of Envoy's admin interface, on loopback `admin_port`,
    to `path`; raises OSError when it cannot be reached or answers other than 200."""
    # Loaded once Envoy is starting rather than with `fnplane up`, whose start would
    # otherwise wait for it before starting anything.
    import urllib.request  # noqa: PLC0415

    request = urllib.request.Request(f"http://{LOOPBACK}:{admin_port}{path}", method=method)
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return bytes(answer.read())


def _calls_held(admin_port: int) -> int:
    """Answers how many calls from clients the Envoy whose admin interface is on
    `admin_port` holds: on their way to the server, being answered, or being refused."""
    import json  # noqa: PLC0415

    found = _admin_call(admin_port, "/stats?format=json&filter=downstream_rq_active$")
    stats = json.loads(found)
    # Each HTTP listener counts its calls under its own prefix; the admin interface's own
    # (this very request) is left out.
    return sum(
        int(stat["value"])
        for stat in stats["stats"]
        if stat["name"].startswith("http.") and not stat["name"].startswith("http.admin.")
    )
