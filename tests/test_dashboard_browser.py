"""The dashboard in headless Chromium (Playwright, with the system's browser) against a real
`zaiproxy serve` in front of the mock upstream: the login form, the token table, statistics that
follow live traffic through auto-refresh, logout. And, over plain HTTP: the login link and
endpoint, the session cookie, the static assets, a dashboard without any admin secret, and that
no admin route answers without credentials."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from conftest import require_host
from server_process import (
    RawResponse,
    ServerProcess,
    Upstream,
    base_env,
    bearer,
    clean_env,
    request,
    serving,
)

pytest_plugins = ["server_fixtures"]

ADMIN_PASSWORD = "dashboard-admin-password"
API_KEY = "sk-dashboard-api-key"
ROOT_PATH = "/zai"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
# A few auto-refreshes (every 5 s) on a slow machine.
LIVE_TIMEOUT_MS = 15_000
DISPLAY = re.compile(r"token:[0-9a-f]{8}")
TOKEN_ROWS = "#tokens-table tbody tr[data-token-id]"
RECENT_ROWS = "#recent-table tbody tr[data-testid=recent-row]"
CHAT_REQUESTS = 3


def dashboard_env(upstream: Upstream, cwd: Path, **settings: str) -> dict[str, str]:
    return clean_env(
        **base_env(upstream),
        DB_PATH=str(cwd / "tokens.db"),
        ANONYMOUS_MODE="true",
        **settings,
    )


@pytest.fixture(scope="module")
def dashboard_server(
    upstream: Upstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """The browser's server: an admin password, an API key, guests and an empty token pool."""
    cwd = tmp_path_factory.mktemp("dashboard")
    env = dashboard_env(upstream, cwd, ADMIN_PASSWORD=ADMIN_PASSWORD, AUTH_TOKEN=API_KEY)
    with serving(cwd, env=env) as server:
        yield server


@pytest.fixture(scope="module")
def prefixed_server(
    upstream: Upstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """Behind a reverse proxy at ROOT_PATH; its own pool, which the admin routes' test changes."""
    cwd = tmp_path_factory.mktemp("dashboard-prefixed")
    env = dashboard_env(
        upstream, cwd, ADMIN_PASSWORD=ADMIN_PASSWORD, AUTH_TOKEN=API_KEY, ROOT_PATH=ROOT_PATH
    )
    with serving(cwd, env=env) as server:
        yield server


@pytest.fixture(scope="module")
def closed_server(
    upstream: Upstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """Neither ADMIN_PASSWORD nor AUTH_TOKEN: the admin routes stay closed."""
    cwd = tmp_path_factory.mktemp("dashboard-closed")
    with serving(cwd, env=dashboard_env(upstream, cwd)) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # The system's Chromium: the tests never download a browser.
    chromium = shutil.which("chromium")
    require_host(chromium is not None, "chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context; at its end, no script error and no blocked resource (the
    Content-Security-Policy reports to the console). Refused API calls (a wrong password, a
    request after logout) are expected, and the console reports those too."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    # Playwright's 5 s defaults are tight for this slow machine.
    page.set_default_timeout(LIVE_TIMEOUT_MS)
    expect.set_options(timeout=LIVE_TIMEOUT_MS)
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and "Failed to load resource" not in message.text:
            problems.append(f"console: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    yield page
    context.close()
    assert not problems, problems


# ── in the browser ──


def log_in(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator("#login-form")).to_be_visible()
    expect(page.locator("#stat-total-requests")).to_have_count(0)

    page.fill("#password", "not the password")
    page.click("#login-submit")
    expect(page.locator("#login-error")).to_have_text("wrong password")
    expect(page.locator("#stat-total-requests")).to_have_count(0)

    page.fill("#password", ADMIN_PASSWORD)
    page.click("#login-submit")
    # The state arrived: the header names the store.
    expect(page.locator("#store-kind")).to_have_text("sqlite")
    expect(page.locator("#anonymous-mode")).to_have_text("on")


def assert_no_secret_on_page(page: Page, tokens: list[str]) -> None:
    content = page.content()
    for token in tokens:
        assert token not in content


def add_tokens(page: Page, tokens: list[str]) -> None:
    """Pastes the tokens (the first one twice, newline and comma separated): one row each."""
    page.fill("#token-input", f"{tokens[0]}\n{tokens[1]}, {tokens[0]}\n")
    page.click("#add-tokens")
    rows = page.locator(TOKEN_ROWS)
    expect(rows).to_have_count(len(tokens))
    saved = f"Tokens saved; the pool holds {len(tokens)}."
    expect(page.locator("#status-line")).to_have_text(saved)
    displays = rows.locator(".token-display").all_inner_texts()
    assert all(DISPLAY.fullmatch(display) for display in displays), displays
    assert len(set(displays)) == len(tokens)
    expect(page.locator("#token-input")).to_have_value("")
    assert_no_secret_on_page(page, tokens)


def delete_first_token(page: Page) -> None:
    rows = page.locator(TOKEN_ROWS)
    before = rows.count()
    doomed = rows.first.get_attribute("data-display")
    page.once("dialog", lambda dialog: dialog.accept())
    rows.first.locator("button[data-action=delete]").click()
    expect(rows).to_have_count(before - 1)
    expect(page.locator(f"{TOKEN_ROWS}[data-display='{doomed}']")).to_have_count(0)


def chat(server: ServerProcess, count: int) -> None:
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=API_KEY, max_retries=0)
    for number in range(count):
        reply = client.chat.completions.create(
            model="GLM-4.5", messages=[{"role": "user", "content": f"Hello {number}"}]
        )
        assert reply.choices[0].message.content


def wait_for_auto_refresh(page: Page, requests: int) -> None:
    """The cards and the recent table catch up with the traffic without a click."""
    page.wait_for_function(
        "n => Number(document.querySelector('#stat-total-requests').dataset.value) >= n",
        arg=requests,
        timeout=LIVE_TIMEOUT_MS,
    )
    chats = page.locator(RECENT_ROWS, has_text="/v1/chat/completions")
    expect(chats).to_have_count(requests, timeout=LIVE_TIMEOUT_MS)
    expect(page.locator("#models-table tbody tr td").first).not_to_have_text("No requests yet")


def charts_follow_the_window(page: Page) -> None:
    """The charts show the traffic, and are redrawn to the new width when the window shrinks."""
    expect(page.locator("#chart-requests rect.bar.success").first).to_be_visible()
    expect(page.locator("#chart-latency circle.dot.latency").first).to_be_attached()
    chart = page.locator("#chart-requests")
    wide = chart.get_attribute("viewBox")
    assert wide
    page.set_viewport_size({"width": 800, "height": 900})
    expect(chart).not_to_have_attribute("viewBox", wide)
    page.set_viewport_size({"width": 1400, "height": 900})


def save_screenshot(page: Page) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert shot.stat().st_size > 1000


def log_out(page: Page, url: str) -> None:
    page.click("#logout")
    expect(page.locator("#login-form")).to_be_visible()
    assert page.request.get(f"{url}/api/state").status == 401
    page.goto(url)  # the cookie is gone: a reload stays on the login form
    expect(page.locator("#login-form")).to_be_visible()


def test_the_dashboard_in_a_browser(
    page: Page, dashboard_server: ServerProcess, upstream: Upstream
) -> None:
    url = f"{dashboard_server.url}/dashboard"
    tokens = [upstream.mock.add_user(f"Dashboard user {n}").token for n in (1, 2)]
    log_in(page, url)
    add_tokens(page, tokens)
    delete_first_token(page)
    expect(page.locator("#auto-refresh")).to_be_checked()
    chat(dashboard_server, CHAT_REQUESTS)
    wait_for_auto_refresh(page, CHAT_REQUESTS)
    charts_follow_the_window(page)
    assert_no_secret_on_page(page, tokens)
    save_screenshot(page)
    log_out(page, url)


def test_the_auto_refresh_choice_is_remembered(page: Page, dashboard_server: ServerProcess) -> None:
    url = f"{dashboard_server.url}/dashboard"
    page.goto(f"{url}?token={ADMIN_PASSWORD}")
    assert page.url == url  # the secret left the address bar
    toggle = page.locator("#auto-refresh")
    expect(toggle).to_be_checked()
    toggle.uncheck()
    page.reload()
    expect(page.locator("#store-kind")).to_have_text("sqlite")
    expect(toggle).not_to_be_checked()


# ── over HTTP ──


def session_cookie(response: RawResponse) -> dict[str, str]:
    """The Set-Cookie header's value and attributes, by lower-case name."""
    name_value, *attributes = (part.strip() for part in response.headers["set-cookie"].split(";"))
    cookie = dict(attribute.partition("=")[::2] for attribute in attributes)
    cookie = {name.lower(): value for name, value in cookie.items()}
    cookie["value"] = name_value.partition("=")[2]
    return cookie


def test_a_login_link_sets_the_session_and_leaves_the_address(
    dashboard_server: ServerProcess,
) -> None:
    answer = request(dashboard_server, "GET", f"/dashboard?token={ADMIN_PASSWORD}")
    assert answer.status == 303
    assert answer.headers["location"] == "/dashboard"
    cookie = session_cookie(answer)
    assert cookie["path"] == "/dashboard"
    assert cookie["samesite"].lower() == "strict"
    assert "httponly" in cookie
    assert "secure" not in cookie  # plain HTTP here
    assert int(cookie["max-age"]) > 0

    headers = {"Cookie": f"zaiproxy_session={cookie['value']}"}
    page = request(dashboard_server, "GET", "/dashboard", headers=headers)
    assert page.status == 200
    assert 'data-page="dashboard"' in page.body.decode()

    wrong = request(dashboard_server, "GET", "/dashboard?auth_token=nope")
    assert wrong.status == 200
    assert 'data-page="login"' in wrong.body.decode()
    assert "wrong token" in wrong.body.decode()
    assert "set-cookie" not in wrong.headers


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ({"password": ADMIN_PASSWORD}, "application/json"),
        (f"password={ADMIN_PASSWORD}", "application/x-www-form-urlencoded"),
    ],
    ids=["json", "form"],
)
def test_the_login_endpoint(
    dashboard_server: ServerProcess, body: dict[str, Any] | str, content_type: str
) -> None:
    headers = {"Content-Type": content_type}
    right = request(dashboard_server, "POST", "/dashboard/login", body, headers)
    assert (right.status, right.json()) == (200, {"ok": True})
    assert session_cookie(right)["value"]

    wrong = request(dashboard_server, "POST", "/dashboard/login", {"password": "nope"})
    assert (wrong.status, wrong.json()) == (401, {"ok": False, "error": "wrong password"})
    assert "set-cookie" not in wrong.headers

    out = request(dashboard_server, "POST", "/dashboard/logout")
    assert (out.status, out.json()) == (200, {"ok": True})
    deleted = session_cookie(out)
    assert (deleted["value"].strip('"'), deleted["max-age"]) == ("", "0")


def test_the_static_assets(dashboard_server: ServerProcess) -> None:
    for name, media_type in (("dashboard.js", "text/javascript"), ("dashboard.css", "text/css")):
        asset = request(dashboard_server, "GET", f"/dashboard/static/{name}")
        assert asset.status == 200
        assert asset.headers["content-type"].startswith(media_type)
        assert asset.headers["cache-control"] == "no-cache"
        assert asset.body
    # Only the assets: not the page templates, not the package's other files.
    for name in ("dashboard.html", "..%2F__init__.py", "nope.js"):
        assert request(dashboard_server, "GET", f"/dashboard/static/{name}").status == 404


def test_the_dashboard_under_a_root_path(prefixed_server: ServerProcess) -> None:
    base = f"{ROOT_PATH}/dashboard"
    login = request(prefixed_server, "POST", f"{base}/login", {"password": ADMIN_PASSWORD})
    assert login.status == 200
    cookie = session_cookie(login)
    assert cookie["path"] == base

    headers = {"Cookie": f"zaiproxy_session={cookie['value']}"}
    page = request(prefixed_server, "GET", base, headers=headers).body.decode()
    assert f'data-base="{base}"' in page
    assert f'src="{base}/static/dashboard.js"' in page
    assert f'href="{base}/static/dashboard.css"' in page


def test_a_dashboard_without_admin_secret_explains_itself(closed_server: ServerProcess) -> None:
    page = request(closed_server, "GET", "/dashboard")
    assert page.status == 200
    assert 'data-page="login"' in page.body.decode()
    assert "ADMIN_PASSWORD" in page.body.decode()

    login = request(closed_server, "POST", "/dashboard/login", {"password": "anything"})
    assert login.status == 403
    assert login.json()["ok"] is False
    assert "ADMIN_PASSWORD" in login.json()["error"]
    assert "set-cookie" not in login.headers


# Every admin route, with a body that makes it succeed for an admin. The token routes change the
# prefixed server's pool, which no other test reads.
ADMIN_ROUTES = [
    pytest.param(method, path, body, id=f"{method} {path}")
    for method, path, body in (
        ("GET", "/dashboard/api/state", None),
        ("GET", "/dashboard/api/overview", None),
        ("POST", "/dashboard/api/tokens", {"tokens": "{token}"}),
        ("DELETE", "/dashboard/api/tokens", {"tokens": ["{token}"]}),
        ("POST", "/dashboard/api/health-check", {}),
        ("GET", "/dashboard/stats", None),
        ("GET", "/dashboard/requests", None),
        ("GET", "/v1/token-pool/status", None),
        ("POST", "/v1/token-pool/health-check", None),
        ("POST", "/v1/token-pool/update", ["{token}"]),
        ("GET", "/token-pool/status", None),
        ("GET", "/metrics", None),
    )
]


def with_token(body: Any, token: str) -> Any:
    """The route's body with a real (mock) user token in place of the "{token}" marks."""
    if isinstance(body, str):
        return body.replace("{token}", token)
    if isinstance(body, list):
        return [with_token(item, token) for item in body]
    if isinstance(body, dict):
        return {key: with_token(value, token) for key, value in body.items()}
    return body


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
def test_admin_routes_want_credentials(
    prefixed_server: ServerProcess, upstream: Upstream, method: str, path: str, body: Any
) -> None:
    body = with_token(body, upstream.mock.add_user("Admin route user").token)
    path = ROOT_PATH + path
    refused = request(prefixed_server, method, path, body)
    assert refused.status in (401, 403), refused.body
    wrong = request(prefixed_server, method, path, body, bearer("sk-not-a-key"))
    assert wrong.status in (401, 403), wrong.body
    allowed = request(prefixed_server, method, path, body, bearer(ADMIN_PASSWORD))
    assert 200 <= allowed.status < 300, allowed.body
