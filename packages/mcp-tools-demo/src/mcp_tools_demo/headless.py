"""The demo's journey without a person: a scripted browser built on ``requests``.

For each MCP server it goes through the connector exactly as a user does: the page's connect
form (``POST /connect`` with its anti-CSRF token), the redirects to the authorization server,
its login and consent forms (filled in and submitted like a browser would; or nothing to fill
in when the server auto-approves), the callback, then lists the tools and calls them through
the connector's JSON API, including a step-up consent for ``add_note``. Every request has a
timeout and the number of steps per journey is bounded.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from .page import display_text

__all__ = ["HeadlessFailure", "run_headless"]

REQUEST_TIMEOUT = 30.0
MAX_STEPS = 20


class HeadlessFailure(RuntimeError):
    """The journey failed; the message says where."""


@dataclass
class _Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    text_inputs: list[str] = field(default_factory=list)
    buttons: list[tuple[str, str]] = field(default_factory=list)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[_Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.forms.append(_Form(a.get("action", ""), a.get("method", "get").lower()))
        elif not self.forms:
            return
        elif tag == "input":
            kind = a.get("type", "text").lower()
            if kind == "hidden" and a.get("name"):
                self.forms[-1].fields.append((a["name"], a.get("value", "")))
            elif kind in ("text", "email") and a.get("name"):
                self.forms[-1].text_inputs.append(a["name"])
            elif kind == "submit" and a.get("name"):
                self.forms[-1].buttons.append((a["name"], a.get("value", "")))
        elif tag == "button" and a.get("name") and a.get("type", "submit") == "submit":
            self.forms[-1].buttons.append((a["name"], a.get("value", "")))


def _submit(session: requests.Session, page: requests.Response, user: str) -> requests.Response:
    """Fill in and submit the login or consent form of ``page``."""
    parser = _FormParser()
    parser.feed(page.text)
    if not parser.forms:
        raise HeadlessFailure(
            f"the authorization server showed a page without a form at {page.url.split('?')[0]}; "
            "--headless needs the development authorization server's forms or an auto-approving server"
        )
    form = parser.forms[0]
    data = list(form.fields)
    for name in form.text_inputs:
        data.append((name, user))
    approve = [b for b in form.buttons if b[1].lower() in ("approve", "allow", "accept", "yes", "consent")]
    if approve:
        data.append(approve[0])
    elif form.buttons and not form.text_inputs:
        raise HeadlessFailure(f"no approve button on the consent page at {page.url.split('?')[0]}")
    target = urljoin(page.url, form.action or page.url)
    if form.method == "post":
        return session.post(target, data=data, allow_redirects=False, timeout=REQUEST_TIMEOUT)
    return session.get(target, params=data, allow_redirects=False, timeout=REQUEST_TIMEOUT)


def _follow(
    session: requests.Session, response: requests.Response, connector: str, user: str
) -> requests.Response:
    """Follow redirects and forms until the browser is back on the connector."""
    for _ in range(MAX_STEPS):
        if response.is_redirect:
            target = urljoin(response.url, response.headers["Location"])
            response = session.get(target, allow_redirects=False, timeout=REQUEST_TIMEOUT)
            continue
        if response.url.startswith(connector + "/"):
            return response
        if response.status_code == 200 and "html" in response.headers.get("Content-Type", ""):
            response = _submit(session, response, user)
            continue
        raise HeadlessFailure(
            f"unexpected answer {response.status_code} from {response.url.split('?')[0]}: "
            f"{response.text[:300]}"
        )
    raise HeadlessFailure(f"no way back to the connector after {MAX_STEPS} steps")


def _shown(result: dict[str, Any]) -> str:
    structured = result.get("structured_content")
    if isinstance(structured, dict) and set(structured) != {"result"}:
        return json.dumps(structured, sort_keys=True)  # one line
    return " ".join(display_text(result).split())


class _Journey:
    def __init__(self, connector: str, user: str, out: Callable[[str], None]) -> None:
        self.connector = connector
        self.user = user
        self.out = out
        self.session = requests.Session()

    def close(self) -> None:
        self.session.close()

    def connect(self, name: str) -> str:
        """Submit the connector page's connect form (a ``POST`` carrying its anti-CSRF token)."""
        page = self.session.get(f"{self.connector}/", timeout=REQUEST_TIMEOUT)
        token = re.search(r'name="csrf_token" value="([^"]*)"', page.text)
        if page.status_code != 200 or token is None:
            raise HeadlessFailure(f"the connector's page has no connect form ({page.status_code})")
        first = self.session.post(
            f"{self.connector}/connect",
            data={"server": name, "csrf_token": html.unescape(token.group(1))},
            headers={"Origin": self.connector},
            allow_redirects=False,
            timeout=REQUEST_TIMEOUT,
        )
        if not first.is_redirect:
            raise HeadlessFailure(
                f"the connector did not redirect to the authorization server ({first.status_code})"
            )
        landed = _follow(self.session, first, self.connector, self.user)
        conn = parse_qs(urlsplit(landed.url).query).get("connected", [""])[0]
        if landed.status_code != 200 or not conn:
            raise HeadlessFailure(
                f"the authorization did not complete ({landed.status_code} at {landed.url})"
            )
        return conn

    def tools(self, conn: str) -> list[str]:
        listed = self.session.get(f"{self.connector}/api/connections", timeout=REQUEST_TIMEOUT)
        listed.raise_for_status()
        entry = next((c for c in listed.json() if c["conn"] == conn), None)
        if entry is None:
            raise HeadlessFailure("the new connection is not listed by the connector")
        if entry["error"]:
            raise HeadlessFailure(f"listing the tools failed: {entry['error']}")
        return list(entry["tools"])

    def call(self, conn: str, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        for attempt in range(2):
            answer = self.session.post(
                f"{self.connector}/api/call",
                json={"conn": conn, "tool": tool, "arguments": arguments},
                headers={"Origin": self.connector},
                allow_redirects=False,
                timeout=REQUEST_TIMEOUT,
            )
            if answer.is_redirect and attempt == 0:  # step-up: consent to the extra scope
                self.out(f"  {tool}: needs another scope, consenting again (step-up)")
                _follow(self.session, answer, self.connector, self.user)
                continue
            if answer.status_code != 200:
                raise HeadlessFailure(f"calling {tool} failed: {answer.status_code} {answer.text[:300]}")
            result: dict[str, Any] = answer.json()
            if result.get("is_error"):
                raise HeadlessFailure(f"{tool} answered an error: {_shown(result)}")
            return result
        raise HeadlessFailure(f"{tool} still needs authorization after a step-up")


def run_headless(
    connector: str,
    servers: Sequence[tuple[str, str]],
    *,
    user: str = "demo-user",
    timeout: float = 120.0,
    out: Callable[[str], None] = print,
) -> None:
    """Connect to every server through the connector and call its tools; raise :class:`HeadlessFailure`."""
    deadline = time.monotonic() + timeout
    for name, url in servers:
        if time.monotonic() > deadline:
            raise HeadlessFailure(f"out of time ({timeout:.0f} s) before {name}")
        journey = _Journey(connector, user, out)
        try:
            out(f"[{name}] {url}")
            conn = journey.connect(name)
            out(f"  connected: authorized as {user!r} at the authorization server (connection {conn})")
            tools = journey.tools(conn)
            out(f"  tools: {', '.join(tools)}")
            for tool, arguments in (
                ("whoami", {}),
                ("echo", {"text": f"hello from the headless demo to {name}"}),
                ("add_note", {"text": f"a note kept by {name}"}),
                ("read_notes", {}),
            ):
                out(f"  {tool} -> {_shown(journey.call(conn, tool, arguments))}")
        except HeadlessFailure as exc:
            raise HeadlessFailure(f"[{name}] {exc}") from None
        except (requests.RequestException, ValueError, KeyError) as exc:
            raise HeadlessFailure(f"[{name}] {type(exc).__name__}: {exc}") from None
        finally:
            journey.close()
