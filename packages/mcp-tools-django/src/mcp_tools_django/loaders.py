"""Objects built from the ``MCP_TOOLS`` setting: the endpoint's options and the store."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from mcp_tools.options import McpOptions, import_object
from mcp_tools.stores.base import BaseStore
from mcp_tools_django import conf
from mcp_tools_django.hosts import host_allowed


def load_options(
    raw: Mapping[str, Any] | None = None, *, describe: Callable[[str], str] = conf.describe
) -> McpOptions:
    """:class:`~mcp_tools.options.McpOptions` from ``MCP_TOOLS`` (or ``raw``), strings loaded by
    :meth:`~mcp_tools.options.McpOptions.from_values`. The ``Host`` rule is Django's
    (:func:`~mcp_tools_django.hosts.host_allowed`) unless ``ALLOWED_HOSTS`` is a callable.

    Raises :class:`~mcp_tools.errors.ConfigurationError` naming the key (``MCP_TOOLS['SERVER']``).
    """
    values = conf.option_values(raw)
    if not callable(values["allowed_hosts"]):
        values["allowed_hosts"] = host_allowed
    return McpOptions.from_values(values, describe=describe)


def load_store(url: str | None = None) -> BaseStore:
    """A store from ``url`` or ``MCP_TOOLS['STORE']`` (a URL such as ``redis://...``, or an import
    string naming a store or a factory). A new store each call: close it when done. URL stores are
    encrypted with keys derived from ``SECRET_KEY`` (and its fallbacks) unless given in STORE_OPTIONS."""
    from mcp_tools.stores.url import store_from_url

    value = url if url is not None else conf.django_setting("STORE")
    if not value:
        raise ImproperlyConfigured("MCP_TOOLS['STORE'] is not set (e.g. 'redis://localhost:6379/0')")
    if isinstance(value, str) and "://" in value:
        fallbacks = getattr(settings, "SECRET_KEY_FALLBACKS", ())
        options = dict(conf.django_setting("STORE_OPTIONS") or {})
        return store_from_url(value, secret=settings.SECRET_KEY, secret_fallbacks=fallbacks, **options)
    store = import_object(value) if isinstance(value, str) else value
    if callable(store) and not isinstance(store, BaseStore):
        store = store()
    if not isinstance(store, BaseStore):
        raise ImproperlyConfigured(f"MCP_TOOLS['STORE'] did not give a store; got {type(store).__name__}")
    return store
