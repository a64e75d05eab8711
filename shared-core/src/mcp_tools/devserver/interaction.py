"""The login and consent pages: browser sessions, pending authorizations and CSRF.

Flow (interactive mode)::

    GET  /authorize?...            validate, remember the request -> 303 /interaction/<id>
    GET  /interaction/<id>         login form (no signed-in user) or consent form
    POST /interaction/<id>         action=login   -> sign in (any username = sub) -> 303 back
                                   action=approve -> 302 redirect_uri?code=..&state=..&iss=..
                                   action=deny    -> 302 redirect_uri?error=access_denied&..&iss=..

The session cookie is host-only (no ``Domain``), ``HttpOnly`` and ``SameSite=Lax``, so the
browser returns it to this host only (``127.0.0.1`` by default); it is ``Secure`` when the
issuer is https. The session id is replaced at sign-in (no fixation). Every form carries
the session's CSRF token, compared in constant time; a pending authorization belongs to
the session that started it and expires after ten minutes. Pages forbid framing and
caching and escape everything they show.
"""

from __future__ import annotations

import hmac
import html
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from .wsgi import Request, Response

__all__ = ["SESSION_COOKIE", "Interactions", "Session", "Transaction", "html_page"]

SESSION_COOKIE = "mcp_devserver_session"
TRANSACTION_TTL = 600.0
SESSION_TTL = 8 * 3600.0
MAX_USERNAME = 200


@dataclass
class Session:
    """A browser session: the signed-in user (if any) and the CSRF token of its forms."""

    sid: str
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    user: str | None = None
    created: float = field(default_factory=time.time)


@dataclass
class Transaction:
    """An authorization request waiting for the user to sign in and consent."""

    tx_id: str
    sid: str
    query: list[tuple[str, str]]
    client_name: str
    redirect_host: str
    scope: str
    resources: tuple[str, ...]
    force_login: bool = False
    created: float = field(default_factory=time.time)


class Interactions:
    """Thread-safe storage of sessions and pending authorizations."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}
        self._transactions: dict[str, Transaction] = {}

    def session(self, request: Request) -> Session | None:
        sid = request.cookies.get(SESSION_COOKIE)
        if not sid:
            return None
        with self._lock:
            session = self._sessions.get(sid)
            if session is None or time.time() - session.created > SESSION_TTL:
                return None
            return session

    def new_session(self, user: str | None = None) -> Session:
        session = Session(sid=secrets.token_urlsafe(32), user=user)
        with self._lock:
            self._sweep()
            self._sessions[session.sid] = session
        return session

    def sign_in(self, old: Session, user: str) -> Session:
        """Replace ``old`` by a new session for ``user``; pending authorizations move along."""
        new = self.new_session(user)
        with self._lock:
            self._sessions.pop(old.sid, None)
            for tx in self._transactions.values():
                if tx.sid == old.sid:
                    tx.sid = new.sid
        return new

    def start(self, session: Session, **details: object) -> Transaction:
        tx = Transaction(tx_id=secrets.token_urlsafe(24), sid=session.sid, **details)  # type: ignore[arg-type]
        with self._lock:
            self._transactions[tx.tx_id] = tx
        return tx

    def get(self, tx_id: str, session: Session | None) -> Transaction | None:
        """The pending authorization ``tx_id`` if it belongs to ``session`` and is fresh."""
        if session is None:
            return None
        with self._lock:
            tx = self._transactions.get(tx_id)
            if tx is None or not hmac.compare_digest(tx.sid, session.sid):
                return None
            if time.time() - tx.created > TRANSACTION_TTL:
                self._transactions.pop(tx_id, None)
                return None
            return tx

    def finish(self, tx_id: str) -> None:
        with self._lock:
            self._transactions.pop(tx_id, None)

    @staticmethod
    def csrf_ok(session: Session, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(session.csrf.encode(), (token or "").encode())

    def _sweep(self) -> None:
        now = time.time()
        self._sessions = {k: s for k, s in self._sessions.items() if now - s.created <= SESSION_TTL}
        self._transactions = {
            k: t for k, t in self._transactions.items() if now - t.created <= TRANSACTION_TTL
        }


def session_cookie(session: Session, *, secure: bool) -> str:
    """The ``Set-Cookie`` value binding ``session`` to this host."""
    value = f"{SESSION_COOKIE}={session.sid}; Path=/; HttpOnly; SameSite=Lax"
    return value + "; Secure" if secure else value


# -- pages ---------------------------------------------------------------------------------

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#222}"
    ".warn{background:#fff3cd;border:1px solid #e0c36c;padding:.5rem .75rem;border-radius:4px}"
    "label{display:block;margin:1rem 0 .25rem}input[type=text]{width:100%;padding:.4rem;font-size:1rem}"
    "button{margin:1rem .5rem 0 0;padding:.5rem 1.2rem;font-size:1rem}code{word-break:break-all}"
)
_BANNER = (
    '<p class="warn"><strong>Development authorization server.</strong> '
    "Any username is accepted. Never use it in production.</p>"
)


def html_page(status: int, title: str, body: str, headers: Sequence[tuple[str, str]] = ()) -> Response:
    """An HTML page with headers that forbid caching, framing and scripts."""
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{_BANNER}{body}</body></html>"
    )
    out = [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Cache-Control", "no-store"),
        ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        # Not "no-referrer": browsers then send "Origin: null" with the page's own form posts,
        # which the same-origin check refuses. "same-origin" still sends nothing to other sites.
        ("Referrer-Policy", "same-origin"),
        *headers,
    ]
    return Response(status, document.encode("utf-8"), out)


def _hidden(session: Session) -> str:
    return f'<input type="hidden" name="csrf_token" value="{html.escape(session.csrf)}">'


def login_page(tx: Transaction, session: Session, headers: Sequence[tuple[str, str]] = ()) -> Response:
    """Sign-in form: any username is accepted and becomes the token's ``sub``."""
    body = (
        f"<p><strong>{html.escape(tx.client_name)}</strong> wants to access your account.</p>"
        f'<form method="post" action="/interaction/{html.escape(tx.tx_id)}">{_hidden(session)}'
        '<input type="hidden" name="action" value="login">'
        '<label for="username">Username</label>'
        f'<input type="text" id="username" name="username" maxlength="{MAX_USERNAME}" required autofocus>'
        '<button type="submit">Sign in</button></form>'
    )
    return html_page(200, "Sign in", body, headers)


def consent_page(tx: Transaction, session: Session, headers: Sequence[tuple[str, str]] = ()) -> Response:
    """Consent form naming the client, where it redirects, the scopes and the resources."""
    scopes = "".join(f"<li><code>{html.escape(s)}</code></li>" for s in tx.scope.split()) or "<li>(none)</li>"
    resources = "".join(f"<li><code>{html.escape(r)}</code></li>" for r in tx.resources)
    body = (
        f"<p>Signed in as <strong>{html.escape(session.user or '')}</strong>.</p>"
        f"<p><strong>{html.escape(tx.client_name)}</strong> (redirecting to "
        f"<code>{html.escape(tx.redirect_host)}</code>) asks for:</p><ul>{scopes}</ul>"
        f"<p>on these resources:</p><ul>{resources}</ul>"
        f'<form method="post" action="/interaction/{html.escape(tx.tx_id)}">{_hidden(session)}'
        '<button type="submit" name="action" value="approve">Approve</button>'
        '<button type="submit" name="action" value="deny">Deny</button></form>'
    )
    return html_page(200, "Authorize access", body, headers)


def error_page(status: int, message: str) -> Response:
    return html_page(status, "Authorization error", f"<p>{html.escape(message)}</p>")
