"""The results of a run as people read them: targets met or missed, a Markdown table, a JSON
file and a plot of List latency against the number of functions."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.measures import ratio

try:
    # The figure API draws straight to a file, with no display or pyplot state.
    from matplotlib.figure import Figure as _Figure

    Figure: type[_Figure] | None = _Figure
except ImportError:  # the optional `bench` extra is not installed
    Figure = None

SIZES = (10, 100, 1000, 10000)


@dataclass(frozen=True)
class Target:
    """A target of the benchmarks and how this run fared against it."""

    text: str
    measured: str
    met: bool

    def as_json(self) -> dict[str, Any]:
        return {"target": self.text, "measured": self.measured, "met": self.met}


def _by_name(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {run["name"]: run for run in runs}


def _alone_ratio(small: dict[str, Any], large: dict[str, Any]) -> float:
    """Answers how many times longer a lone List takes at the larger size."""
    if not (small["calls"] and large["calls"]):
        return math.nan
    return ratio(large["p50_ms"], small["p50_ms"])


def against_ceiling(grpc: dict[str, dict[str, Any]], call: str) -> float:
    """Answers `call`'s throughput as a share of the bare ceiling's.

    When both were measured in the same rounds, it is the median of each round's ratio: the
    two figures of a round were taken seconds apart, while the speed this machine gives moves
    between rounds, so a ratio of two medians could pair a fast round with a slow one.
    """
    run, ceiling = grpc[call], grpc["ceiling"]
    rounds, ceilings = run.get("rounds") or (), ceiling.get("rounds") or ()
    if rounds and len(rounds) == len(ceilings):
        return statistics.median(ratio(a, b) for a, b in zip(rounds, ceilings, strict=True))
    return ratio(run["throughput"], ceiling["throughput"])


def targets(results: dict[str, Any]) -> list[Target]:
    """Checks every target of the benchmarks against `results`."""
    grpc, rest = _by_name(results["grpc"]), _by_name(results["rest"])
    ceiling = grpc["ceiling"]["throughput"]
    found: list[Target] = []

    def at_least(text: str, value: float, limit: float, detail: str) -> None:
        found.append(
            Target(text, f"{value:.2f} ({detail})", not math.isnan(value) and value >= limit)
        )

    def at_most(text: str, value: float, limit: float, detail: str) -> None:
        found.append(
            Target(text, f"{value:.2f} ({detail})", not math.isnan(value) and value <= limit)
        )

    for call in ("create", "get"):
        value = against_ceiling(grpc, call)
        detail = f"{grpc[call]['throughput']:.0f} vs {ceiling:.0f} calls/s, medians of rounds"
        at_least(f"gRPC {call.title()} throughput >= 0.7 x bare unary ceiling", value, 0.7, detail)
    value = ratio(rest["get"]["throughput"], grpc["get"]["throughput"])
    detail = f"{rest['get']['throughput']:.0f} vs {grpc['get']['throughput']:.0f} calls/s"
    at_least("REST Get through Envoy >= 0.6 x gRPC Get direct", value, 0.6, detail)
    alone = _by_name(results["list_alone"])
    failed = results.get("rest_failures", {}).get("list-10000")
    for way, label in (("grpc", "gRPC"), ("rest", "REST")):
        small, large = alone[f"{way} list 1000"], alone[f"{way} list 10000"]
        text = f"{label} List at 10,000 costs <= 12 x List at 1,000"
        if not large["calls"]:
            found.append(Target(text, f"fails through fnplane up: {failed}", False))
            continue
        value = _alone_ratio(small, large)
        detail = f"{_fmt(large['p50_ms'])} vs {_fmt(small['p50_ms'])} ms for a lone call"
        at_most(text, value, 12, detail)

    share_text = "REST List at 10,000: Envoy's transcoding takes more CPU than the Python server"
    largest = alone["rest list 10000"]
    if not largest["calls"]:
        found.append(Target(share_text, f"fails through fnplane up: {failed}", False))
    else:
        shared = largest["cpu_ms"]
        value = ratio(shared["envoy"], shared["server"])
        detail = f"Envoy {shared['envoy']:.1f} ms vs server {shared['server']:.1f} ms per List"
        found.append(
            Target(share_text, f"{value:.2f} ({detail})", not math.isnan(value) and value > 1)
        )

    kube = results["kubernetes"]["requests_per_call"]
    for call in ("list", "get"):
        count = kube[call]["requests"]
        found.append(
            Target(
                f"Kubernetes {call.title()} with a warm cache: 0 API server requests",
                f"{count} requests",
                count == 0,
            )
        )
    for call, writes in (("create", 2), ("delete", 1)):
        entry = kube[call]
        found.append(
            Target(
                f"Kubernetes {call.title()}: {writes} write{'s' if writes > 1 else ''}",
                f"{_count(entry['writes'], 'write')}, {_count(entry['reads'], 'read')} "
                f"({', '.join(entry['calls'])})",
                entry["writes"] == writes,
            )
        )

    peak = next(row for row in results["memory"] if row["functions"] == 10000)["peak_rss_mb"]
    at_most("Server peak RSS with 10,000 functions <= 150 MB", peak, 150, "MiB")
    start = results["startup"]
    value = ratio(start["fnplane_up_seconds"], start["envoy_seconds"])
    detail = f"{start['fnplane_up_seconds']:.2f} s vs {start['envoy_seconds']:.2f} s"
    at_most("fnplane up ready within 2 x Envoy's own start", value, 2, detail)
    return found


def _start_floor(start: dict[str, Any]) -> float:
    """Answers the least a server built on fnplane's libraries took to start: the bare
    server's start once it has loaded them."""
    return float(start["libraries_grpc_server_seconds"])


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _fmt(value: float, digits: int = 1) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


def _load_rows(
    runs: list[dict[str, Any]], baseline: Callable[[str], tuple[float, str] | None]
) -> list[str]:
    """Answers a table row per run; `baseline` answers a run's share of its baseline and the
    baseline's name, or None when it has none."""
    rows = []
    for run in runs:
        base = baseline(run["name"])
        vs = "" if base is None else f"{_fmt(base[0], 2)} of {base[1]}"
        cpu = run["cpu_ms"]
        rows.append(
            f"| {run['name']} | {_fmt(run['throughput'])} | {_fmt(run['p50_ms'], 2)} "
            f"| {_fmt(run['p99_ms'], 2)} | {run['errors']} | {vs} "
            f"| {_fmt(cpu.get('server', math.nan), 3)} | {_fmt(cpu.get('envoy', math.nan), 3)} "
            f"| {_fmt(cpu.get('clients', math.nan), 3)} |"
        )
    return rows


def headline(results: dict[str, Any], found: list[Target]) -> list[str]:
    """Answers the few figures worth a first look, as Markdown table rows, for the README."""
    grpc, rest = _by_name(results["grpc"]), _by_name(results["rest"])
    alone = _by_name(results["list_alone"])
    verdict = {target.text: "met" if target.met else "missed" for target in found}
    ceiling = grpc["ceiling"]["throughput"]

    def calls(run: dict[str, Any]) -> str:
        latency = f"p50 {run['p50_ms']:.1f} ms, p99 {run['p99_ms']:.0f} ms"
        return f"{run['throughput']:,.0f} calls/s, {latency}"

    def lone(way: str, size: int) -> str:
        row = alone[f"{way} list {size}"]
        return f"{row['p50_ms']:,.1f} ms" if row["calls"] else "HTTP 500"

    def growth(way: str) -> str:
        value = _alone_ratio(alone[f"{way} list 1000"], alone[f"{way} list 10000"])
        return f"{_fmt(value, 1)}x (<= 12x)"

    start = results["startup"]
    peak = next(row for row in results["memory"] if row["functions"] == 10000)["peak_rss_mb"]
    kube = results["kubernetes"]["requests_per_call"]
    rest_cpu = alone["rest list 10000"]["cpu_ms"]
    rows = [
        (
            "gRPC Get",
            calls(grpc["get"]),
            f"bare unary call {ceiling:,.0f} calls/s",
            f"{against_ceiling(grpc, 'get'):.2f} (>= 0.7)",
            verdict["gRPC Get throughput >= 0.7 x bare unary ceiling"],
        ),
        (
            "gRPC Create",
            calls(grpc["create"]),
            f"bare unary call {ceiling:,.0f} calls/s",
            f"{against_ceiling(grpc, 'create'):.2f} (>= 0.7)",
            verdict["gRPC Create throughput >= 0.7 x bare unary ceiling"],
        ),
        (
            "REST Get",
            calls(rest["get"]),
            f"gRPC Get {grpc['get']['throughput']:,.0f} calls/s",
            f"{ratio(rest['get']['throughput'], grpc['get']['throughput']):.2f} (>= 0.6)",
            verdict["REST Get through Envoy >= 0.6 x gRPC Get direct"],
        ),
        (
            "gRPC List, one call",
            f"{lone('grpc', 1000)} at 1,000; {lone('grpc', 10000)} at 10,000",
            "",
            growth("grpc"),
            verdict["gRPC List at 10,000 costs <= 12 x List at 1,000"],
        ),
        (
            "REST List, one call",
            f"{lone('rest', 1000)} at 1,000; {lone('rest', 10000)} at 10,000",
            "",
            growth("rest"),
            verdict["REST List at 10,000 costs <= 12 x List at 1,000"],
        ),
        (
            "CPU per REST List of 10,000",
            f"Envoy {rest_cpu['envoy']:.0f} ms, server {rest_cpu['server']:.0f} ms",
            "",
            f"{ratio(rest_cpu['envoy'], rest_cpu['server']):.2f} (Envoy > server)",
            verdict[
                "REST List at 10,000: Envoy's transcoding takes more CPU than the Python server"
            ],
        ),
        (
            "Kubernetes backend, API requests",
            f"Create {kube['create']['requests']}, Get "
            f"{kube['get']['requests']}, List {kube['list']['requests']}, Delete "
            f"{kube['delete']['requests']} ({_count(kube['delete']['writes'], 'write')})",
            "",
            "",
            "met" if all(t.met for t in found if t.text.startswith("Kubernetes")) else "missed",
        ),
        (
            "Server peak RSS, 10,000 functions",
            f"{peak:.0f} MiB",
            "",
            "<= 150 MB",
            verdict["Server peak RSS with 10,000 functions <= 150 MB"],
        ),
        (
            "`fnplane up` ready",
            f"{start['fnplane_up_seconds']:.2f} s",
            f"Envoy alone {start['envoy_seconds']:.2f} s; bare gRPC server with fnplane's "
            f"libraries {start['libraries_grpc_server_seconds']:.2f} s",
            f"{ratio(start['fnplane_up_seconds'], start['envoy_seconds']):.1f}x (<= 2x)",
            verdict["fnplane up ready within 2 x Envoy's own start"],
        ),
    ]
    return [
        "| | fnplane | baseline | ratio (target) | |",
        "| --- | --- | --- | --- | --- |",
        *(f"| {' | '.join(row)} |" for row in rows),
    ]


def markdown(results: dict[str, Any], found: list[Target]) -> str:
    """Answers the Markdown report of a run."""
    machine = results["machine"]
    grpc, rest = _by_name(results["grpc"]), _by_name(results["rest"])
    settings = results["settings"]
    lines = [
        "# fnplane benchmark results",
        "",
        f"Measured {machine['date']} on {machine['nproc']} cores ({machine['cpu']}), "
        f"Python {machine['python']}; load average {machine['load_average'][0]} before the run "
        f"and {machine['load_average_after'][0]} after. The run took {results['seconds']} s.",
        "",
        "## Headline",
        "",
        *headline(results, found),
        "",
        "## Targets",
        "",
        "| target | measured | |",
        "| --- | --- | --- |",
        *(f"| {t.text} | {t.measured} | {'met' if t.met else 'MISSED'} |" for t in found),
        "",
        "## gRPC, direct to the server",
        "",
        f"{settings['processes']} client processes x {settings['threads']} threads, each "
        f"thread one call at a time, {settings['seconds']} s per row. CPU columns are the "
        "CPU time each process spent per call answered; the clients share the machine's two "
        "cores with the server, so a call that costs its callers more also lowers the "
        "server's throughput. Every row is called as the ceiling is: requests encoded "
        "beforehand (a create's per call) and replies kept as bytes, the first checked.",
        *_rounds(results["grpc"], settings["seconds"]),
        "",
        "| call | calls/s | p50 ms | p99 ms | errors | throughput vs baseline "
        "| server CPU ms | Envoy CPU ms | clients CPU ms |",
        "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
        *_load_rows(
            results["grpc"],
            lambda name: None if name == "ceiling" else (against_ceiling(grpc, name), "ceiling"),
        ),
        "",
        "## REST through Envoy",
        "",
        f"wrk, {settings['connections']} connections on 2 threads, {settings['seconds']} s per "
        "row. A `static` row is Envoy answering the captured body of the call below it by "
        "itself (no transcoding, no server).",
        "",
        "| call | calls/s | p50 ms | p99 ms | errors | throughput vs baseline "
        "| server CPU ms | Envoy CPU ms | clients CPU ms |",
        "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
        *_load_rows(results["rest"], lambda name: _rest_baseline(name, rest, grpc)),
        "",
        "Body sizes: "
        + ", ".join(f"{name} {size:,} bytes" for name, size in results["body_bytes"].items())
        + ".",
        "",
        "## List alone",
        "",
        "One call at a time, nothing else in flight: the latency of a lone List and the CPU "
        "each process spends on it.",
        "",
        "| path | functions | calls | failed | p50 ms | server CPU ms | Envoy CPU ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        *(
            f"| {row['name'].rsplit(' ', 2)[0]} | {int(row['name'].rsplit(' ', 1)[1]):,} "
            f"| {row['calls']} | {row['errors']} | {_fmt(row['p50_ms'] or math.nan, 2)} "
            f"| {_fmt(row['cpu_ms'].get('server', math.nan), 2)} "
            f"| {_fmt(row['cpu_ms'].get('envoy', math.nan), 2)} |"
            for row in results["list_alone"]
        ),
        "",
        "## Kubernetes backend against the fake API server",
        "",
        "| call | API server requests | writes | requests made |",
        "| --- | ---: | ---: | --- |",
    ]
    for call, entry in results["kubernetes"]["requests_per_call"].items():
        lines.append(
            f"| {call} | {entry['requests']} | {entry['writes']} | {', '.join(entry['calls'])} |"
        )
    lines += [
        "",
        "| functions cached | List p50 ms | List p99 ms | lists timed | requests while listing |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for entry in results["kubernetes"]["list"]:
        lines.append(
            f"| {entry['functions']:,} | {_fmt(entry['p50_ms'], 3)} | {_fmt(entry['p99_ms'], 3)} "
            f"| {entry['calls']} | {', '.join(entry['requests_while_listing']) or 'none'} |"
        )
    start = results["startup"]
    floor = _start_floor(start)
    lines += [
        "",
        "## Memory and start",
        "",
        "| functions held | peak RSS MiB | RSS now MiB |",
        "| ---: | ---: | ---: |",
        *(
            f"| {row['functions']:,} | {row['peak_rss_mb']} | {row['rss_mb']} |"
            for row in results["memory"]
        ),
        "",
        f"`fnplane up` was ready (every port answering) in {start['fnplane_up_seconds']} s "
        f"(median of {start['fnplane_up_samples']}); Envoy alone on the same configuration in "
        f"{start['envoy_seconds']} s (median of {start['envoy_samples']}); the bare gRPC "
        f"ceiling server, a Python process that loads grpcio and serves one empty method, in "
        f"{start['bare_grpc_server_seconds']} s (median of {start['bare_grpc_server_samples']}); "
        "and the same server loading first every library `fnplane up` loads as it starts "
        "(Click; grpcio's health, reflection and status services; protobuf with the "
        "contract's generated modules; prometheus-client) in "
        f"{start['libraries_grpc_server_seconds']} s (median of "
        f"{start['libraries_grpc_server_samples']}).",
        "",
        "That last start, which runs nothing of fnplane's own, is the least a server built on "
        f"these libraries can take here: {ratio(floor, start['envoy_seconds']):.1f} times "
        f"Envoy's start. `fnplane up` took {ratio(start['fnplane_up_seconds'], floor):.2f} "
        "times that least.",
        "",
    ]
    return "\n".join(lines)


def _rounds(runs: list[dict[str, Any]], seconds: float) -> list[str]:
    """Answers the lines saying which rows were measured in rounds, and each round's figure."""
    measured = [run for run in runs if run.get("rounds")]
    if not measured:
        return []
    count = len(measured[0]["rounds"])
    names = ", ".join(run["name"] for run in measured)
    each = "; ".join(
        f"{run['name']} {', '.join(f'{value:,.0f}' for value in run['rounds'])}"
        for run in measured
    )
    return [
        "",
        f"The rows {names} were measured in alternation, {count} rounds of {seconds} s each, "
        "so that each ratio compares figures taken side by side: a row's share of the ceiling "
        "is the median of its rounds' shares, and its other figures the median of its rounds "
        f"(calls and errors are their sum). Calls/s by round: {each}.",
    ]


def _rest_baseline(
    name: str, rest: dict[str, dict[str, Any]], grpc: dict[str, dict[str, Any]]
) -> tuple[float, str] | None:
    if name.startswith("static"):
        return None
    throughput = rest[name]["throughput"]
    if name == "create":
        return (ratio(throughput, grpc["create"]["throughput"]), "gRPC create")
    return (ratio(throughput, rest[f"static {name}"]["throughput"]), f"static {name}")


def plot(results: dict[str, Any], path: Path) -> None:
    """Draws List latency against N on log scales: a lone call (solid) and the median under
    saturating load (dashed), for gRPC direct and REST through Envoy."""
    if Figure is None:
        raise ImportError("matplotlib")
    grpc, rest = _by_name(results["grpc"]), _by_name(results["rest"])
    figure = Figure(figsize=(7.5, 4.8), dpi=110)
    axes = figure.subplots()
    alone = _by_name(results["list_alone"])
    series = [
        ("gRPC direct", "grpc", grpc, "list", "tab:blue"),
        ("REST, fnplane up", "rest", rest, "list", "tab:orange"),
    ]
    for label, way, runs, prefix, colour in series:
        # Sizes whose calls all failed have no point.
        lone = [
            (size, alone[f"{way} list {size}"]["p50_ms"])
            for size in SIZES
            if alone[f"{way} list {size}"]["calls"]
        ]
        loaded = [
            (size, runs[f"{prefix} {size}"]["p50_ms"])
            for size in SIZES
            if f"{prefix} {size}" in runs and runs[f"{prefix} {size}"]["calls"]
        ]
        axes.plot(*zip(*lone, strict=True), marker="o", color=colour, label=f"{label}, alone")
        axes.plot(
            *zip(*loaded, strict=True),
            marker=".",
            linestyle="--",
            color=colour,
            alpha=0.6,
            label=f"{label}, under load (p50)",
        )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("functions in the namespace (N)")
    axes.set_ylabel("List latency, p50 (ms)")
    machine = results["machine"]
    axes.set_title(f"fnplane ListFunctions, {machine['date']}, {machine['nproc']} cores")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path)


def write(results: dict[str, Any], folder: Path) -> list[Target]:
    """Writes latest.json, latest.md and list-latency.png into `folder`; answers the targets."""
    folder.mkdir(parents=True, exist_ok=True)
    found = targets(results)
    results = {**results, "targets": [target.as_json() for target in found]}
    (folder / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    (folder / "latest.md").write_text(markdown(results, found))
    try:
        plot(results, folder / "list-latency.png")
    except ImportError:
        print("matplotlib is not installed: no plot (pip install -e '.[bench]')")
    return found
