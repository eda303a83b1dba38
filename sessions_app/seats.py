"""Seats: the one place a session's allocated count moves."""

from __future__ import annotations

from django.db.models import F

from sessions_app.models import Session
from sessions_app.public.cache import invalidate_session


def session_seats_move(*, session_id: int, step: int) -> None:
    """Change a session's allocated count by `step`: the one place seats move (but for
    the dose's own write on PostgreSQL, doses/sql.py record_insert, which invalidates the
    same way), so the public API's cache (sessions_app/public/cache.py) learns of every
    change — a queryset update sends no signal. The check constraint allocated_count <=
    capacity guards it."""
    Session.objects.filter(pk=session_id).update(allocated_count=F("allocated_count") + step)
    invalidate_session(session_id)
