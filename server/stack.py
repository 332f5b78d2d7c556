"""`fnplane up`: the gRPC server and Envoy (REST, gRPC, dashboard) run together and supervised.

The server and Envoy run as child processes. They are started together, waited on until each
is ready, and stopped together: on Ctrl-C or SIGTERM, and when either of them dies (then
`fnplane up` exits non-zero, since the stack is no longer whole).
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import errno
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from fnplane.envoy import binary
from fnplane.server import logs, readiness
from fnplane.server.config import ServerConfig, click_options, env_var, flag, setting

if TYPE_CHECKING:
    from fnplane.envoy import config

log = logging.getLogger("fnplane.up")

LOOPBACK = "127.0.0.1"
LISTENERS_CLOSE_SECONDS = 2.0
"""How long a stop waits for Envoy's public listeners to close before stopping the server."""
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
        """
        shared = {item.name: getattr(self, item.name) for item in dataclasses.fields(ServerConfig)}
        shared.update(listen=f"{LOOPBACK}:{self.grpc_port}", tls_cert="", tls_key="")
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
    """Runs the stack in the foreground until a signal or a child's death; answers the exit
    code (0 after a requested stop, 1 otherwise)."""
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
    """The children of `fnplane up`, started, watched and stopped as one."""

    def __init__(self, up: UpConfig, *, envoy: Path, folder: Path) -> None:
        self._up = up
        self._envoy = envoy
        self._folder = folder
        self._children: dict[str, subprocess.Popen[bytes]] = {}
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
        """Starts the server and Envoy, and answers once both are ready.

        The server goes first, since it takes the longest to become ready; Envoy's
        configuration is written while the server loads.
        """
        told = self._start_server()
        try:
            self._start_envoy()
            self._wait_until("gRPC server", lambda: _said_ready(told))
        finally:
            os.close(told)
        admin = f"{LOOPBACK}:{self._up.admin_port}"
        self._wait_until("Envoy", lambda: _envoy_ready(admin))
        log.info(
            "ready: gRPC server pid %d, Envoy pid %d",
            self._children["gRPC server"].pid,
            self._children["Envoy"].pid,
        )

    def _start_server(self) -> int:
        """Starts the gRPC server; answers the pipe on which it will say it is ready."""
        told, tell = os.pipe()
        server = dataclasses.replace(self._up.server_config(), ready_fd=tell)
        # Settings travel in the environment, not as flags: flags show in the process list,
        # and some settings (API keys, the token secret) are secrets.
        server_env = {
            env_var(item.name): _env_value(getattr(server, item.name))
            for item in dataclasses.fields(ServerConfig)
            if getattr(server, item.name) is not None
        }
        try:
            self._spawn(
                "gRPC server",
                [sys.executable, "-m", "fnplane.server"],
                env=server_env,
                pass_fds=(tell,),
            )
        except StackError:
            os.close(told)
            raise
        finally:
            os.close(tell)
        return told

    def _start_envoy(self) -> None:
        # Loaded only now, with the server already loading beside it: rendering the
        # configuration brings in YAML and the contract's descriptors.
        from fnplane.envoy import config  # noqa: PLC0415

        envoy_config = self._folder / "envoy.yaml"
        try:
            envoy_config.write_text(config.render(_site(self._up)))
        except OSError as error:
            # Only an incomplete installation lacks a file the configuration names.
            raise StackError(f"cannot write Envoy's configuration: {error}") from error
        self._spawn(
            "Envoy",
            [
                str(self._envoy),
                "--config-path",
                str(envoy_config),
                "--disable-hot-restart",
                "--log-level",
                "warning",
            ],
        )

    def supervise(self) -> int:
        """Waits for a stop signal or a child's death; answers the exit code."""
        while True:
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            if self._stop_requested is not None:
                log.info("%s received: stopping", self._stop_requested)
                return 0
            dead = self._dead_child()
            if dead is not None:
                name, code = dead
                click.echo(
                    f"fnplane: the {name} exited (code {code}); stopping the rest", err=True
                )
                return 1

    def stop(self) -> None:
        """Stops every child still running, the server first: it takes no new calls and
        finishes the ones in flight while Envoy still carries their answers back; Envoy
        stops last."""
        self._close_envoy_listeners()
        for name in list(self._children):
            child = self._children[name]
            if child.poll() is not None:
                continue
            child.terminate()
            try:
                child.wait(self._up.grace_seconds + 5)
            except subprocess.TimeoutExpired:
                log.warning("the %s did not stop in time: killing it", name)
                child.kill()
                child.wait()

    def _close_envoy_listeners(self) -> None:
        """Has Envoy stop taking connections before the server stops: a new call is then
        refused at connect, where the server would otherwise cancel it mid-stop. Calls
        already on their way through Envoy go on."""
        envoy = self._children.get("Envoy")
        if envoy is None or envoy.poll() is not None:
            return
        import urllib.request  # noqa: PLC0415 (see _envoy_ready)

        url = f"http://{LOOPBACK}:{self._up.admin_port}/drain_listeners?inboundonly"
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=2):
                pass
        except OSError as error:
            log.warning("Envoy did not close its listeners (%s); stopping anyway", error)
            return
        # Envoy answers before its listeners have closed; a connection taken in between
        # would reach the server as it stops and be cancelled, so the stop waits for them.
        host = LOOPBACK if self._up.http_host in ("0.0.0.0", "::", "") else self._up.http_host
        deadline = time.monotonic() + LISTENERS_CLOSE_SECONDS
        while time.monotonic() < deadline and _accepts(host, self._up.http_port):
            time.sleep(0.01)

    def _spawn(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str] | None = None,
        pass_fds: tuple[int, ...] = (),
    ) -> None:
        try:
            self._children[name] = subprocess.Popen(
                argv,
                env={**os.environ, **(env or {})},
                stdin=subprocess.DEVNULL,
                pass_fds=pass_fds,
                # Its own process group keeps a terminal's Ctrl-C from reaching the child
                # directly, so that the stack stops in its own order.
                process_group=0,
                preexec_fn=_stop_with_parent,  # noqa: PLW1509 (no threads run yet)
            )
        except OSError as error:
            raise StackError(f"cannot start the {name}: {error.strerror}") from error

    def _wait_until(self, name: str, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + self._up.startup_seconds
        while not ready():
            dead = self._dead_child()
            if dead is not None:
                raise StackError(f"the {dead[0]} exited (code {dead[1]}) while starting")
            if self._stop_requested is not None:
                raise StackError(f"{self._stop_requested} received while starting")
            if time.monotonic() > deadline:
                raise StackError(f"the {name} was not ready within {self._up.startup_seconds:g}s")
            self._wake.wait(timeout=READY_POLL_SECONDS)

    def _dead_child(self) -> tuple[str, int] | None:
        for name, child in self._children.items():
            code = child.poll()
            if code is not None:
                return name, code
        return None


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


def _env_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _stop_with_parent() -> None:
    # Runs in the child before it starts: asks Linux to send it SIGTERM when `fnplane up`
    # dies, even by SIGKILL, so that no child outlives the stack.
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _said_ready(told: int) -> bool:
    """Answers whether the server has written its ready line on the pipe `told`, without
    waiting; a server that dies closes the pipe, and its death is noticed by the caller."""
    readable, _, _ = select.select([told], [], [], 0)
    return bool(readable) and os.read(told, len(readiness.LINE)) == readiness.LINE


def _envoy_ready(admin: str) -> bool:
    """Answers whether the Envoy whose admin interface is at `admin` (host:port) is ready."""
    # Loaded once the children are starting rather than with `fnplane up`, whose start
    # would otherwise wait for it before starting anything.
    import urllib.request  # noqa: PLC0415

    try:
        with urllib.request.urlopen(f"http://{admin}/ready", timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def _accepts(host: str, port: int) -> bool:
    """Answers whether something takes TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False
