"""Audit context: who changed what, and why.

On PostgreSQL django-pghistory's triggers record every change to the domain tables;
`audit_context()` attaches a reason (and the acting user) to those events. SQLite has no
triggers, so there it does nothing — the embedded default is for trying covax out.
"""

from __future__ import annotations

import contextlib

import pghistory
import pghistory.runtime
from django.conf import settings


def audit_context(**metadata):
    if settings.IS_POSTGRES:
        return pghistory.context(**metadata)
    return contextlib.nullcontext()


def current_context():
    """The audit context entered around this code (pghistory's `Context`: id, metadata),
    or None. For statements sent past Django's cursor (covax/prepared.py), which must set
    it themselves. pghistory has no public accessor; tests/test_audit.py fails loudly if
    this one moves."""
    if not settings.IS_POSTGRES:
        return None
    return getattr(pghistory.runtime._tracker, "value", None)
