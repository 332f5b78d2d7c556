"""Transport security: the TLS credentials `fnplane serve` uses when given a certificate."""

from __future__ import annotations

import logging
from pathlib import Path

import grpc

from fnplane.server.config import ServerConfig, flag

log = logging.getLogger("fnplane.server")


def server_credentials(config: ServerConfig) -> grpc.ServerCredentials | None:
    """Answers TLS credentials from the configured certificate and key, or None to serve
    plaintext; raises SystemExit when only one of them is given or either cannot be read."""
    if not config.tls_cert and not config.tls_key:
        return None
    if not (config.tls_cert and config.tls_key):
        raise SystemExit(
            f"fnplane: TLS needs both {flag('tls_cert')} and {flag('tls_key')}, "
            "or neither for plaintext"
        )
    chain = _read(config.tls_cert, flag("tls_cert"))
    key = _read(config.tls_key, flag("tls_key"))
    if b"-----BEGIN" not in chain or b"-----BEGIN" not in key:
        raise SystemExit(f"fnplane: {flag('tls_cert')} and {flag('tls_key')} must be PEM files")
    log.info("serving over TLS with the certificate in %s", config.tls_cert)
    return grpc.ssl_server_credentials([(key, chain)])


def _read(path: str, setting_name: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise SystemExit(
            f"fnplane: {setting_name}: cannot read {path}: {error.strerror or error}"
        ) from None
