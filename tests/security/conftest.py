"""Fixtures shared by the security suites: the anyio backend and a log-record collector."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


#: Frameworks' own security logging of a refused ``Host`` (Django logs DisallowedHost at ERROR,
#: by design, before any mcp-tools code runs); not a crash.
FRAMEWORK_HOST_LOGGERS = ("django.security.DisallowedHost",)


class Collector(logging.Handler):
    """Keeps every record it sees (attach it to the root logger)."""

    def __init__(self, level: int = logging.WARNING) -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []
        self._seen: set[int] = set()

    def emit(self, record: logging.LogRecord) -> None:
        if id(record) not in self._seen:  # attached to several loggers: keep each record once
            self._seen.add(id(record))
            self.records.append(record)

    @staticmethod
    def render(records: list[logging.LogRecord]) -> str:
        """Messages (arguments merged), exception tracebacks and stack info of ``records``."""
        out = []
        for record in records:
            out.append(f"{record.levelname} {record.name} {record.getMessage()}")
            if record.exc_info:
                out.append(logging.Formatter().formatException(record.exc_info))
            if record.exc_text:
                out.append(record.exc_text)
            if record.stack_info:
                out.append(record.stack_info)
        return "\n".join(out)

    def text(self) -> str:
        return self.render(self.records)

    def problems(self) -> list[str]:
        """Records that betray a crash: ERROR or worse, exception info, or a traceback."""
        bad = []
        for record in self.records:
            if record.name.startswith(FRAMEWORK_HOST_LOGGERS):
                continue
            message = record.getMessage()
            if record.levelno >= logging.ERROR or record.exc_info or "Traceback" in message:
                bad.append(f"{record.levelname} {record.name}: {message[:500]}")
        return bad


@pytest.fixture
def logs() -> Iterator[Collector]:
    """Every record at WARNING or above, from every logger, while the test runs."""
    collector = Collector(logging.WARNING)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(collector)
    root.setLevel(min(old_level, logging.WARNING) if old_level else logging.WARNING)
    try:
        yield collector
    finally:
        root.removeHandler(collector)
        root.setLevel(old_level)
