"""Audit context: who changed what, and why.

On PostgreSQL django-pghistory's triggers record every change to the domain tables;
`audit_context()` attaches a reason (and the acting user) to those events. pghistory
sets the context before each write sent through Django's cursor, the dose path's too
(sessions_app/doses/sql.py). SQLite has no triggers, so there it does nothing — the
embedded default is for trying covax out.
"""

from __future__ import annotations

import contextlib

import pghistory
from django.conf import settings


def audit_context(**metadata):
    if settings.IS_POSTGRES:
        return pghistory.context(**metadata)
    return contextlib.nullcontext()
