"""An ``httpx2.Auth`` that authorizes MCP requests from a stored session, and never redirects.

:class:`McpBearerAuth` is what :meth:`McpClient.connect` puts on the SDK's HTTP client. For each
request it reads the session record, refreshes the access token when it is about to expire
(proactively) or when the server answers 401 (reactively, once), then sends
``Authorization: Bearer``. Refreshes run under the store's per-session lock, so concurrent
requests and processes spend a rotating refresh token only once, and the new tokens are stored
before they are used. When no usable token can be obtained it raises
:class:`~mcp_tools.client.errors.AuthorizationRequired` (or :class:`InsufficientScope` for a 403
``insufficient_scope``) for the web view to turn into a redirect.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator

import httpx2

from mcp_tools.stores import AsyncStore

from ._discovery import parse_www_authenticate
from ._flows import needs_refresh, refresh_flow
from ._io import drive_async
from .errors import AuthorizationRequired, InsufficientScope, SessionNotFound
from .guard import UrlGuard
from .record import SessionRecord, session_key

__all__ = ["McpBearerAuth"]


class McpBearerAuth(httpx2.Auth):
    """Bearer authentication for one stored session (async clients only).

    ``refresh_skew``: refresh when the token expires within this many seconds (at most a quarter
    of its lifetime). ``lock_timeout``: how long to wait for another request's refresh.
    """

    def __init__(
        self,
        session_id: str,
        store: AsyncStore,
        guard: UrlGuard,
        *,
        refresh_skew: float = 60.0,
        lock_timeout: float = 30.0,
    ) -> None:
        self.session_id = session_id
        self.store = store
        self.guard = guard
        self.refresh_skew = refresh_skew
        self.lock_timeout = lock_timeout

    def sync_auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        """Not supported: the MCP SDK client is asynchronous (use :meth:`McpClient.call_tool_sync`)."""
        raise RuntimeError("McpBearerAuth works with httpx2.AsyncClient only")

    async def _record(self) -> SessionRecord:
        record = SessionRecord.parse(await self.store.read(session_key(self.session_id)))
        if record is None:
            raise SessionNotFound(
                f"session {self.session_id!r} not found in the store", session_id=self.session_id
            )
        return record

    async def _refresh(self, used_token: str | None) -> SessionRecord:
        flow = refresh_flow(
            self.session_id, used_token, skew=self.refresh_skew, lock_timeout=self.lock_timeout
        )
        return await drive_async(flow, self.store, self.guard)

    async def async_auth_flow(
        self, request: httpx2.Request
    ) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        """Add the bearer token; refresh before expiry and once on 401; never redirect."""
        record = await self._record()
        if record.no_auth:
            response = yield request
            if response.status_code == 401:
                raise AuthorizationRequired(
                    "the MCP server now asks for authorization; send the user to start_authorization()",
                    session_id=self.session_id,
                    reason="invalid_token",
                )
            return
        token = record.access_token
        if not record.auth_complete or token is None:
            raise AuthorizationRequired(
                "this session is not authorized yet (or its grant was revoked); send the user to "
                "start_authorization()",
                session_id=self.session_id,
            )
        if needs_refresh(record, self.refresh_skew):
            record = await self._refresh(token)
        request.headers["Authorization"] = f"Bearer {record.access_token}"
        response = yield request
        if response.status_code == 401 and record.refresh_token:
            record = await self._refresh(record.access_token)
            request.headers["Authorization"] = f"Bearer {record.access_token}"
            response = yield request
        if response.status_code == 401:
            raise AuthorizationRequired(
                "the MCP server rejected the access token and it could not be refreshed; the user must "
                "authorize again",
                session_id=self.session_id,
                reason="invalid_token",
            )
        if response.status_code == 403:
            challenge = parse_www_authenticate(response.headers.get("www-authenticate"))
            if challenge.get("error") == "insufficient_scope":
                raise InsufficientScope(
                    f"the MCP server requires more scopes ({challenge.get('scope') or 'unspecified'}); send "
                    "the user to start_authorization(scope=exc.scope) to grant them",
                    session_id=self.session_id,
                    scope=challenge.get("scope"),
                )
