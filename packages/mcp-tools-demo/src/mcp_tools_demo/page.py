"""The connector's HTML page (framework-free: plain strings, everything escaped)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

__all__ = ["ConnectionView", "ToolView", "argument_skeleton", "display_text", "render_page", "result_view"]


@dataclass
class ToolView:
    name: str
    description: str
    arguments: str  # a JSON skeleton for the form
    result: dict[str, Any] | None = None


@dataclass
class ConnectionView:
    conn_id: str
    endpoint: str
    label: str
    tools: list[ToolView] = field(default_factory=list)
    error: str | None = None


def argument_skeleton(schema: Mapping[str, Any] | None) -> str:
    """``{"text": ""}`` for a tool taking ``text``: a starting point for the arguments form."""
    properties = (schema or {}).get("properties") or {}
    skeleton: dict[str, Any] = {}
    for name, spec in properties.items():
        kind = spec.get("type") if isinstance(spec, Mapping) else None
        if isinstance(spec, Mapping) and "default" in spec:
            skeleton[name] = spec["default"]
        elif kind in ("integer", "number"):
            skeleton[name] = 0
        elif kind == "boolean":
            skeleton[name] = False
        elif kind == "array":
            skeleton[name] = []
        elif kind == "object":
            skeleton[name] = {}
        else:
            skeleton[name] = "hello" if name == "text" else ""
    return json.dumps(skeleton)


def result_view(result: Any) -> dict[str, Any]:
    """A JSON-ready summary of the SDK's ``CallToolResult``."""
    texts = [str(getattr(item, "text", "")) for item in result.content if getattr(item, "type", "") == "text"]
    return {
        "is_error": bool(result.is_error),
        "text": texts,
        "structured_content": result.structured_content,
    }


def display_text(result: Mapping[str, Any]) -> str:
    """What to show of a :func:`result_view`: structured content as JSON, or the text of a plain result."""
    texts = [str(text) for text in result.get("text") or []]
    structured = result.get("structured_content")
    if isinstance(structured, Mapping) and set(structured) != {"result"}:
        return json.dumps(structured, indent=2, sort_keys=True)
    return "\n".join(texts) if texts else json.dumps(structured)


_STYLE = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}
h1{font-size:1.5rem;margin-bottom:.2rem}.sub{color:#57606a;margin-top:0}
section{border:1px solid #d0d7de;border-radius:8px;padding:1rem 1.2rem;margin:1rem 0}
label{display:block;margin:.3rem 0}
input[type=url]{width:100%;padding:.4rem;font-size:1rem;box-sizing:border-box}
button{padding:.35rem 1rem;font-size:.95rem;cursor:pointer}
.error{background:#ffebe9;border:1px solid #ff8182;padding:.6rem;border-radius:6px}
.ok{background:#dafbe1;border:1px solid #4ac26b;padding:.6rem;border-radius:6px}
.tool{border-top:1px solid #eaeef2;padding:.6rem 0}.tool:first-of-type{border-top:none}
.tool code.name{font-weight:bold;font-size:1rem}.desc{color:#57606a;margin:.2rem 0 .4rem}
textarea{width:100%;font-family:ui-monospace,monospace;font-size:.9rem;box-sizing:border-box}
pre.result{background:#f6f8fa;padding:.6rem;border-radius:6px;white-space:pre-wrap;word-break:break-word}
pre.result.is-error{background:#ffebe9}.muted{color:#57606a;font-size:.9rem}
table{border-collapse:collapse}td{padding:.15rem .8rem .15rem 0}
"""


def _server_choices(servers: Sequence[tuple[str, str]]) -> str:
    rows = []
    for index, (name, url) in enumerate(servers):
        checked = " checked" if index == 0 else ""
        rows.append(
            f'<label><input type="radio" name="server" value="{escape(name)}"{checked}> '
            f"<b>{escape(name)}</b> <code>{escape(url)}</code></label>"
        )
    return "".join(rows)


def _tool_html(conn: ConnectionView, tool: ToolView) -> str:
    result = ""
    if tool.result is not None:
        is_error = bool(tool.result.get("is_error"))
        body = display_text(tool.result)
        css = "result is-error" if is_error else "result"
        result = (
            f'<div class="muted">Result{" (error)" if is_error else ""}:</div>'
            f'<pre class="{css}" data-tool="{escape(tool.name)}">{escape(body)}</pre>'
        )
    return (
        f'<div class="tool" id="{escape(conn.conn_id)}-{escape(tool.name)}">'
        f'<code class="name">{escape(tool.name)}</code>'
        f'<div class="desc">{escape(tool.description)}</div>'
        f'<form method="post" action="/call">'
        f'<input type="hidden" name="conn" value="{escape(conn.conn_id)}">'
        f'<input type="hidden" name="tool" value="{escape(tool.name)}">'
        f'<label>Arguments (JSON) <textarea name="arguments" rows="1">{escape(tool.arguments)}</textarea>'
        "</label>"
        f'<button type="submit">Call {escape(tool.name)}</button></form>{result}</div>'
    )


def _connection_html(conn: ConnectionView) -> str:
    head = (
        f'<section class="connection" data-endpoint="{escape(conn.endpoint)}" '
        f'id="conn-{escape(conn.conn_id)}">'
        f'<h2>{escape(conn.label)}</h2><div class="muted">Connected to <code>{escape(conn.endpoint)}</code>'
        f' &middot; <form method="post" action="/disconnect" style="display:inline">'
        f'<input type="hidden" name="conn" value="{escape(conn.conn_id)}">'
        f'<button type="submit">Disconnect</button></form></div>'
    )
    if conn.error:
        body = f'<p class="error">{escape(conn.error)}</p>'
    else:
        body = f"<h3>Tools ({len(conn.tools)})</h3>" + "".join(_tool_html(conn, tool) for tool in conn.tools)
    return head + body + "</section>"


def render_page(
    *,
    servers: Sequence[tuple[str, str]],
    authorization_server: str,
    store_description: str,
    connections: Sequence[ConnectionView],
    message: str | None = None,
    error: str | None = None,
    csrf: str = "",
) -> str:
    """The whole connector page (``csrf``: the connect form's anti-CSRF token)."""
    notice = ""
    if error:
        notice = f'<p class="error" role="alert">{escape(error)}</p>'
    elif message:
        notice = f'<p class="ok" role="status">{escape(message)}</p>'
    connected = "".join(_connection_html(conn) for conn in connections) or (
        '<p class="muted">No connection yet: pick a server above and click Connect.</p>'
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>mcp-tools demo connector</title><style>{_STYLE}</style></head><body>"
        "<h1>mcp-tools demo: connector</h1>"
        '<p class="sub">A web app that connects <i>you</i> to OAuth-protected MCP servers: pick a server, '
        "sign in and consent at its authorization server, then call its tools.</p>"
        f"{notice}"
        '<section><h2>Connect to an MCP server</h2><form method="post" action="/connect">'
        f'<input type="hidden" name="csrf_token" value="{escape(csrf)}">'
        f"{_server_choices(servers)}"
        '<label>or paste an MCP server URL <input type="url" name="url" placeholder="http://127.0.0.1:PORT/mcp">'
        '</label><p><button type="submit" id="connect">Connect</button></p></form>'
        '<table class="muted"><tr><td>Authorization server</td>'
        f"<td><code>{escape(authorization_server)}</code>"
        f"</td></tr><tr><td>Token store</td><td><code>{escape(store_description)}</code></td></tr></table>"
        "</section>"
        f'<div id="connections">{connected}</div>'
        '<p class="muted">Development only: the authorization server accepts any username.</p>'
        "</body></html>"
    )
