"""The kinds of object the fake serves, and the facts about each that its behaviour hangs on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Resource:
    """One REST resource, as the API server's discovery documents describe it."""

    group: str
    """API group; empty for the core group."""
    version: str
    plural: str
    kind: str
    namespaced: bool
    has_status: bool
    """Whether .status is only written through the /status subresource."""
    tracks_generation: bool
    """Whether spec changes bump metadata.generation."""
    delete_answers_object: bool
    """Whether a finished delete answers the deleted object rather than a Status."""
    short_names: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """The name error messages use: `deployments.apps`, `services`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(self) -> str:
        """The name Invalid messages use: `Deployment.apps`, `Service`."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"


DEPLOYMENTS = Resource(
    group="apps",
    version="v1",
    plural="deployments",
    kind="Deployment",
    namespaced=True,
    has_status=True,
    tracks_generation=True,
    delete_answers_object=False,
    short_names=("deploy",),
)
SERVICES = Resource(
    group="",
    version="v1",
    plural="services",
    kind="Service",
    namespaced=True,
    has_status=True,
    tracks_generation=False,
    delete_answers_object=True,
    short_names=("svc",),
)
PODS = Resource(
    group="",
    version="v1",
    plural="pods",
    kind="Pod",
    namespaced=True,
    has_status=True,
    tracks_generation=False,
    delete_answers_object=True,
    short_names=("po",),
)
NAMESPACES = Resource(
    group="",
    version="v1",
    plural="namespaces",
    kind="Namespace",
    namespaced=False,
    has_status=True,
    tracks_generation=False,
    delete_answers_object=True,
    short_names=("ns",),
)

ALL = (DEPLOYMENTS, SERVICES, PODS, NAMESPACES)


def find(group: str, version: str, plural: str) -> Resource | None:
    """Answers the resource served at /api[s]/GROUP/VERSION/PLURAL, if any."""
    for resource in ALL:
        if (resource.group, resource.version, resource.plural) == (group, version, plural):
            return resource
    return None


def in_group_version(group: str, version: str) -> list[Resource]:
    return [r for r in ALL if (r.group, r.version) == (group, version)]
