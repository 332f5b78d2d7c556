"""A fake Kubernetes API server for tests and benchmarks: real HTTP, documented behaviour.

    with FakeKubeApiServer() as fake:
        apps = kubernetes.client.AppsV1Api(fake.api_client())
        apps.create_namespaced_deployment("team-a", body)
        fake.request_count("create", "deployments")   # 1
        fake.faults.fail_next(verb="patch")          # the next patch answers 500
        fake.add_pod("team-a", "echo-1", {"app": "echo"})
        fake.append_log("team-a", "echo-1", "hello")

It serves apps/v1 Deployments, v1 Services, Pods (with pods/log) and Namespaces, with the
/status subresource, watches, label and field selectors, the three patch formats, finalizers
and owner-reference garbage collection; the module docstrings say what each part follows.
"""

from tests.fakekube.faults import Faults
from tests.fakekube.routes import RecordedRequest
from tests.fakekube.server import FakeKubeApiServer

__all__ = ["FakeKubeApiServer", "Faults", "RecordedRequest"]
