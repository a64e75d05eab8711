"""URLconf of the Django client-views test app; the test module fills ``urlpatterns``."""

from __future__ import annotations

from typing import Any

urlpatterns: list[Any] = []
