"""The dashboard in Chromium against a running fnplane: what a user sees and does."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.dashboard.conftest import STACK_MAX_REPLICAS, Rest, screenshot

pytestmark = pytest.mark.browser

# The list refreshes by itself every few seconds; this is how long a test waits for it.
REFRESH_WAIT_MS = 12_000


def create_dialog(page: Page) -> Locator:
    return page.get_by_role("dialog", name="Create function")


def row(page: Page, name: str) -> Locator:
    return page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=name, exact=True))


def open_create_form(page: Page) -> Locator:
    page.get_by_role("banner").get_by_role("button", name="Create Function").click()
    dialog = create_dialog(page)
    expect(dialog).to_be_visible()
    return dialog


def test_no_functions_shows_an_inviting_empty_state(page: Page) -> None:
    empty = page.get_by_role("region", name="No functions yet")

    expect(empty).to_be_visible()
    expect(empty.get_by_role("button", name="Create Function")).to_be_visible()
    expect(page.get_by_role("table")).to_be_hidden()
    screenshot(page, "empty")

    empty.get_by_role("button", name="Create Function").click()
    dialog = create_dialog(page)
    expect(dialog.get_by_label("Name")).to_be_focused()
    dialog.get_by_label("Name").fill("first")
    dialog.get_by_label("Image").fill("nginx:alpine")
    dialog.get_by_label("Image").press("Enter")

    expect(row(page, "first")).to_be_visible()
    expect(empty).to_be_hidden()
    # The button the form was opened with is gone; focus goes to the one that stays.
    expect(
        page.get_by_role("banner").get_by_role("button", name="Create Function")
    ).to_be_focused()


def test_a_function_created_through_the_form_appears_in_the_list(page: Page, rest: Rest) -> None:
    dialog = open_create_form(page)
    expect(dialog.get_by_label("Replicas")).to_have_value("1")
    dialog.get_by_label("Name").fill("web-api")
    dialog.get_by_label("Image").fill("nginx:alpine")
    dialog.get_by_label("Replicas").fill("2")
    dialog.get_by_role("button", name="Add variable").click()
    dialog.get_by_label("Variable 1 key").fill("LOG_LEVEL")
    dialog.get_by_label("Value of LOG_LEVEL").fill("info")
    dialog.get_by_role("button", name="Add variable").click()
    dialog.get_by_label("Variable 2 key").fill("UNWANTED")
    dialog.get_by_role("button", name="Remove variable UNWANTED").click()
    screenshot(page, "create-form")
    dialog.get_by_role("button", name="Create", exact=True).click()

    expect(dialog).to_be_hidden()
    created = row(page, "web-api")
    expect(created).to_contain_text("nginx:alpine")
    expect(created.get_by_role("cell").nth(1)).to_have_text("2/2")
    expect(created).to_contain_text("Running")
    when = created.locator("time")
    expect(when).to_have_text("just now")
    expect(when).to_have_attribute("title", re.compile(r"20\d\d"))
    screenshot(page, "list")

    stored = rest.get("web-api")
    assert (stored["replicas"], stored["env"]) == (2, {"LOG_LEVEL": "info"})


def test_a_bad_name_is_explained_next_to_the_field_before_sending(page: Page, rest: Rest) -> None:
    dialog = open_create_form(page)
    name = dialog.get_by_label("Name")
    name.fill("Web_API")
    dialog.get_by_label("Image").fill("nginx:alpine")
    dialog.get_by_role("button", name="Create", exact=True).click()

    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_have_accessible_description(re.compile("must be a DNS-1035 label", re.I))
    expect(name).to_be_focused()
    screenshot(page, "bad-name")
    assert rest.names() == []

    name.fill("web-api")
    dialog.get_by_role("button", name="Create", exact=True).click()
    expect(dialog).to_be_hidden()
    expect(row(page, "web-api")).to_be_visible()


def test_a_duplicate_name_shows_the_servers_message_next_to_the_name(
    page: Page, rest: Rest
) -> None:
    assert rest.create("taken")["status"] == 200
    refusal = rest.create("taken")
    assert refusal["status"] == 409

    dialog = open_create_form(page)
    name = dialog.get_by_label("Name")
    name.fill("taken")
    dialog.get_by_label("Image").fill("nginx:alpine")
    dialog.get_by_role("button", name="Create", exact=True).click()

    expect(name).to_have_accessible_description(re.compile(re.escape(refusal["message"]), re.I))
    expect(name).to_be_focused()
    expect(dialog).to_be_visible()
    screenshot(page, "duplicate-name")


def test_a_rule_only_the_server_checks_is_shown_next_to_its_field(page: Page, rest: Rest) -> None:
    # The page allows up to 100 replicas; this server is configured for fewer.
    dialog = open_create_form(page)
    dialog.get_by_label("Name").fill("big")
    dialog.get_by_label("Image").fill("nginx:alpine")
    replicas = dialog.get_by_label("Replicas")
    replicas.fill(str(STACK_MAX_REPLICAS + 1))
    dialog.get_by_role("button", name="Create", exact=True).click()

    expect(replicas).to_have_accessible_description(
        re.compile(f"must be between 0 and {STACK_MAX_REPLICAS}", re.I)
    )
    expect(dialog.get_by_label("Name")).not_to_have_attribute("aria-invalid", "true")
    assert rest.names() == []


def test_a_function_is_scaled_and_given_a_new_image(page: Page, rest: Rest) -> None:
    rest.create("worker", "nginx:alpine", replicas=1)
    worker = row(page, "worker")
    expect(worker).to_contain_text("1/1")

    worker.get_by_role("button", name="Edit worker").click()
    dialog = page.get_by_role("dialog", name="Edit worker")
    expect(dialog.get_by_label("Replicas")).to_be_focused()
    dialog.get_by_label("Replicas").fill("3")
    dialog.get_by_role("button", name="Save changes").click()

    expect(dialog).to_be_hidden()
    expect(worker.get_by_role("cell").nth(1)).to_have_text("3/3")
    assert rest.get("worker")["replicas"] == 3

    worker.get_by_role("button", name="Edit worker").click()
    dialog.get_by_label("Image").fill("nginx:1.27")
    dialog.get_by_label("Replicas").fill("0")
    dialog.get_by_role("button", name="Save changes").click()

    expect(dialog).to_be_hidden()
    expect(worker).to_contain_text("nginx:1.27")
    expect(worker).to_contain_text("Stopped")
    expect(worker.get_by_role("cell").nth(1)).to_have_text("0/0")
    stored = rest.get("worker")
    assert (stored["image"], stored["replicas"]) == ("nginx:1.27", 0)


def test_a_function_is_deleted_only_after_confirmation(page: Page, rest: Rest) -> None:
    rest.create("doomed")
    rest.create("kept")
    doomed = row(page, "doomed")

    doomed.get_by_role("button", name="Delete doomed").click()
    confirm = page.get_by_role("dialog", name="Delete doomed?")
    expect(confirm).to_be_visible()
    screenshot(page, "delete-confirmation")
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_be_hidden()
    assert "doomed" in rest.names()

    doomed.get_by_role("button", name="Delete doomed").click()
    confirm.get_by_role("button", name="Delete").click()

    expect(doomed).to_have_count(0)
    expect(row(page, "kept")).to_be_visible()
    assert rest.names() == ["kept"]
    assert rest.get("doomed")["status"] == 404


def test_the_list_follows_changes_made_by_another_client(page: Page, rest: Rest) -> None:
    rest.create("first")
    first = row(page, "first")
    expect(first).to_be_visible()
    # A mark on the row's element shows whether refreshes keep it or draw a new one.
    first.evaluate("element => { element.dataset.seen = 'yes'; }")

    rest.create("from-cli", "ghcr.io/acme/tool:2.0", replicas=2)

    added = row(page, "from-cli")
    expect(added).to_be_visible(timeout=REFRESH_WAIT_MS)
    expect(added).to_contain_text("ghcr.io/acme/tool:2.0")
    expect(first).to_have_attribute("data-seen", "yes")

    rest.delete_all()
    expect(page.get_by_role("region", name="No functions yet")).to_be_visible(
        timeout=REFRESH_WAIT_MS
    )


def test_a_function_can_be_created_with_the_keyboard_alone(page: Page) -> None:
    keyboard = page.keyboard
    create = page.get_by_role("banner").get_by_role("button", name="Create Function")
    expect(page.get_by_role("region", name="No functions yet")).to_be_visible()
    for _ in range(5):
        keyboard.press("Tab")
        if create.evaluate("element => element === document.activeElement"):
            break
    expect(create).to_be_focused()

    keyboard.press("Enter")
    dialog = create_dialog(page)
    expect(dialog.get_by_label("Name")).to_be_focused()
    keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(create).to_be_focused()

    keyboard.press("Enter")
    keyboard.type("typed")
    keyboard.press("Tab")
    expect(dialog.get_by_label("Image")).to_be_focused()
    keyboard.type("nginx:alpine")
    keyboard.press("Tab")
    expect(dialog.get_by_label("Replicas")).to_be_focused()
    keyboard.press("Control+A")
    keyboard.type("2")
    keyboard.press("Enter")

    expect(dialog).to_be_hidden()
    expect(row(page, "typed")).to_contain_text("2/2")
    expect(create).to_be_focused()


def test_a_failed_function_shows_its_reason_in_colour(page: Page) -> None:
    # The demo backend never fails a function, so the browser is handed the answer a
    # cluster would give; everything else is the real page.
    now = datetime.now(UTC)
    five_minutes_ago = (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    two_days_ago = (now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    listing = [
        {
            "name": "broken",
            "image": "ghcr.io/acme/broken:1",
            "replicas": 2,
            "ready_replicas": 0,
            "status": "Failed",
            "status_message": "ImagePullBackOff: the image could not be pulled",
            "created_at": five_minutes_ago,
        },
        {
            "name": "rolling",
            "image": "nginx:alpine",
            "replicas": 3,
            "ready_replicas": 1,
            "status": "Deploying",
            "status_message": "",
            "created_at": two_days_ago,
        },
    ]
    page.route("**/v1/functions", lambda route: route.fulfill(json=listing))
    # Without its watch stream the page lists by polling, which the answer above feeds.
    page.route("**/v1/functions:watch", lambda route: route.abort())
    page.reload()

    broken = row(page, "broken")
    expect(broken).to_contain_text("ImagePullBackOff: the image could not be pulled")
    expect(broken.get_by_role("cell").nth(1)).to_have_text("0/2")
    badge = broken.locator(".badge")
    expect(badge).to_have_text("Failed")
    colours = {
        name: row(page, name)
        .locator(".badge")
        .evaluate("element => getComputedStyle(element).color")
        for name in ("broken", "rolling")
    }
    assert colours["broken"] != colours["rolling"]
    expect(broken.locator("time")).to_have_text("5 minutes ago")
    expect(row(page, "rolling").locator("time")).to_have_text("2 days ago")
    screenshot(page, "failed")


def test_a_narrow_window_shows_each_function_as_a_card(page: Page, rest: Rest) -> None:
    rest.create("narrow-one", "ghcr.io/acme/a-rather-long-image-name/for-narrow-screens:1.0.0")
    rest.create("narrow-two", replicas=0)
    page.set_viewport_size({"width": 380, "height": 800})

    expect(row(page, "narrow-one")).to_be_visible()
    expect(row(page, "narrow-two")).to_contain_text("Stopped")
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    expect(row(page, "narrow-one").get_by_role("button", name="Edit narrow-one")).to_be_visible()
    screenshot(page, "narrow")


def test_the_last_list_stays_while_fnplane_cannot_be_reached(page: Page, rest: Rest) -> None:
    # Polling is what notices an unreachable fnplane; the watch stream is kept out of it.
    page.route("**/v1/functions:watch", lambda route: route.abort())
    page.reload()
    rest.create("steady")
    expect(row(page, "steady")).to_be_visible(timeout=REFRESH_WAIT_MS)

    page.route("**/v1/functions", lambda route: route.abort("connectionrefused"))
    banner = page.get_by_role("alert").filter(has_text="cannot be reached")
    expect(banner).to_be_visible(timeout=REFRESH_WAIT_MS)
    expect(row(page, "steady")).to_be_visible()
    screenshot(page, "unreachable")

    page.unroute("**/v1/functions")
    expect(banner).to_be_hidden(timeout=REFRESH_WAIT_MS)
    expect(page.get_by_text("Live", exact=True)).to_be_visible()


# Values on both sides of the server's rules, each paired with the field it concerns.
REFUSED = [
    ("name", "Web"),
    ("name", "-web"),
    ("name", "web-"),
    ("name", "web_api"),
    ("name", "9lives"),
    ("name", "a" * 64),
    ("image", "Nginx"),
    ("image", "nginx:"),
    ("image", "nginx alpine"),
    ("image", "repo@sha256:xyz"),
    ("replicas", "101"),
]
ACCEPTED = [
    ("name", "a"),
    ("name", "a" * 63),
    ("image", "localhost:5000/team/app:1.0"),
    ("image", "repo@sha256:" + "a" * 64),
    ("replicas", "0"),
]


def test_the_form_checks_the_servers_rules_before_sending(page: Page, rest: Rest) -> None:
    sent: list[str] = []
    page.on(
        "request",
        lambda request: sent.append(request.url) if request.method == "POST" else None,
    )
    fields = {"name": "probe", "image": "nginx:alpine", "replicas": "1"}

    dialog = open_create_form(page)
    for field, value in REFUSED:
        case = {**fields, field: value}
        refusal = rest.create(case["name"], case["image"], replicas=int(case["replicas"]))
        assert refusal["status"] == 400, (field, value)
        for label, text in case.items():
            dialog.get_by_label(label.capitalize()).fill(text)
        dialog.get_by_role("button", name="Create", exact=True).click()
        # The form answers at once; only the field at fault is marked.
        for label in fields:
            invalid = dialog.get_by_label(label.capitalize()).get_attribute("aria-invalid")
            assert (invalid == "true") == (label == field), (field, value, label)
    dialog.get_by_role("button", name="Cancel").click()
    assert sent == []

    for field, value in ACCEPTED:
        case = {**fields, field: value, "name": value if field == "name" else f"ok-{len(sent)}"}
        dialog = open_create_form(page)
        for label, text in case.items():
            dialog.get_by_label(label.capitalize()).fill(text)
        dialog.get_by_role("button", name="Create", exact=True).click()
        expect(dialog).to_be_hidden()
        expect(row(page, case["name"])).to_be_visible()
    assert len(sent) == len(ACCEPTED)
