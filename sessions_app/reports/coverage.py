"""Coverage by day and category for a district or a state (state admins' dashboards).

Two grouped queries whatever the size of the state: doses per (day, category, dose)
and people registered per category.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from beneficiaries.models import Beneficiary
from covax.accounts.scope import scoped
from sessions_app.models import Vaccination


def _bounds(date_from: dt.date, date_to: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime.combine(date_from, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min))
    return start, end


def coverage_report(
    *, user, date_from: dt.date, date_to: dt.date, district: int | None = None, state: int | None = None
) -> dict:
    """Doses given per day, category and dose number, and how many people are registered
    per category, inside the caller's scope (optionally one district or state)."""
    doses = scoped(Vaccination.objects.live(), user)
    people = scoped(Beneficiary.objects.live(), user)
    if district:
        doses, people = doses.filter(centre__district=district), people.filter(district=district)
    if state:
        doses, people = doses.filter(centre__district__state=state), people.filter(district__state=state)
    start, end = _bounds(date_from, date_to)
    tz = timezone.get_current_timezone()
    by_day = (
        doses.filter(administered_at__gte=start, administered_at__lt=end)
        .annotate(day=TruncDate("administered_at", tzinfo=tz))
        .values("day", "beneficiary__category", "dose")
        .annotate(vaccinated=Count("id"))
        .order_by("day", "beneficiary__category", "dose")
    )
    registered = people.values("category").annotate(n=Count("id")).order_by("category")
    return {
        "date_from": date_from,
        "date_to": date_to,
        "days": [
            {"date": r["day"], "category": r["beneficiary__category"], "dose": r["dose"], "vaccinated": r["vaccinated"]}
            for r in by_day
        ],
        "registered": {r["category"]: r["n"] for r in registered},
    }
