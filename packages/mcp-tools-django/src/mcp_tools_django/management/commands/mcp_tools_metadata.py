"""``manage.py mcp_tools_metadata``: print the discovery documents this project serves."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mcp_tools.server.resource_server import AUTHORIZATION_SERVER_METADATA_PATH
from mcp_tools_django.runtime import get_resource_server


class Command(BaseCommand):
    help = "Print the discovery documents (RFC 9728, and RFC 8414 when configured) as JSON, by URL."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--fetch",
            action="store_true",
            help="also fetch authorization server metadata that comes from the network (Clerk)",
        )
        parser.add_argument("--indent", type=int, default=2, help="JSON indentation (default 2)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            server = get_resource_server()
        except Exception as exc:
            raise CommandError(f"MCP_TOOLS is not usable: {exc} (run manage.py check)") from exc
        documents: dict[str, Any] = {server.metadata_url: server.document}
        source = server.authorization_server_metadata
        origin = server.metadata_url.split("/.well-known/", 1)[0]
        as_url = origin + AUTHORIZATION_SERVER_METADATA_PATH
        if isinstance(source, Mapping):
            documents[as_url] = dict(source)
        elif source is not None and options["fetch"]:
            try:
                documents[as_url] = dict(source.get_sync())
            except Exception as exc:
                raise CommandError(f"authorization server metadata is unavailable: {exc}") from exc
        self.stdout.write(json.dumps(documents, indent=options["indent"] or None))
