"""Flask adapter of mcp-tools: an OAuth-protected MCP endpoint and its discovery documents.

The logic lives in ``mcp_tools`` (the ``mcp-tools-core`` distribution); this package converts
requests and responses, registers routes on a blueprint and reads ``app.config``::

    app.register_blueprint(create_mcp_blueprint(mcp, verifier=..., resource_url=...,
                                                authorization_servers=[...]))

or ``mcp_tools = McpTools(app)``, configured from ``app.config["MCP_TOOLS_<OPTION>"]``.
"""

from __future__ import annotations

from mcp_tools_flask import blueprint, client_views, extension, views
from mcp_tools_flask.blueprint import *  # noqa: F403 (the names of each module's __all__)
from mcp_tools_flask.client_views import *  # noqa: F403
from mcp_tools_flask.extension import *  # noqa: F403
from mcp_tools_flask.views import *  # noqa: F403

__all__ = [*blueprint.__all__, *client_views.__all__, *extension.__all__, *views.__all__]
