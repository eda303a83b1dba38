"""Audit context: who changed what, and why.

On PostgreSQL django-pghistory's triggers record every change to the domain tables;
`audit_context()` attaches a reason (and the acting user) to those events. SQLite has no
triggers, so there it does nothing — the embedded default is for trying covax out.
"""

from __future__ import annotations

import contextlib
import json

import pghistory
import pghistory.runtime
from django.conf import settings
from pghistory import config


def audit_context(**metadata):
    if settings.IS_POSTGRES:
        return pghistory.context(**metadata)
    return contextlib.nullcontext()


def current_context():
    """The audit context entered around this code (pghistory's `Context`: id, metadata),
    or None. For statements sent past Django's cursor (covax/prepared.py), which must set
    it themselves (SETTINGS_SQL). pghistory has no public accessor; tests/test_audit.py fails loudly if
    this one moves."""
    if not settings.IS_POSTGRES:
        return None
    return getattr(pghistory.runtime._tracker, "value", None)


# The settings pghistory's triggers read the context from (pghistory/runtime.py sets the
# same two, transaction-local, before each write it sees through Django's cursor). A
# statement sent past that cursor (covax/prepared.py) selects these before it writes.
SETTINGS_SQL = (
    "set_config('pghistory.context_id', %(audit_id)s, true), "
    "set_config('pghistory.context_metadata', %(audit_metadata)s, true)"
)


def settings_params() -> dict[str, str | None]:
    """The values for SETTINGS_SQL: the current context, or None for both (no context:
    the triggers record none, as for a write through Django's cursor)."""
    context = current_context()
    if context is None:
        return {"audit_id": None, "audit_metadata": None}
    return {"audit_id": str(context.id), "audit_metadata": json.dumps(context.metadata, cls=config.json_encoder())}
