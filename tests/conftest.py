"""Suite-wide rules: tests about PostgreSQL or Redis use the real thing, and CI skips nothing.

Locally, a test marked `postgres` or `redis` is skipped without DATABASE_URL=postgres://…
or REDIS_URL (and a `browser` one without Debian's chromium). In CI (CI=true) no test may
skip, whatever asks for it (a missing service, a skipif, a pytest.skip, a unittest
skipTest): the skip is reported as a failure, so a CI that lost a service, its browser or
../shared can never pass green. A CI run without PostgreSQL and Redis on purpose (.ci/run's
embedded leg) deselects their tests explicitly: -m "not postgres and not redis".
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest
from django.conf import settings


def _ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def _missing(marker: str) -> str | None:
    if marker == "postgres" and not settings.IS_POSTGRES:
        return "needs PostgreSQL: set DATABASE_URL=postgres://…"
    if marker == "redis" and not settings.REDIS_URL:
        return "needs Redis: set REDIS_URL=redis://…"
    if marker == "browser" and not os.path.exists("/usr/bin/chromium"):
        return "needs Debian chromium at /usr/bin/chromium"
    return None


def pytest_report_header(config: pytest.Config) -> str:
    database = "PostgreSQL" if settings.IS_POSTGRES else settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    redis = f"Redis db {urlsplit(settings.REDIS_URL).path.strip('/') or 0}" if settings.REDIS_URL else "no Redis"
    rule = "CI=true: every skip fails" if _ci() else "skips allowed (CI unset)"
    return f"covax: {database}, {redis}, background {settings.COVAX_BACKGROUND}; {rule}"


def pytest_sessionstart(session: pytest.Session) -> None:
    # CI checks every public API answer against CoWIN's own document too: without it
    # those checks would pass by checking less (tests/public_contract.py).
    from tests.public_contract import reference_present

    if _ci() and not reference_present():
        raise pytest.UsageError("CI needs CoWIN's reference: set COVAX_COWIN_REFERENCE or put ../shared/ beside")


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in ("postgres", "redis", "browser"):
        if item.get_closest_marker(marker) and (reason := _missing(marker)):
            pytest.skip(reason)


def _no_skip_in_ci(report: pytest.TestReport | pytest.CollectReport) -> None:
    if _ci() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"CI allows no skip: {reason}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    report = yield
    _no_skip_in_ci(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> pytest.CollectReport:
    report = yield
    _no_skip_in_ci(report)
    return report
