"""Statements PostgreSQL plans once per connection, for the hottest paths (SPEC §6).

Django sends every statement with its values merged in (psycopg's ClientCursor), so
PostgreSQL parses and plans it anew each time. For the statements of a dose that
planning was most of the database's work: on the 2-core box the four statements of a
dose then (token, target, lock, insert) cost 1.3 ms of PostgreSQL CPU as sent by
Django, 0.4 ms prepared (bench/http.py). A psycopg server-side cursor on Django's own connection, with
`prepare=True`, plans each statement once per connection (connections persist:
CONN_MAX_AGE) and sends only the values after that.

It is the same connection and the same transaction as the ORM's. What it bypasses is
Django's execute wrappers, of which one matters: pghistory's, which prefixes every
write with the audit context (who, which URL): the writing statement sets it itself
(covax.audit.SETTINGS_SQL, sessions_app/dose_sql.py).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

Params = Mapping[str, Any] | Sequence[Any]


def fetchone(sql: str, params: Params, *, read: bool = False) -> tuple | None:
    """`read`: the statement only reads, so it may be sent again (see _execute)."""
    return _fetch(sql, params, "fetchone", read)


def fetchall(sql: str, params: Params, *, read: bool = False) -> list[tuple]:
    return _fetch(sql, params, "fetchall", read)


def _fetch(sql: str, params: Params, how: str, read: bool):
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":  # the embedded default: Django's own cursor
        with db.cursor() as plain:
            plain.execute(sql, params)
            return getattr(plain, how)()
    if not (read and _checks_health(db)):
        db.close_if_health_check_failed()  # as db.cursor() does: a `SELECT 1` first
        return getattr(_execute(db, sql, params), how)()
    # This read is the request's health check: on a connection PostgreSQL dropped (a
    # restart) it fails, and it is sent again on a new one. A round trip fewer than
    # Django's `SELECT 1` before it, on the statement every dose starts with.
    db.health_check_done = True
    try:
        return getattr(_execute(db, sql, params), how)()
    except DatabaseError:
        if db.connection is not None and not db.connection.broken and not db.connection.closed:
            raise  # the statement failed, not the connection
    db.close()
    return getattr(_execute(db, sql, params), how)()


def _checks_health(db) -> bool:
    """Whether the next statement on `db` would be preceded by Django's health check."""
    return db.health_check_enabled and not db.health_check_done and db.connection is not None and not db.in_atomic_block


def _execute(db, sql: str, params: Params) -> psycopg.Cursor:
    """Run `sql` prepared on `db` (Django's wrapper: looked up once, each look-up through
    the `connection` proxy costs a thread-local lookup), its errors Django's."""
    db.ensure_connection()
    raw = _cursor_of(db.connection)
    with db.wrap_database_errors:
        if not db.queries_logged:
            return raw.execute(sql, params, prepare=True)
        # DEBUG or assertNumQueries: logged as Django logs its own statements, so that a
        # test counting a view's queries counts these too.
        start = time.monotonic()
        try:
            return raw.execute(sql, params, prepare=True)
        finally:
            db.queries_log.append({"sql": f"{sql} -- {params!r}", "time": f"{time.monotonic() - start:.3f}"})


def _cursor_of(raw: psycopg.Connection) -> psycopg.Cursor:
    # One server-side-binding cursor per connection, kept on it: building a cursor
    # costs as much CPU as sending a prepared statement. A new connection (CONN_MAX_AGE,
    # a reconnect after a failed health check) gets a new one.
    kept = getattr(raw, "_covax_cursor", None)
    if kept is None or kept.closed:
        kept = raw._covax_cursor = psycopg.Cursor(raw)
    return kept
