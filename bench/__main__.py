"""`python -m bench`: runs every benchmark, prints the targets, writes bench/results/."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bench import profiles, report
from bench.machine import load_average
from bench.rest_load import WrkMissing, wrk_binary
from bench.run import Settings, run

RESULTS = Path(__file__).parent / "results"


@click.command()
@click.option(
    "--seconds", default=Settings.seconds, show_default=True, help="Length of each load."
)
@click.option(
    "--processes", default=Settings.processes, show_default=True, help="gRPC client processes."
)
@click.option(
    "--threads", default=Settings.threads, show_default=True, help="Threads per gRPC client."
)
@click.option(
    "--connections", default=Settings.connections, show_default=True, help="wrk connections."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=RESULTS,
    show_default="bench/results",
    help="Folder for latest.md, latest.json and list-latency.png.",
)
@click.option(
    "--profile",
    is_flag=True,
    help="Also record the server with py-spy during each gRPC load (OUT/profiles/*.svg); "
    "the sampling costs the server some speed, so ratios of such a run are lower.",
)
def main(
    *, seconds: float, processes: int, threads: int, connections: int, out: Path, profile: bool
) -> None:
    """Measure fnplane against ceilings taken in the same run, and check its targets."""
    try:
        wrk_binary()
    except WrkMissing as error:
        raise click.ClickException(str(error)) from None
    load = load_average()
    if load > 1.0:
        click.echo(f"note: load average {load:.2f}; other work on this machine adds noise")
    if profile and profiles.py_spy() is None:
        raise click.ClickException("py-spy is not installed: pip install -e '.[bench]'")
    settings = Settings(
        seconds=seconds,
        processes=processes,
        threads=threads,
        connections=connections,
        profiles=out / "profiles" if profile else None,
    )
    results = run(settings, say=lambda line: click.echo(f"- {line}", err=True))
    found = report.write(results, out)
    click.echo((out / "latest.md").read_text())
    missed = sum(1 for target in found if not target.met)
    click.echo(f"{len(found) - missed} targets met, {missed} missed; results in {out}/")


if __name__ == "__main__":
    main(sys.argv[1:], prog_name="python -m bench")
