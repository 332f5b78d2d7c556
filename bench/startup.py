"""How long `fnplane up` takes until every port answers, against the parts of its start that
fnplane cannot make shorter: Envoy alone on the same configuration; the bare gRPC ceiling
server, which loads grpcio and nothing of fnplane's; and that server again, loading first
every library `fnplane up` loads as it starts (`bench.ceiling.LIBRARIES`)."""

from __future__ import annotations

import compileall
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import fnplane
from bench.ceiling import LIBRARIES
from bench.servers import ceiling_answers, ceiling_argv, envoy_argv
from fnplane.envoy import config
from fnplane.server.stack import UpConfig, envoy_ready
from tests.support.processes import Child, printed_by_fresh_python
from tests.support.stack import running_stack
from tests.support.waiting import (
    free_port,
    port_answers,
    serving,
    wait_until,
)


def _ports() -> dict[str, int]:
    return {name: free_port() for name in ("http", "grpc", "dashboard", "admin")}


def _timed_start(argv: list[str], log: Path, ready: Callable[[], bool]) -> float:
    began = time.perf_counter()
    with Child(argv, log=log) as child:
        wait_until(lambda: ready() or not child.alive(), timeout=60, interval=0.005)
        elapsed = time.perf_counter() - began
        if not child.alive():
            raise RuntimeError(f"{argv[0]} exited while starting:\n{child.output()[-3000:]}")
    return elapsed


def envoy_alone(logs: Path, attempt: int) -> float:
    """Starts Envoy on the configuration `fnplane up` would write; answers the seconds until
    its public ports answer and it reports itself ready."""
    ports = _ports()
    site = config.Site(
        http_host="127.0.0.1",
        http_port=ports["http"],
        dashboard_port=ports["dashboard"],
        grpc_port=ports["grpc"],
        admin_port=ports["admin"],
        max_request_bytes=UpConfig().max_request_bytes,
    )
    path = logs / f"startup-envoy-{attempt}.yaml"
    path.write_text(config.render(site))

    def ready() -> bool:
        return (
            port_answers(ports["http"])
            and port_answers(ports["dashboard"])
            and envoy_ready(ports["admin"])
        )

    return _timed_start(envoy_argv(path), logs / f"startup-envoy-{attempt}.log", ready)


def bare_grpc_server(logs: Path, attempt: int) -> float:
    """Starts the bare gRPC ceiling server; answers the seconds until it answers its call:
    the start of a Python process that loads grpcio and serves, and nothing more."""
    return _ceiling_start(logs / f"startup-bare-{attempt}.log", with_libraries=False)


def libraries_grpc_server(logs: Path, attempt: int) -> float:
    """Starts the bare gRPC ceiling server loading fnplane's libraries first; answers the
    seconds until it answers its call: the least a server built on them takes to start."""
    return _ceiling_start(logs / f"startup-libraries-{attempt}.log", with_libraries=True)


def _ceiling_start(log: Path, *, with_libraries: bool) -> float:
    port = free_port()
    return _timed_start(
        ceiling_argv(port, with_libraries=with_libraries),
        log,
        lambda: ceiling_answers(f"127.0.0.1:{port}"),
    )


def fnplane_up(logs: Path, attempt: int) -> float:
    """Starts `fnplane up`; answers the seconds until it says it is ready on `--ready-fd`,
    having checked that the server, Envoy's public ports and its admin interface all answer.

    It is not polled, as Envoy alone is: Envoy is ready before the server, and asking the
    server every few milliseconds meanwhile, a new gRPC channel each time, took CPU from
    the very start being timed.
    """
    began = time.perf_counter()
    with running_stack(logs / f"startup-up-{attempt}.log") as stack:
        elapsed = time.perf_counter() - began
        answering = (
            port_answers(stack.http_port)
            and port_answers(stack.dashboard_port)
            and envoy_ready(stack.admin_port)
            and serving(f"127.0.0.1:{stack.grpc_port}")
        )
        if not answering:
            output = stack.child.output()
            raise RuntimeError(f"fnplane up was not ready when it said so:\n{output}")
    return elapsed


def _check_up_loads_the_libraries() -> None:
    """Raises RuntimeError unless the modules `fnplane up` runs on load every one of
    LIBRARIES, so that the floor they make holds nothing fnplane's start does not pay for."""
    program = (
        "import sys, fnplane.server.stack, fnplane.envoy.config, fnplane.server.app\n"
        f"print(*[name for name in {LIBRARIES!r} if name not in sys.modules])"
    )
    missing = printed_by_fresh_python(program)
    if missing:
        raise RuntimeError(f"fnplane up no longer loads {', '.join(missing)}: update LIBRARIES")


def measure(logs: Path, *, attempts: int = 5) -> dict[str, float | list[float]]:
    """Answers the median start time of each, over `attempts` starts taken in turn."""
    # An installation compiles fnplane's modules once (pip does at install), so that no start
    # pays for it. An editable one where bytecode is not written (PYTHONDONTWRITEBYTECODE, as
    # on the machines these figures were measured on) would compile them at every start.
    compileall.compile_dir(Path(fnplane.__file__).parent, quiet=1)
    _check_up_loads_the_libraries()
    ways = {
        "envoy": envoy_alone,
        "bare_grpc_server": bare_grpc_server,
        "libraries_grpc_server": libraries_grpc_server,
        "fnplane_up": fnplane_up,
    }
    starts: dict[str, list[float]] = {name: [] for name in ways}
    for attempt in range(attempts):
        for name, start in ways.items():
            starts[name].append(start(logs, attempt))
    results: dict[str, float | list[float]] = {}
    for name, seconds in starts.items():
        results[f"{name}_seconds"] = round(statistics.median(seconds), 3)
    for name, seconds in starts.items():
        results[f"{name}_samples"] = [round(value, 3) for value in seconds]
    return results
