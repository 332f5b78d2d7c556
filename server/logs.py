"""How the server's log lines look: one line per event, with a time and a level."""

from __future__ import annotations

import logging


def configure(level: str) -> None:
    """Sends log lines to stderr as 'time level logger message'."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S%z",
        force=True,
    )
