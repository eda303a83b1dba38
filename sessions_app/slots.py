"""Session time slots as CoWIN writes them: "09:00AM-11:00AM"."""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

SLOT_RE = re.compile(r"^(0[1-9]|1[0-2]):[0-5][0-9](AM|PM)-(0[1-9]|1[0-2]):[0-5][0-9](AM|PM)$")


def _time(text: str) -> dt.time:
    return dt.datetime.strptime(text, "%I:%M%p").time()


def validate_slot(value: str) -> None:
    if not SLOT_RE.match(value or ""):
        raise ValidationError(_("A slot looks like 09:00AM-11:00AM, not %(value)s.") % {"value": value})
    start, end = value.split("-")
    if _time(start) >= _time(end):
        raise ValidationError(_("Slot %(value)s ends before it starts.") % {"value": value})


def slots_for(opens: dt.time, closes: dt.time, hours: int = 2) -> list[str]:
    """Slots of `hours` between opening and closing time, the last one cut at closing."""
    day = dt.date(2000, 1, 1)
    start, end = dt.datetime.combine(day, opens), dt.datetime.combine(day, closes)
    slots = []
    while start < end:
        stop = min(start + dt.timedelta(hours=hours), end)
        slots.append(f"{start:%I:%M%p}-{stop:%I:%M%p}")
        start = stop
    return slots
