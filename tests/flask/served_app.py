"""The Flask example app as the WSGI servers in the end-to-end tests load it.

``create()`` builds :func:`examples.flask.app.create_app_from_env` and adds ``/_diag``, which
reports the serving process and its bridge thread so a test can check that each gunicorn
worker runs its own event loop. ``MCP_TEST_EAGER=1`` starts the bridge at import time, i.e. in
the gunicorn master under ``--preload``, before the workers are forked.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from flask import Flask, jsonify

from examples.flask.app import create_app_from_env, mcp_tools

BRIDGE_THREAD = "mcp-tools-wsgi-bridge"


def create() -> Flask:
    app = create_app_from_env()
    blueprint = mcp_tools.state(app).blueprint
    if os.environ.get("MCP_TEST_EAGER") == "1":
        blueprint.start()

    @app.get("/_diag")
    def diag() -> Any:
        return jsonify(
            pid=os.getpid(),
            running=blueprint.view.wsgi_endpoint.bridge.running,
            loop_threads=[t.name for t in threading.enumerate() if t.name.startswith(BRIDGE_THREAD)],
            open_streams=getattr(
                getattr(blueprint.view.wsgi_endpoint.endpoint, "limits", None), "open_streams", None
            ),
        )

    return app
