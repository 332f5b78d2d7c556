"""How the server authenticates callers, resolved once at start from its configuration.

Open mode (no API keys): anyone who reaches the server gets a token for the default
namespace. Credentialed mode: a token is issued only for a configured API key, in that key's
namespace. In both, a token reaches only the allowed namespaces. A configuration that cannot
be served safely stops the server at start with a message saying what to change.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from fnplane.server.auth_keys import ApiKeys, KeyFileError, is_namespace
from fnplane.server.auth_tokens import MIN_SECRET_BYTES, TokenSigner
from fnplane.server.calls import Caller
from fnplane.server.config import ServerConfig, env_var, flag
from fnplane.server.domain import DEFAULT_NAMESPACE
from fnplane.server.errors import PermissionDenied

log = logging.getLogger("fnplane.auth")

OPEN_SUBJECT = "anonymous"
# Namespaces Kubernetes reserves for itself (kube-system, kube-public, kube-node-lease).
SYSTEM_NAMESPACE_PREFIX = "kube-"
# The int32 `expires_in` of the contract bounds how long a token may live.
MAX_LIFETIME_SECONDS = 2**31 - 1


@dataclass(frozen=True)
class Auth:
    """The server's authentication: its keys, its token signer and its allowed namespaces."""

    keys: ApiKeys
    signer: TokenSigner
    allowed_namespaces: frozenset[str]

    @property
    def open(self) -> bool:
        """Answers whether anyone may get a token (no API keys are configured)."""
        return len(self.keys) == 0

    def admit(self, caller: Caller) -> None:
        """Raises PermissionDenied when `caller`'s namespace is not served here."""
        if caller.namespace not in self.allowed_namespaces:
            raise PermissionDenied(
                f"namespace {caller.namespace!r} is not among the namespaces this server "
                "allows (--allowed-namespaces)"
            )


def auth_from_config(config: ServerConfig) -> Auth:
    """Answers the authentication `config` asks for and logs its mode; raises SystemExit with
    a clear message when the configuration is unsafe or unreadable."""
    keys = _api_keys(config)
    auth = Auth(
        keys=keys,
        signer=_signer(config, credentialed=len(keys) > 0),
        allowed_namespaces=_allowed_namespaces(config, keys),
    )

    if auth.open:
        log.warning(
            "open mode: no API keys configured, so anyone who can reach this server can get "
            "a token for namespace %r; configure %s to require keys",
            DEFAULT_NAMESPACE,
            env_var("api_keys"),
        )
    else:
        log.info(
            "credentialed mode: %d API key(s) for namespace(s) %s",
            len(keys),
            ", ".join(sorted(keys.namespaces())),
        )
    log.info(
        "tokens live %ds; namespaces allowed: %s",
        config.token_lifetime_seconds,
        ", ".join(sorted(auth.allowed_namespaces)),
    )
    return auth


def _signer(config: ServerConfig, *, credentialed: bool) -> TokenSigner:
    lifetime = config.token_lifetime_seconds
    if not 0 < lifetime <= MAX_LIFETIME_SECONDS:
        _stop(f"{flag('token_lifetime_seconds')} must be between 1 and {MAX_LIFETIME_SECONDS}")

    secret = _secret(config)
    if secret is None and credentialed:
        _stop(
            "API keys are configured but no token signing secret is: set "
            f"{env_var('token_secret')} or {flag('token_secret_file')} "
            f"(at least {MIN_SECRET_BYTES} bytes)"
        )
    if secret is not None and len(secret) < MIN_SECRET_BYTES:
        _stop(
            f"the token signing secret has {len(secret)} bytes; it needs at least "
            f"{MIN_SECRET_BYTES} (try: python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))')"
        )
    if secret is None:
        secret = secrets.token_bytes(64)
        log.info("token signing secret made at random: tokens stop working when the server stops")
    return TokenSigner(secret, lifetime_seconds=lifetime)


def _api_keys(config: ServerConfig) -> ApiKeys:
    try:
        keys = ApiKeys.parse(config.api_keys, source=env_var("api_keys"))
        if config.api_keys_file:
            text = _read(config.api_keys_file, flag("api_keys_file"))
            keys = keys + ApiKeys.parse(text, source=config.api_keys_file)
    except KeyFileError as error:
        _stop(f"cannot read API keys: {error}")
    if config.api_keys_file and not keys:
        _stop(f"{config.api_keys_file} holds no API keys; leave out the file for open mode")
    return keys


def _secret(config: ServerConfig) -> bytes | None:
    if config.token_secret and config.token_secret_file:
        _stop(
            f"give the token signing secret once: {env_var('token_secret')} or "
            f"{flag('token_secret_file')}, not both"
        )
    if config.token_secret_file:
        return _read(config.token_secret_file, flag("token_secret_file")).strip().encode()
    if config.token_secret:
        return config.token_secret.encode()
    return None


def _allowed_namespaces(config: ServerConfig, keys: ApiKeys) -> frozenset[str]:
    named = frozenset(n.strip() for n in config.allowed_namespaces.split(",") if n.strip())
    for namespace in sorted(named):
        if not is_namespace(namespace):
            _stop(f"{flag('allowed_namespaces')}: {namespace!r} is not a namespace name")
    reached = keys.namespaces() or frozenset({DEFAULT_NAMESPACE})
    if not named:
        system = sorted(n for n in reached if n.startswith(SYSTEM_NAMESPACE_PREFIX))
        if system:
            _stop(
                f"API keys reach {', '.join(system)}, where Kubernetes keeps its own parts; "
                f"name it in {flag('allowed_namespaces')} if that is truly meant"
            )
        return reached
    outside = sorted(reached - named)
    if outside:
        _stop(
            f"API keys reach namespace(s) {', '.join(outside)}, which "
            f"{flag('allowed_namespaces')} does not allow; add them or remove those keys"
        )
    return named


def _read(path: str, setting_name: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as error:
        _stop(f"{setting_name}: cannot read {path}: {error.strerror or error}")


def _stop(message: str) -> NoReturn:
    raise SystemExit(f"fnplane: {message}")
