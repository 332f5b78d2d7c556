"""Fixtures for the dashboard's browser tests: a running stack, Chromium, and a REST client.

One stack and one browser serve a whole test module; each test gets a fresh browser context
(so nothing of another test's session survives) and starts from an empty function list.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.support.stack import Reply, Stack, running_stack

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
# The stack refuses more replicas than this, where the page allows up to 100, so a test can
# reach a field violation that only the server reports.
STACK_MAX_REPLICAS = 20


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """fnplane with the demo backend, Envoy and the dashboard, for one test module."""
    log = tmp_path_factory.mktemp("stack") / "up.log"
    with running_stack(log, args=[f"--max-replicas={STACK_MAX_REPLICAS}"]) as started:
        yield started


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as started:
        yield started


@pytest.fixture(scope="module")
def chromium(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless, for every test of one module."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/setup --dev)")
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()


class Rest:
    """Another client of the same fnplane: plain REST calls with a token of its own."""

    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        self._token = stack.token()

    def _call(self, method: str, path: str, body: Any = None) -> Reply:
        return self._stack.call(method, path, body=body, token=self._token)

    def create(self, name: str, image: str = "nginx:alpine", **fields: Any) -> dict[str, Any]:
        reply = self._call("POST", "/v1/functions", {"name": name, "image": image, **fields})
        return {"status": reply.status, **reply.json()}

    def get(self, name: str) -> dict[str, Any]:
        reply = self._call("GET", f"/v1/functions/{name}")
        return {"status": reply.status, **reply.json()}

    def names(self) -> list[str]:
        reply = self._call("GET", "/v1/functions")
        assert reply.status == 200, reply.body
        return [function["name"] for function in reply.json()]

    def delete_all(self) -> None:
        for name in self.names():
            reply = self._call("DELETE", f"/v1/functions/{name}")
            assert reply.status == 200, reply.body


@pytest.fixture(scope="module")
def rest_client(stack: Stack) -> Rest:
    return Rest(stack)


@pytest.fixture
def rest(rest_client: Rest) -> Rest:
    """The REST client, with no functions left from an earlier test."""
    rest_client.delete_all()
    return rest_client


@contextlib.contextmanager
def dashboard_tab(chromium: Browser, stack: Stack) -> Iterator[Page]:
    """A fresh browser tab (its own session) on the dashboard, closed when the block ends.

    A script error in the page fails the test: a user would find the page broken.
    """
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    try:
        tab.goto(stack.dashboard + "/")
        yield tab
    finally:
        context.close()
    assert not errors, f"script errors in the page: {errors}"


@pytest.fixture
def page(chromium: Browser, stack: Stack, rest: Rest) -> Iterator[Page]:
    """The dashboard in a fresh tab, starting with no functions."""
    with dashboard_tab(chromium, stack) as tab:
        yield tab


def screenshot(page: Page, name: str) -> None:
    """Saves what the page shows now as test-artifacts/dashboard/NAME.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png", animations="disabled", caret="hide")
