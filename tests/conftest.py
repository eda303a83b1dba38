"""Suite-wide rules: tests about PostgreSQL or Redis use the real thing.

Locally, without DATABASE_URL/REDIS_URL, such tests are skipped; in CI (CI=true) they
fail instead, so a CI that lost its services can never pass green.
"""

from __future__ import annotations

import os

import pytest
from django.conf import settings


def _missing(marker: str) -> str | None:
    if marker == "postgres" and not settings.IS_POSTGRES:
        return "needs PostgreSQL: set DATABASE_URL=postgres://…"
    if marker == "redis" and not settings.REDIS_URL:
        return "needs Redis: set REDIS_URL=redis://…"
    if marker == "browser" and not os.path.exists("/usr/bin/chromium"):
        return "needs Debian chromium at /usr/bin/chromium"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in ("postgres", "redis", "browser"):
        if item.get_closest_marker(marker) and (reason := _missing(marker)):
            if os.environ.get("CI"):
                pytest.fail(f"CI must provide this: {reason}", pytrace=False)
            pytest.skip(reason)
