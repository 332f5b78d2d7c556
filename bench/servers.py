"""The processes a run starts: fnplane's server, `fnplane up`, the ceilings; always stopped."""

from __future__ import annotations

import contextlib
import secrets
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc

from bench.ceiling import METHOD
from bench.grpc_load import CHANNEL_OPTIONS
from bench.processes import children, command_line
from fnplane.envoy import binary
from fnplane.server.config import ServerConfig
from fnplane.server.stack import envoy_ready
from fnplane.v1 import functions_pb2 as pb
from fnplane.v1 import functions_pb2_grpc
from tests.support.processes import Child
from tests.support.stack import Stack, running_stack
from tests.support.tokens import api_keys_setting, issue_token
from tests.support.waiting import free_port, serving, wait_until


@dataclass(frozen=True)
class Tenants:
    """Credentials for a server with one namespace per purpose, so that the functions made
    by one measurement never change the N of another."""

    keys: dict[str, str]
    secret: str

    @classmethod
    def make(cls, namespaces: Sequence[str]) -> Tenants:
        return cls(
            keys={namespace: secrets.token_urlsafe(24) for namespace in namespaces},
            secret=secrets.token_urlsafe(48),
        )

    def env(self) -> dict[str, str]:
        """The environment that makes `fnplane serve` or `fnplane up` accept these keys."""
        return {
            "FNPLANE_API_KEYS": api_keys_setting(self.keys),
            "FNPLANE_TOKEN_SECRET": self.secret,
            "FNPLANE_LOG_LEVEL": "info",
            # Room for the largest N and for every function the create runs make.
            "FNPLANE_MAX_FUNCTIONS": str(10**7),
            # A free port rather than the fixed default, so that runs and tests can overlap.
            "FNPLANE_METRICS_PORT": str(free_port()),
        }

    def tokens(self, target: str) -> dict[str, str]:
        """Answers a token per namespace, issued by the server at `target`."""
        with grpc.insecure_channel(target) as channel:
            return {name: issue_token(channel, key) for name, key in self.keys.items()}


@dataclass(frozen=True)
class UpStack:
    """A running `fnplane up` with the ids of its server's process (`fnplane up` itself) and
    of Envoy's."""

    stack: Stack
    server_pid: int
    envoy_pid: int

    @property
    def grpc_target(self) -> str:
        """The gRPC server itself, behind Envoy."""
        return f"127.0.0.1:{self.stack.grpc_port}"


@contextlib.contextmanager
def fnplane_up(logs: Path, env: dict[str, str]) -> Iterator[UpStack]:
    """Runs `fnplane up` (demo backend) on free ports until the block ends."""
    with running_stack(logs / "up.log", env=env, args=["--grace-seconds=1"]) as stack:
        # The gRPC server runs in the `fnplane up` process itself, Envoy as its child.
        up = stack.child.process.pid
        envoys = [pid for pid in children(up) if Path(command_line(pid)[0]).name == "envoy"]
        if len(envoys) != 1:
            raise RuntimeError(f"fnplane up (pid {up}) runs no Envoy that could be found")
        yield UpStack(stack=stack, server_pid=up, envoy_pid=envoys[0])


@contextlib.contextmanager
def fnplane_server(logs: Path, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """Runs `fnplane serve` (demo backend) on a free port; yields its address and pid."""
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "fnplane.server",
        f"--listen=127.0.0.1:{port}",
        "--backend=demo",
        "--grace-seconds=1",
    ]
    with Child(argv, log=logs / "serve.log", env=env) as child:
        target = f"127.0.0.1:{port}"
        wait_until(lambda: serving(target) or not child.alive(), timeout=30, what="fnplane serve")
        if not child.alive():
            raise RuntimeError(f"fnplane serve exited:\n{child.output()[-3000:]}")
        yield target, child.process.pid


@contextlib.contextmanager
def ceiling_server(logs: Path) -> Iterator[tuple[str, int]]:
    """Runs the bare gRPC ceiling on a free port; yields its address and pid."""
    port = free_port()
    argv = ceiling_argv(port)
    with Child(argv, log=logs / "ceiling.log") as child:
        target = f"127.0.0.1:{port}"
        wait_until(
            lambda: ceiling_answers(target) or not child.alive(), timeout=30, what="the ceiling"
        )
        if not child.alive():
            raise RuntimeError(f"the ceiling server exited:\n{child.output()[-3000:]}")
        yield target, child.process.pid


def ceiling_argv(port: int, *, with_libraries: bool = False) -> list[str]:
    """The command line of the bare gRPC ceiling on 127.0.0.1:`port`, with fnplane's number
    of worker threads; `with_libraries` has it load fnplane's libraries first."""
    return [
        sys.executable,
        "-m",
        "bench.ceiling",
        f"--port={port}",
        f"--workers={ServerConfig().workers}",
        *(["--with-libraries"] if with_libraries else []),
    ]


def ceiling_answers(target: str) -> bool:
    """Answers whether the bare gRPC ceiling at `target` answers its call."""
    with grpc.insecure_channel(target) as channel:
        try:
            channel.unary_unary(METHOD, None, None)(b"", timeout=1)
        except grpc.RpcError:
            return False
    return True


@contextlib.contextmanager
def envoy(config: str, *, admin_port: int, logs: Path, name: str) -> Iterator[Child]:
    """Runs fnplane's Envoy binary on `config` (as `fnplane up` does) until it is ready."""
    path = logs / f"{name}.yaml"
    path.write_text(config)
    with Child(envoy_argv(path), log=logs / f"{name}.log") as child:
        wait_until(
            lambda: envoy_ready(admin_port) or not child.alive(),
            timeout=30,
            what=f"{name} to be ready",
        )
        if not child.alive():
            raise RuntimeError(f"{name} exited:\n{child.output()}")
        yield child


def envoy_argv(config: Path) -> list[str]:
    """The command line `fnplane up` starts Envoy with."""
    return [
        str(binary.find()),
        "--config-path",
        str(config),
        "--disable-hot-restart",
        "--log-level",
        "warning",
    ]


def sample_function(name: str) -> pb.CreateFunctionRequest:
    """The function every populated namespace holds many of: a typical, small one."""
    return pb.CreateFunctionRequest(
        name=name,
        image="registry.example.com/team/app:1.4.2",
        replicas=2,
        env={"ENV": "production", "LOG_LEVEL": "info"},
    )


def populate(target: str, token: str, count: int, *, start: int = 0) -> float:
    """Creates functions fn-START .. fn-(COUNT-1) over gRPC; answers the seconds it took."""
    metadata = (("authorization", f"Bearer {token}"),)
    began = time.perf_counter()
    with grpc.insecure_channel(target, options=CHANNEL_OPTIONS) as channel:
        create = functions_pb2_grpc.FunctionServiceStub(channel).CreateFunction
        in_flight: list[grpc.CallFuture[pb.CreateFunctionResponse]] = []
        for index in range(start, count):
            request = sample_function(f"fn-{index:05d}")
            in_flight.append(create.future(request, metadata=metadata, timeout=60))
            if len(in_flight) >= 64:
                for call in in_flight:
                    call.result()
                in_flight.clear()
        for call in in_flight:
            call.result()
    return time.perf_counter() - began
