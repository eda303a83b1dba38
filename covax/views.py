"""Operational endpoints: /healthz for load balancers."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # report, never raise: this page must answer
        return f"error: {type(exc).__name__}"


def _check_cache() -> str:
    if not settings.REDIS_URL:
        return "not configured (in-process cache)"
    try:
        cache.set("healthz", "1", 5)
        return "ok" if cache.get("healthz") == "1" else "error: no echo"
    except Exception as exc:
        return f"error: {type(exc).__name__}"


def _check_broker() -> str:
    if settings.COVAX_BACKGROUND != "celery":
        return "not configured (background work on a thread)"
    from covax.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=0, timeout=1)
        return "ok"
    except Exception as exc:  # uploads wait in `queued` until the broker is back
        return f"error: {type(exc).__name__}"


@never_cache
def healthz(request):
    """Each dependency's state. 503 only when the database is down: without Redis the
    portal still marks doses (SPEC §6)."""
    checks = {"database": _check_database(), "cache": _check_cache(), "broker": _check_broker()}
    healthy = checks["database"] == "ok"
    return JsonResponse({"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503)
