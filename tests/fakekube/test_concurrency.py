"""Many clients at once: each name is created once, and no update is silently lost."""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Callable

import kubernetes.client
from kubernetes.client import ApiException

from tests.fakekube import FakeKubeApiServer
from tests.fakekube.answers import metadata_of, raw
from tests.fakekube.manifests import deployment

THREADS = 8


def race(action: Callable[[int], str]) -> Counter[str]:
    """Runs `action` on THREADS threads released together; counts what each answered."""
    start = threading.Barrier(THREADS)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def run(index: int) -> None:
        start.wait()
        outcome = action(index)
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_racing_creates_of_one_name_succeed_exactly_once(fake: FakeKubeApiServer) -> None:
    def create(index: int) -> str:
        with fake.api_client() as client:
            try:
                kubernetes.client.AppsV1Api(client).create_namespaced_deployment(
                    "team-a", deployment("echo", replicas=index)
                )
            except ApiException as error:
                return str(error.status)
            return "created"

    outcomes = race(create)

    assert outcomes == Counter({"created": 1, "409": THREADS - 1})
    assert len(fake.objects("deployments", "team-a")) == 1


def test_racing_read_modify_writes_lose_no_update(
    fake: FakeKubeApiServer, apps: kubernetes.client.AppsV1Api
) -> None:
    apps.create_namespaced_deployment("team-a", deployment("echo", replicas=0))

    def increment(index: int) -> str:
        with fake.api_client() as client:
            api = kubernetes.client.AppsV1Api(client)
            while True:
                current = api.read_namespaced_deployment("echo", "team-a")
                assert current.spec is not None and current.spec.replicas is not None
                current.spec.replicas += 1
                try:
                    api.replace_namespaced_deployment("echo", "team-a", current)
                    return "done"
                except ApiException as error:
                    assert error.status == 409

    outcomes = race(increment)

    assert outcomes == Counter({"done": THREADS})
    assert apps.read_namespaced_deployment("echo", "team-a").spec.replicas == THREADS


def test_dry_run_validates_without_storing(
    fake: FakeKubeApiServer, apps: kubernetes.client.AppsV1Api
) -> None:
    answered = apps.create_namespaced_deployment("team-a", deployment("echo"), dry_run="All")

    assert metadata_of(answered).name == "echo"
    assert fake.objects("deployments", "team-a") == []


def test_stop_ends_open_watches_and_follows() -> None:
    fake = FakeKubeApiServer().start()
    fake.add_pod("team-a", "echo-1", {"app": "echo"})
    client = fake.api_client()
    apps = kubernetes.client.AppsV1Api(client)
    core = kubernetes.client.CoreV1Api(client)
    watch_response = raw(
        apps.list_namespaced_deployment("team-a", watch=True, _preload_content=False)
    )
    follow_response = raw(
        core.read_namespaced_pod_log("echo-1", "team-a", follow=True, _preload_content=False)
    )

    fake.stop()

    ended = threading.Event()

    def drain() -> None:
        for response in (watch_response, follow_response):
            # A cut stream may end in an error; ending is what counts.
            with contextlib.suppress(Exception):
                response.read()
        ended.set()

    threading.Thread(target=drain, daemon=True).start()
    assert ended.wait(timeout=10)
    client.close()
