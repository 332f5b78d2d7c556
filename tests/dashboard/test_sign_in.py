"""The dashboard against a fnplane that has API keys: it asks for one, once per session."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.dashboard.conftest import dashboard_tab, screenshot
from tests.support.stack import Stack, running_stack
from tests.support.tokens import TENANT_KEYS, TENANT_SECRET, api_keys_setting

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """fnplane in credentialed mode: only the tenants' API keys get a token."""
    env = {
        "FNPLANE_API_KEYS": api_keys_setting(TENANT_KEYS),
        "FNPLANE_TOKEN_SECRET": TENANT_SECRET,
    }
    with running_stack(tmp_path_factory.mktemp("stack") / "up.log", env=env) as started:
        yield started


@pytest.fixture
def page(chromium: Browser, stack: Stack) -> Iterator[Page]:
    with dashboard_tab(chromium, stack) as tab:
        yield tab


def test_the_dashboard_asks_once_for_an_api_key_and_keeps_only_the_token(page: Page) -> None:
    dialog = page.get_by_role("dialog", name="Sign in to fnplane")
    key = dialog.get_by_label("API key")
    expect(key).to_be_focused()

    key.fill("not-a-key-of-this-server")
    dialog.get_by_role("button", name="Sign in").click()
    expect(key).to_have_accessible_description(re.compile("did not accept", re.I))
    screenshot(page, "sign-in")
    page.keyboard.press("Escape")
    expect(dialog).to_be_visible()

    key.fill(TENANT_KEYS["team-a"])
    key.press("Enter")

    expect(dialog).to_be_hidden()
    expect(page.get_by_role("region", name="No functions yet")).to_be_visible()
    expect(page.get_by_role("banner")).to_contain_text("team-a")
    stored = page.evaluate("() => [Object.keys(sessionStorage), Object.keys(localStorage)]")
    assert "fnplane.token" in stored[0]
    assert stored[1] == []
    assert TENANT_KEYS["team-a"] not in page.evaluate("() => JSON.stringify(sessionStorage)")

    page.reload()
    expect(page.get_by_role("region", name="No functions yet")).to_be_visible()
    expect(dialog).to_be_hidden()


def test_a_new_session_asks_again(page: Page) -> None:
    expect(page.get_by_role("dialog", name="Sign in to fnplane")).to_be_visible()
