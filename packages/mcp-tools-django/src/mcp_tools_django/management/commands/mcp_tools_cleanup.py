"""``manage.py mcp_tools_cleanup``: delete expired (and old) entries from the configured store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mcp_tools_django.loaders import load_store


class Command(BaseCommand):
    help = "Delete expired entries of MCP_TOOLS['STORE'], and entries older than --older-than days."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=float,
            default=30.0,
            metavar="DAYS",
            help="also delete entries created more than DAYS days ago (default 30; fractions allowed)",
        )
        parser.add_argument("--store", metavar="URL", help="a store URL instead of MCP_TOOLS['STORE']")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["older_than"]
        if days < 0:
            raise CommandError("--older-than must be zero or more days")
        try:
            store = load_store(options["store"])
        except Exception as exc:
            raise CommandError(f"no usable store: {exc}") from exc
        try:
            removed = store.cleanup(timedelta(days=days))
        except Exception as exc:
            raise CommandError(f"cleanup failed: {type(exc).__name__}: {exc}") from exc
        finally:
            store.close()
        self.stdout.write(f"removed {removed} entr{'y' if removed == 1 else 'ies'}")
