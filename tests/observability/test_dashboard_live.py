"""The dashboard in Chromium: changes made elsewhere reach the list through the watch stream,
or through polling when the stream cannot be had; and a function's recent logs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, Route, expect

from fnplane.server.kubernetes.objects import CONTAINER, fnplane_labels
from tests.dashboard.conftest import (  # noqa: F401 (fixtures used by name)
    Rest,
    chromium,
    dashboard_tab,
    playwright,
    rest,
    rest_client,
    screenshot,
    stack,
)
from tests.fakekube import FakeKubeApiServer
from tests.support.stack import Stack, running_stack

pytestmark = pytest.mark.browser

# Polling runs every few seconds; the stream is quicker, but no test counts on how quick.
WAIT_MS = 12_000


def row(page: Page, name: str) -> Locator:
    return page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=name, exact=True))


@pytest.fixture
def watching_page(chromium: Browser, stack: Stack, rest: Rest) -> Iterator[Page]:  # noqa: F811
    with dashboard_tab(chromium, stack) as tab:
        expect(tab.locator("body")).to_have_attribute("data-live", "watching", timeout=WAIT_MS)
        yield tab


def test_changes_made_elsewhere_arrive_through_the_watch(
    watching_page: Page,
    rest: Rest,  # noqa: F811
    stack: Stack,  # noqa: F811
) -> None:
    page = watching_page
    rest.create("from-elsewhere", replicas=1)
    expect(row(page, "from-elsewhere")).to_be_visible(timeout=WAIT_MS)

    token = stack.token()
    stack.call("PATCH", "/v1/functions/from-elsewhere", body={"replicas": 3}, token=token)
    expect(row(page, "from-elsewhere").locator(".replicas-text")).to_have_text(
        "3/3", timeout=WAIT_MS
    )

    stack.call("DELETE", "/v1/functions/from-elsewhere", token=token)
    expect(row(page, "from-elsewhere")).to_have_count(0, timeout=WAIT_MS)
    # Still on the stream: the page never had to fall back to polling.
    expect(page.locator("body")).to_have_attribute("data-live", "watching")


def test_without_the_stream_the_list_still_follows_by_polling(
    chromium: Browser,  # noqa: F811
    stack: Stack,  # noqa: F811
    rest: Rest,  # noqa: F811
) -> None:
    def refuse(route: Route) -> None:
        route.abort()

    with dashboard_tab(chromium, stack) as page:
        page.route("**/v1/functions:watch", refuse)
        page.reload()
        expect(page.locator("body")).to_have_attribute("data-live", "polling", timeout=WAIT_MS)
        rest.create("polled-in")
        expect(row(page, "polled-in")).to_be_visible(timeout=WAIT_MS)


def test_logs_on_the_demo_backend_explain_what_is_needed(
    watching_page: Page,
    rest: Rest,  # noqa: F811
) -> None:
    page = watching_page
    rest.create("quiet")
    row(page, "quiet").get_by_role("button", name="Logs of quiet").click()
    dialog = page.get_by_role("dialog", name="Recent logs of quiet")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("status")).to_contain_text("need the kubernetes backend")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    expect(row(page, "quiet").get_by_role("button", name="Logs of quiet")).to_be_focused()


@pytest.fixture(scope="module")
def cluster() -> Iterator[FakeKubeApiServer]:
    with FakeKubeApiServer() as fake:
        yield fake


@pytest.fixture(scope="module")
def kube_stack(
    cluster: FakeKubeApiServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """`fnplane up` with the kubernetes backend on the fake cluster."""
    folder = tmp_path_factory.mktemp("kube-stack")
    kubeconfig = cluster.write_kubeconfig(folder / "kubeconfig")
    args = ["--backend=kubernetes", f"--kubeconfig={kubeconfig}", "--metrics-port=0"]
    with running_stack(folder / "up.log", args=args) as started:
        yield started


def test_the_dashboard_shows_a_functions_recent_logs(
    chromium: Browser,  # noqa: F811
    kube_stack: Stack,
    cluster: FakeKubeApiServer,
) -> None:
    token = kube_stack.token()
    created = kube_stack.call(
        "POST", "/v1/functions", body={"name": "web", "image": "nginx:alpine"}, token=token
    )
    assert created.status == 200, created.body
    cluster.add_pod("default", "web-1", fnplane_labels("web"), containers=(CONTAINER,))
    cluster.append_log("default", "web-1", "listening on :8080")
    cluster.append_log("default", "web-1", "GET / 200")

    with dashboard_tab(chromium, kube_stack) as page:
        row(page, "web").get_by_role("button", name="Logs of web").click()
        dialog = page.get_by_role("dialog", name="Recent logs of web")
        lines = dialog.get_by_label("Log lines")
        expect(lines).to_contain_text("web-1")
        expect(lines).to_contain_text("listening on :8080")
        expect(lines).to_contain_text("GET / 200")

        cluster.append_log("default", "web-1", "GET /later 200")
        dialog.get_by_role("button", name="Reload").click()
        expect(lines).to_contain_text("GET /later 200")
        screenshot(page, "logs")
