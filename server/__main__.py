"""Runs `fnplane serve` as `python -m fnplane.server [OPTIONS]`."""

from fnplane.server.cli import serve

serve(prog_name="fnplane serve")
