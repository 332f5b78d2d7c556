"""The server's commands: `fnplane serve`."""

from __future__ import annotations

from typing import Any

import click

from fnplane.server import app, logs
from fnplane.server.config import ServerConfig, click_options


@click.command()
@click_options(ServerConfig)
def serve(**settings: Any) -> None:
    """Run the fnplane gRPC server in the foreground until SIGTERM or Ctrl-C.

    \b
    Example:
      fnplane serve --listen 127.0.0.1:50051 --backend demo
    """
    config = ServerConfig(**settings)
    logs.configure(config.log_level)
    app.serve(config)
