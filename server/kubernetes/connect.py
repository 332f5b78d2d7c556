"""Finding a cluster to run functions in: client configuration, and a check that it answers.

Where the configuration comes from, first found wins: an explicit kubeconfig file, the
in-cluster service account (when running in a pod), the files named by `KUBECONFIG`, then
`~/.kube/config`. A configuration only counts when its API server answers.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kubernetes import client, config
from kubernetes.config import incluster_config

from fnplane.server.errors import FnplaneError
from fnplane.server.kubernetes.cluster import Cluster

PROBE_TIMEOUT = 3.0
"""How long the start-up check waits for the API server, in seconds."""

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
"""Where Kubernetes mounts a pod's service account token and the cluster's CA."""


class NoCluster(Exception):
    """No API server answers; the message says which configuration was tried and why."""


@dataclass(frozen=True)
class ClusterAccess:
    """A client configured for an API server that answered."""

    api_client: client.ApiClient
    source: str
    """Where the configuration came from, for the log: "in-cluster configuration", a path."""

    @property
    def server(self) -> str:
        return str(self.api_client.configuration.host)


def find_cluster(
    *,
    kubeconfig: str = "",
    environ: Mapping[str, str] | None = None,
    service_account: Path = SERVICE_ACCOUNT,
) -> ClusterAccess:
    """Answers access to the first configured API server, checked to answer; raises
    NoCluster saying why there is none."""
    environ = os.environ if environ is None else environ
    configuration, source = _configuration(kubeconfig, environ, service_account)
    # The check asks once, without the client's retries, so a start with an unreachable
    # cluster in its configuration waits at most PROBE_TIMEOUT.
    probe_configuration = copy.copy(configuration)
    probe_configuration.retries = 0
    try:
        with client.ApiClient(probe_configuration) as probe:
            Cluster(probe, timeout=PROBE_TIMEOUT).version()
    except FnplaneError as error:
        raise NoCluster(
            f"{source} names the API server {configuration.host}, which does not answer: "
            f"{error.message}"
        ) from None
    return ClusterAccess(api_client=client.ApiClient(configuration), source=source)


def _configuration(
    kubeconfig: str, environ: Mapping[str, str], service_account: Path
) -> tuple[client.Configuration, str]:
    configuration = client.Configuration()
    if kubeconfig:
        return _from_file(configuration, kubeconfig, f"kubeconfig {kubeconfig}")
    if environ.get("KUBERNETES_SERVICE_HOST"):
        loader = incluster_config.InClusterConfigLoader(
            token_filename=str(service_account / "token"),
            cert_filename=str(service_account / "ca.crt"),
            environ=environ,
        )
        try:
            loader.load_and_set(configuration)
        except config.ConfigException as error:
            raise NoCluster(f"the in-cluster configuration is incomplete: {error}") from None
        return configuration, "in-cluster configuration"
    if environ.get("KUBECONFIG"):
        files = environ["KUBECONFIG"]
        return _from_file(configuration, files, f"kubeconfig {files} (from KUBECONFIG)")
    default = Path(environ.get("HOME") or Path.home()) / ".kube" / "config"
    if default.exists():
        return _from_file(configuration, str(default), f"kubeconfig {default}")
    raise NoCluster(
        "no Kubernetes configuration found: not running in a cluster, KUBECONFIG is not set "
        f"and {default} does not exist"
    )


def _from_file(
    configuration: client.Configuration, files: str, source: str
) -> tuple[client.Configuration, str]:
    # Like kubectl, a list of files skips those that do not exist.
    existing = [f for f in files.split(os.pathsep) if f and Path(f).expanduser().exists()]
    if not existing:
        raise NoCluster(f"{source} does not exist")
    try:
        config.load_kube_config(
            config_file=os.pathsep.join(existing),
            client_configuration=configuration,
            persist_config=False,
        )
    except (config.ConfigException, OSError, ValueError) as error:
        raise NoCluster(f"{source} cannot be used: {error}") from None
    return configuration, source
