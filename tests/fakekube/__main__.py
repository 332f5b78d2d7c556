"""Runs the fake API server on its own: `python -m tests.fakekube --kubeconfig PATH`.

For trying fnplane's Kubernetes backend by hand or from a benchmark in another process: it
writes a kubeconfig pointing at itself and serves until interrupted.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from pathlib import Path

import click

from tests.fakekube.server import FakeKubeApiServer


@click.command()
@click.option("--port", type=int, default=0, show_default=True, help="Port; 0 picks a free one.")
@click.option(
    "--kubeconfig",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write a kubeconfig that points at the fake.",
)
@click.option(
    "--controller/--no-controller",
    default=True,
    show_default=True,
    help="Roll Deployments out at once, with Pods, as a healthy cluster would.",
)
def main(port: int, kubeconfig: Path, controller: bool) -> None:
    """Serves a fake Kubernetes API server until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    finished = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: finished.set())
    with FakeKubeApiServer(port=port, simulate_controller=controller) as fake:
        fake.write_kubeconfig(kubeconfig)
        click.echo(f"fake Kubernetes API server on {fake.url}; kubeconfig in {kubeconfig}")
        with contextlib.suppress(KeyboardInterrupt):
            finished.wait()


if __name__ == "__main__":
    main()
