"""One benchmark run: every measurement in order, each next to its baseline.

The order keeps the machine as quiet as it can be for each load: startups first, then the
memory server alone, then one `fnplane up` (its gRPC server reached directly, and through
Envoy) beside the two ceilings, then the Kubernetes backend.

The bare gRPC ceiling and fnplane's gRPC Get and Create are measured in alternation, a few
rounds each, and each is reported as the median of its rounds: on a shared machine the speed
available drifts within a run, and figures taken side by side keep their ratio.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format

from bench import (
    cost,
    grpc_load,
    kube,
    memory,
    profiles,
    rest_load,
    startup,
    static_envoy,
)
from bench.machine import describe
from bench.measures import Load, median_of
from bench.processes import settle
from bench.servers import (
    Tenants,
    UpStack,
    ceiling_server,
    envoy,
    fnplane_up,
    populate,
)
from fnplane.v1 import functions_pb2 as pb
from fnplane.v1 import functions_pb2_grpc
from tests.support.waiting import free_port

SIZES = (10, 100, 1000, 10000)
GET_NAMESPACE = "bench-1000"
GET_NAME = "fn-00500"
WRITES = "bench-writes"
REST_WRITES = "bench-rest-writes"
ROUNDS = 9
"""How many times the ceiling, Get and Create are each measured, in alternation. A round's
share of the ceiling ranged from 0.55 to 0.79 within one run of twelve rounds, so that the
median of five moved by a tenth from run to run; nine keep the median steadier and the run
under four minutes."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    """How hard and how long each load runs."""

    seconds: float = 3.0
    processes: int = 3
    threads: int = 4
    connections: int = 16
    profiles: Path | None = None
    """Where to write a py-spy flame graph of the server for each gRPC load; None for none."""


def run(settings: Settings, *, say: Callable[[str], None]) -> dict[str, Any]:
    """Runs every measurement; answers the results as JSON-ready data."""
    results: dict[str, Any] = {
        "machine": describe(),
        "settings": {**settings.__dict__, "profiles": str(settings.profiles or "")},
    }
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fnplane-bench-") as folder:
        logs = Path(folder)
        say("start: fnplane up, Envoy alone and a bare gRPC server, five times each")
        results["startup"] = startup.measure(logs)
        say("memory: a fresh server holding 0, 1,000 and 10,000 functions")
        results["memory"] = memory.measure(logs)
        results.update(_loads(settings, logs, say))
    say("kubernetes backend against the fake API server")
    results["kubernetes"] = kube.measure(seconds=settings.seconds / 2)
    results["seconds"] = round(time.perf_counter() - began, 1)
    results["machine"]["load_average_after"] = describe()["load_average"]
    return results


@dataclass
class _Session:
    """What the load steps share: one `fnplane up`, its tokens, and where results go."""

    settings: Settings
    up: UpStack
    tokens: dict[str, str]
    say: Callable[[str], None]
    run_id: str = field(default_factory=lambda: secrets.token_hex(2))
    grpc_runs: list[Load] = field(default_factory=list)
    rest_runs: list[Load] = field(default_factory=list)
    alone: list[dict[str, Any]] = field(default_factory=list)
    more_pids: list[int] = field(default_factory=list)
    """Other processes of the run (the ceilings) that must be quiet too."""

    def settle(self) -> None:
        """Waits until the stack has finished whatever the previous measurement left."""
        settle([self.up.server_pid, self.up.envoy_pid, *self.more_pids])

    def grpc(self, label: str, call: grpc_load.Call, pid: int, *, round_: str = "") -> Load:
        """Drives one gRPC load; answers it (the caller keeps it in `grpc_runs`)."""
        self.say(f"gRPC {label}{round_}")
        self.settle()
        profile: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
        if self.settings.profiles is not None:
            output = self.settings.profiles / f"grpc-{label.replace(' ', '-')}.svg"
            profile = profiles.recording(pid, output, seconds=self.settings.seconds)
        with profile:
            load = grpc_load.drive(
                label,
                call,
                seconds=self.settings.seconds,
                processes=self.settings.processes,
                threads=self.settings.threads,
                watch={"server": pid},
            )
        return load

    def rest(self, label: str, url: str, watch: dict[str, int], **options: Any) -> None:
        self.say(f"REST {label}")
        self.settle()
        self.rest_runs.append(
            rest_load.drive(
                label,
                url,
                seconds=self.settings.seconds,
                connections=self.settings.connections,
                watch=watch,
                **options,
            )
        )


def _loads(settings: Settings, logs: Path, say: Callable[[str], None]) -> dict[str, Any]:
    tenants = Tenants.make([f"bench-{size}" for size in SIZES] + [WRITES, REST_WRITES])
    with fnplane_up(logs, tenants.env()) as up, ceiling_server(logs) as ceiling:
        session = _Session(settings, up, tenants.tokens(up.grpc_target), say)
        session.more_pids.append(ceiling[1])
        say("filling namespaces with 10, 100, 1,000 and 10,000 functions")
        for size in SIZES:
            populate(up.grpc_target, session.tokens[f"bench-{size}"], size)
        bodies, failures = _captured_bodies(up, session.tokens, logs)
        _grpc_loads(session, ceiling)

        static_port, static_admin = free_port(), free_port()
        static = static_envoy.config(port=static_port, admin_port=static_admin, bodies=bodies)
        with envoy(static, admin_port=static_admin, logs=logs, name="static-envoy") as fixed:
            session.more_pids.append(fixed.process.pid)
            paths = {
                "rest": (up.stack.api, {"server": up.server_pid, "envoy": up.envoy_pid}),
                "static": (f"http://127.0.0.1:{static_port}", {"envoy": fixed.process.pid}),
            }
            _rest_loads(session, paths)
            _lists_alone(session, paths)
        envoy_stats = _envoy_stats(up)

    return {
        "grpc": [load.as_json() for load in session.grpc_runs],
        "rest": [load.as_json() for load in session.rest_runs],
        "list_alone": session.alone,
        "body_bytes": {path.lstrip("/"): file.stat().st_size for path, file in bodies.items()},
        "rest_failures": failures,
        "envoy_stats": envoy_stats,
    }


def _grpc_loads(session: _Session, ceiling: tuple[str, int]) -> None:
    target, tokens, server = session.up.grpc_target, session.tokens, session.up.server_pid
    rounds: dict[str, list[Load]] = {"ceiling": [], "get": [], "create": []}
    for number in range(1, ROUNDS + 1):
        round_ = f", round {number} of {ROUNDS}"
        bare = grpc_load.Call(kind="ceiling", target=ceiling[0])
        rounds["ceiling"].append(session.grpc("ceiling", bare, ceiling[1], round_=round_))
        get = grpc_load.Call(kind="get", target=target, token=tokens[GET_NAMESPACE], name=GET_NAME)
        rounds["get"].append(session.grpc("get", get, server, round_=round_))
        # Every round creates names of its own, so that no create finds its name taken.
        prefix = f"g{session.run_id}r{number}"
        create = grpc_load.Call(kind="create", target=target, token=tokens[WRITES], name=prefix)
        rounds["create"].append(session.grpc("create", create, server, round_=round_))
    session.grpc_runs += [median_of(label, loads) for label, loads in rounds.items()]
    for size in SIZES:
        listing = grpc_load.Call(kind="list", target=target, token=tokens[f"bench-{size}"])
        session.grpc_runs.append(session.grpc(f"list {size}", listing, server))


def _rest_loads(session: _Session, paths: dict[str, tuple[str, dict[str, int]]]) -> None:
    api, watch = paths["rest"]
    static, static_watch = paths["static"]
    tokens = session.tokens
    session.rest("static get", f"{static}/get", static_watch)
    session.rest("get", f"{api}/v1/functions/{GET_NAME}", watch, token=tokens[GET_NAMESPACE])
    session.rest(
        "create",
        f"{api}/v1/functions",
        watch,
        token=tokens[REST_WRITES],
        create_prefix="r" + session.run_id,
    )
    for size in SIZES:
        token = tokens[f"bench-{size}"]
        session.rest(f"static list {size}", f"{static}/list-{size}", static_watch)
        session.rest(f"list {size}", f"{api}/v1/functions", watch, token=token)


def _lists_alone(session: _Session, paths: dict[str, tuple[str, dict[str, int]]]) -> None:
    session.say("List alone, one call at a time, over gRPC and REST")
    for size in SIZES:
        # The largest lists take a few hundred milliseconds each: give them enough calls.
        short = max(1.0, session.settings.seconds / 3)
        seconds = session.settings.seconds if size >= 10000 else short
        token = session.tokens[f"bench-{size}"]
        session.settle()
        direct = cost.grpc_list(session.up.grpc_target, token)
        watch = {"server": session.up.server_pid}
        measured = cost.sequential(direct, watch=watch, seconds=seconds)
        session.alone.append({"name": f"grpc list {size}", **measured})
        base, watch = paths["rest"]
        session.settle()
        measured = cost.rest_alone(f"{base}/v1/functions", token, watch=watch, seconds=seconds)
        session.alone.append({"name": f"rest list {size}", **measured})


def _captured_bodies(
    up: UpStack, tokens: dict[str, str], logs: Path
) -> tuple[dict[str, Path], dict[str, str]]:
    """Answers the REST answers (a get, and a list per size) saved for the static Envoy, and
    the calls that failed through `fnplane up` with their status and message.

    A list that fails is written as the transcoder would have written it, from the same
    functions read over gRPC, so the ceiling still has the right size.
    """
    wanted = {"/get": (GET_NAMESPACE, f"/v1/functions/{GET_NAME}")}
    wanted.update({f"/list-{size}": (f"bench-{size}", "/v1/functions") for size in SIZES})
    bodies: dict[str, Path] = {}
    failures: dict[str, str] = {}
    for path, (namespace, url) in wanted.items():
        file = logs / f"body{path.replace('/', '-')}.json"
        reply = up.stack.call("GET", url, token=tokens[namespace])
        if reply.status == 200:
            file.write_bytes(reply.body)
        else:
            failures[path.lstrip("/")] = f"HTTP {reply.status}: {reply.json().get('message')}"
            file.write_bytes(_list_as_json(up.grpc_target, tokens[namespace]))
        bodies[path] = file
    return bodies, failures


def _list_as_json(target: str, token: str) -> bytes:
    """Answers the functions of the token's namespace as the REST API writes them."""
    with grpc.insecure_channel(target, options=grpc_load.CHANNEL_OPTIONS) as channel:
        answer = functions_pb2_grpc.FunctionServiceStub(channel).ListFunctions(
            pb.ListFunctionsRequest(),
            metadata=(("authorization", f"Bearer {token}"),),
            timeout=60,
        )
    functions = [
        json_format.MessageToDict(
            function, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
        )
        for function in answer.functions
    ]
    return json.dumps(functions, separators=(",", ":")).encode()


def _envoy_stats(up: UpStack) -> dict[str, int]:
    """Answers the counters of fnplane's Envoy that explain a REST run (requests, upstream
    calls and their outcome, transcoder buffering), leaving out those that stayed zero."""
    url = f"http://127.0.0.1:{up.stack.admin_port}/stats?format=json"
    with urllib.request.urlopen(url, timeout=10) as answer:
        stats = json.load(answer)["stats"]
    keep = ("http.api.downstream_rq_", "cluster.fnplane_grpc.upstream_rq_", "transcoder")
    return {
        entry["name"]: entry["value"]
        for entry in stats
        if entry.get("value")
        and not entry["name"].startswith("listener.")
        and any(part in entry["name"] for part in keep)
    }
