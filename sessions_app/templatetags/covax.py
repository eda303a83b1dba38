"""Template helpers for the pages: names in the page's language, undo windows."""

from __future__ import annotations

from django import template
from django.utils import timezone, translation

from sessions_app.services_aefi import undo_deadline

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
def undoable(vaccination) -> bool:
    """Whether the undo window of a just-recorded dose is still open."""
    if vaccination is None or vaccination.voided_at or vaccination.received_at is None:
        return False
    return timezone.now() <= undo_deadline(vaccination)


@register.filter
def percent(part, whole) -> int:
    try:
        return min(100, round(100 * part / whole)) if whole else 0
    except (TypeError, ValueError):
        return 0


@register.simple_tag(takes_context=True)
def nav_active(context, prefix: str) -> str:
    request = context.get("request")
    return "active" if request and request.path.startswith(prefix) else ""
