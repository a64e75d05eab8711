"""The demo in a real browser: headless Chromium driven by Playwright through the connector page.

For each framework, in a fresh browser profile: open the connector, pick the server, click
Connect, sign in and consent on the development authorization server's real forms, land back on
the connector, call ``echo`` with JSON arguments and see the result. On FastAPI the test also
calls ``add_note``, which needs another scope: the browser goes through consent again (step-up)
and the second call succeeds. Screenshots go to ``tests/demo/artifacts/`` (git-ignored); their
paths are printed.
"""

from __future__ import annotations

import json
import pathlib
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.demo.chromium import LAUNCH_ARGS, ensure_chromium, unavailable
from tests.demo.demo_process import DemoProcess

ARTIFACTS = pathlib.Path(__file__).parent / "artifacts"
TIMEOUT_MS = 30_000

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = ensure_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright for Python is not installed (pip install playwright)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, args=LAUNCH_ARGS, timeout=TIMEOUT_MS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoProcess]:
    with DemoProcess() as process:
        yield process.wait_ready()
        assert process.stop() == 0


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def sign_in_and_consent(page: Any, framework: str, user: str) -> None:
    """On the authorization server: the login form (fresh profile), then the consent form."""
    page.wait_for_selector("input[name=username]", timeout=TIMEOUT_MS)
    shot(page, f"{framework}-2-login")
    page.fill("input[name=username]", user)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Approve").wait_for(timeout=TIMEOUT_MS)
    shot(page, f"{framework}-3-consent")
    page.get_by_role("button", name="Approve").click()


def call_tool(page: Any, endpoint: str, tool: str, arguments: dict[str, Any]) -> Any:
    form = page.locator(f'section[data-endpoint="{endpoint}"] form:has(input[name=tool][value="{tool}"])')
    form.locator("textarea[name=arguments]").fill(json.dumps(arguments))
    form.get_by_role("button", name=f"Call {tool}").click()


@pytest.mark.parametrize("framework", ["fastapi", "flask", "django"])
def test_connect_sign_in_consent_and_call_a_tool(browser: Any, demo: DemoProcess, framework: str) -> None:
    endpoint = demo.servers[framework]
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        page.goto(demo.connector + "/")
        page.check(f'input[name=server][value="{framework}"]')
        shot(page, f"{framework}-1-connector")
        page.click("#connect")
        page.wait_for_url(re.compile(re.escape(demo.authorization_server) + "/interaction/"))
        user = f"{framework}-fan"
        sign_in_and_consent(page, framework, user)

        page.wait_for_url(re.compile(re.escape(demo.connector) + r"/\?connected="))
        section = page.locator(f'section[data-endpoint="{endpoint}"]')
        section.wait_for()
        names = section.locator(".tool code.name").all_inner_texts()
        assert {"whoami", "echo", "server_time", "read_notes", "add_note"} <= set(names)

        call_tool(page, endpoint, "echo", {"text": f"hi from Chromium to {framework}"})
        result = page.locator(f'section[data-endpoint="{endpoint}"] pre.result[data-tool="echo"]')
        result.wait_for()
        assert result.inner_text() == f"{framework} echoes: hi from Chromium to {framework}"
        shot(page, f"{framework}-4-result")

        call_tool(page, endpoint, "whoami", {})
        whoami = json.loads(page.locator('pre.result[data-tool="whoami"]').inner_text())
        assert whoami["subject"] == user
        assert whoami["framework"] == framework

        if framework == "fastapi":  # step-up: add_note needs notes:write, so consent again
            call_tool(page, endpoint, "add_note", {"text": "written from a browser"})
            page.get_by_role("button", name="Approve").wait_for()
            assert "notes:write" in page.content()
            shot(page, f"{framework}-5-step-up-consent")
            page.get_by_role("button", name="Approve").click()
            page.wait_for_url(re.compile(re.escape(demo.connector) + r"/\?connected="))
            call_tool(page, endpoint, "add_note", {"text": "written from a browser"})
            added = page.locator('pre.result[data-tool="add_note"]')
            assert added.inner_text() == f"saved note 1 for {user} on {framework}"
            shot(page, f"{framework}-6-after-step-up")
    finally:
        context.close()
