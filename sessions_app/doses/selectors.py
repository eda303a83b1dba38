"""Reads for recording a dose."""

from __future__ import annotations

from sessions_app.doses import sql as dose_sql


def dose_target(
    *, user, reference_id: str | None, centre_id: int | None, vaccine_code: str | None, session_id: int | None
) -> dose_sql.Target:
    """The person, centre, vaccine and session a dose request names, each None unless it
    exists within the scope of `user`: one query (sessions_app/doses/sql.py says why)."""
    if "\x00" in (reference_id or "") + (vaccine_code or ""):  # PostgreSQL cannot compare NUL
        reference_id = vaccine_code = None
    return dose_sql.target_read(
        user=user, reference_id=reference_id, centre_id=centre_id, vaccine_code=vaccine_code, session_id=session_id
    )
