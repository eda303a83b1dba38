"""Template helpers for the pages: names in the page's language, undo windows."""

from __future__ import annotations

import uuid

from django import template
from django.utils import timezone, translation

from sessions_app.doses.aefi import UNDO_WINDOW

register = template.Library()


@register.filter
def local(obj, attr: str = "name") -> str:
    """`obj.<attr>_hi` on Hindi pages when there is one, else `obj.<attr>`."""
    if translation.get_language() == "hi":
        value = getattr(obj, f"{attr}_hi", "")
        if value:
            return value
    return getattr(obj, attr, "")


@register.filter
def undoable(vaccinated_at) -> bool:
    """Whether to offer "undo" for a dose given at `vaccinated_at` (the service checks
    the exact window against the time the server received it)."""
    if vaccinated_at is None:
        return False
    return timezone.now() <= vaccinated_at + UNDO_WINDOW


@register.filter
def percent(part, whole) -> int:
    try:
        return min(100, round(100 * part / whole)) if whole else 0
    except (TypeError, ValueError):
        return 0


@register.simple_tag
def client_id() -> str:
    """A fresh idempotency key per form: a double tap or a retried request on a weak
    network replays the first record instead of writing a second one."""
    return str(uuid.uuid4())


@register.simple_tag(takes_context=True)
def nav_active(context, prefix: str) -> str:
    request = context.get("request")
    return "active" if request and request.path.startswith(prefix) else ""
