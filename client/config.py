"""How the command line reaches fnplane: one typed object, filled from flags, then FNPLANE_*
variables, then defaults, like the server's configuration and declared the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fnplane.client.functions import DEFAULT_SERVER, DEFAULT_TIMEOUT, FunctionsClient
from fnplane.server.config import setting


@dataclass(frozen=True, kw_only=True)
class ClientConfig:
    """Where the command line sends its calls, and how."""

    server: str = setting(
        DEFAULT_SERVER,
        "Address of fnplane, HOST:PORT: Envoy (port 8080 by default) or the gRPC server.",
    )
    api_key: str = setting(
        "",
        "API key to get a token with; leave it empty for a server in open mode. Prefer the "
        "environment variable, since flags show in the process list.",
        secret=True,
    )
    tls: bool = setting(False, "Connect over TLS and check the server's certificate.")
    ca_file: str = setting(
        "", "PEM file of the authorities to trust; implies --tls. The system's when empty."
    )
    tls_server_name: str = setting(
        "", "Name the server's certificate must carry, when it differs from the --server host."
    )
    timeout: float = setting(DEFAULT_TIMEOUT, "Seconds each call may take before it fails.")

    def connect(self) -> FunctionsClient:
        """Answers a client for these settings; raises OSError when --ca-file cannot be read."""
        root_certificates = Path(self.ca_file).read_bytes() if self.ca_file else None
        return FunctionsClient(
            self.server,
            api_key=self.api_key,
            tls=self.tls or bool(self.ca_file),
            root_certificates=root_certificates,
            server_name=self.tls_server_name,
            timeout=self.timeout,
        )
