"""The ``MCP_TOOLS`` setting, read when needed (settings only: :mod:`.loaders` builds objects from
them, :mod:`.runtime` keeps what was built, :mod:`.hosts` holds the Host rule).

Its keys are the option names of :class:`mcp_tools.options.McpOptions` in upper case
(``"RESOURCE_URL"``, ``"STATELESS"``, ``"WSGI_RESPONSE_TIMEOUT"``, ...), plus
:data:`DJANGO_SETTINGS` (``"STORE"``, ``"STORE_OPTIONS"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from mcp_tools.options import flat_fields

#: The resource URL used when ``RESOURCE_URL`` is missing and ``DEBUG`` is on (``runserver``).
DEBUG_RESOURCE_URL: Final = "http://localhost:8000/mcp"

#: Keys of ``MCP_TOOLS`` that are not endpoint options, with their defaults.
DJANGO_SETTINGS: Final[Mapping[str, Any]] = {"STORE": None, "STORE_OPTIONS": {}}


def setting_key(flat_name: str) -> str:
    """The ``MCP_TOOLS`` key of an option (its flat name in upper case)."""
    return flat_name.upper()


def describe(flat_name: str) -> str:
    """How a user writes an option, for error messages: ``MCP_TOOLS['RESOURCE_URL']``."""
    return f"MCP_TOOLS['{setting_key(flat_name)}']"


def user_settings() -> Mapping[str, Any]:
    """``settings.MCP_TOOLS`` as given (``{}`` when absent)."""
    raw = getattr(settings, "MCP_TOOLS", None)
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ImproperlyConfigured("settings.MCP_TOOLS must be a dict")
    return raw


def unknown_keys(raw: Mapping[str, Any]) -> list[str]:
    """Keys of ``raw`` that name no option and no Django-only setting (likely typos)."""
    known = {setting_key(name) for name in flat_fields()} | set(DJANGO_SETTINGS)
    return sorted(str(key) for key in raw if key not in known)


def option_values(raw: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The options set in ``MCP_TOOLS`` by flat name (``None``: not set), with the ``DEBUG``
    default of ``RESOURCE_URL``. Unknown keys are left out (the system checks report them)."""
    raw = user_settings() if raw is None else raw
    values = {name: raw.get(setting_key(name)) for name in flat_fields()}
    if not values["resource_url"] and settings.DEBUG:
        values["resource_url"] = DEBUG_RESOURCE_URL
    return values


def django_setting(key: str) -> Any:
    """A Django-only key of ``MCP_TOOLS`` (see :data:`DJANGO_SETTINGS`), or its default."""
    return user_settings().get(key, DJANGO_SETTINGS[key])
