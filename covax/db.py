"""Reads PostgreSQL parses and plans once per connection (SPEC §6: dose marking).

Django binds values client-side: every statement reaches PostgreSQL as new text, to be
parsed and planned again (0.06–0.2 ms each for the dose's reads). Inside `planned_reads()`
Django's own cursors bind server-side instead (its documented `server_side_binding`
cursor class), so psycopg prepares a statement the second time a connection sends it
(OPTIONS `prepare_threshold`) and PostgreSQL plans it once. Everything else about the
cursor stays Django's: the health check, error wrapping, the query log.

Reads only, and not for the whole app: pghistory sends each audited write with its
context as a second command in front (`SELECT set_config(...); INSERT ...`), and a
prepared statement holds one command. SQLite: nothing changes.

A pooler must keep prepared statements apart per client: PgBouncer ≥ 1.21 in transaction
mode with `max_prepared_statements`, or session mode.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


@contextmanager
def planned_reads() -> Iterator[None]:
    if connection.vendor != "postgresql":
        yield
        return
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.ensure_connection()
    raw = connection.connection
    kept, raw.cursor_factory = raw.cursor_factory, ServerBindingCursor
    try:
        yield
    finally:
        # A health check that reopened the connection left the new one as Django made it.
        raw.cursor_factory = kept
