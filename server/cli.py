"""`fnplane serve`: the gRPC server on its own, in the foreground."""

from __future__ import annotations

from typing import Any

import click

from fnplane.server import logs
from fnplane.server.config import ServerConfig, click_options


@click.command()
@click_options(ServerConfig)
def serve(**settings: Any) -> None:
    """Run the fnplane gRPC server in the foreground until SIGTERM or Ctrl-C.

    \b
    Example:
      fnplane serve --listen 127.0.0.1:50051 --backend demo
    """
    # The server and its backends load only once the settings are read, so that --help and
    # a mistaken flag answer at once.
    from fnplane.server import app  # noqa: PLC0415

    config = ServerConfig(**settings)
    logs.configure(config.log_level, log_format=config.log_format)
    app.serve(config)
