"""The server's peak resident memory while holding 0, 1,000 and 10,000 functions.

A fresh `fnplane serve` is filled step by step; at each step it also answers a few lists of
all its functions, since a list builds every message at once and so sets the peak.
"""

from __future__ import annotations

from pathlib import Path

import grpc

from bench.grpc_load import CHANNEL_OPTIONS
from bench.processes import peak_rss_mb, rss_mb
from bench.servers import Tenants, fnplane_server, populate
from fnplane.v1 import functions_pb2 as pb
from fnplane.v1 import functions_pb2_grpc

STEPS = (0, 1000, 10000)
NAMESPACE = "bench-memory"


def measure(logs: Path) -> list[dict[str, float]]:
    """Answers, per step, the function count, the peak RSS so far and the RSS now (MiB)."""
    tenants = Tenants.make([NAMESPACE])
    rows: list[dict[str, float]] = []
    with fnplane_server(logs, tenants.env()) as (target, pid):
        token = tenants.tokens(target)[NAMESPACE]
        metadata = (("authorization", f"Bearer {token}"),)
        held = 0
        with grpc.insecure_channel(target, options=CHANNEL_OPTIONS) as channel:
            stub = functions_pb2_grpc.FunctionServiceStub(channel)
            for count in STEPS:
                populate(target, token, count, start=held)
                held = count
                for _ in range(3):
                    listed = stub.ListFunctions(
                        pb.ListFunctionsRequest(), metadata=metadata, timeout=60
                    )
                    assert len(listed.functions) == count
                rows.append(
                    {
                        "functions": count,
                        "peak_rss_mb": round(peak_rss_mb(pid), 1),
                        "rss_mb": round(rss_mb(pid), 1),
                    }
                )
    return rows
