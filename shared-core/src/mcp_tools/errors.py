"""Errors shared by every part of the core."""

from __future__ import annotations

__all__ = ["ConfigurationError"]


class ConfigurationError(ValueError):
    """The application's configuration is missing a value or holds an unusable one."""
