"""A REST load generator: `wrk` from Debian, with a Lua script that reports in JSON.

wrk keeps `connections` HTTP/1.1 connections busy from `threads` threads; its Lua `done`
hook prints the summary and latency percentiles as one JSON line, which is read back here.
Creates build a fresh name for each request in the script, per thread.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.measures import Load
from bench.processes import cpu_seconds

REPORT = """
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("worker", threads)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, '
      .. '"p50_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""

CREATE = """
local made = 0
function request()
  made = made + 1
  local headers = {}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  headers["Content-Type"] = "application/json"
  local body = string.format(
    '{"name": "%s-%d-%d", "image": "nginx:alpine", "replicas": 1}', PREFIX, worker, made)
  return wrk.format("POST", "/v1/functions", headers, body)
end
"""


class WrkMissing(Exception):
    """wrk is not installed; the message says how to get it."""


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise WrkMissing("wrk is not installed: run scripts/bench, or apt-get install wrk")
    return found


def drive(
    label: str,
    url: str,
    *,
    seconds: float,
    connections: int,
    threads: int = 2,
    token: str = "",
    create_prefix: str = "",
    watch: dict[str, int] | None = None,
) -> Load:
    """Drives GET `url` (or, with `create_prefix`, POSTs of new functions to it) for
    `seconds`; answers what wrk measured and each watched process's CPU time per answered
    call (failed ones included: the work was done for them too)."""
    script = REPORT + (
        CREATE.replace("PREFIX", json.dumps(create_prefix)) if create_prefix else ""
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    argv = [
        wrk_binary(),
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        "--timeout=60s",
        f"--script={file.name}",
    ]
    if token:
        argv += ["--header", f"Authorization: Bearer {token}"]
    argv.append(url)

    before = {name: cpu_seconds(pid) for name, pid in (watch or {}).items()}
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=seconds + 120, check=False
        )
    finally:
        Path(file.name).unlink()
    after = {name: cpu_seconds(pid) for name, pid in (watch or {}).items()}

    lines = [line for line in done.stdout.splitlines() if line.startswith("BENCH ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed on {url}: {done.stderr.strip() or done.stdout}")
    report = json.loads(lines[-1].removeprefix("BENCH "))
    errors = report["status_errors"] + report["socket_errors"]
    calls = max(report["requests"] - report["status_errors"], 0)
    return Load(
        name=label,
        calls=calls,
        errors=errors,
        seconds=round(report["duration_us"] / 1e6, 3),
        p50_ms=round(report["p50_us"] / 1000, 3),
        p99_ms=round(report["p99_us"] / 1000, 3),
        concurrency=connections,
        cpu_ms={
            name: round((after[name] - before[name]) * 1000 / max(report["requests"], 1), 4)
            for name in before
        },
    )
