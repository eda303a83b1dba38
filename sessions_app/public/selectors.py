"""Reads behind the CoWIN-compatible public API (SPEC §5): each in a constant number
of queries whatever the number of centres and sessions."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Exists, F, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from sessions_app.models import (
    Allocation,
    AllocationStatus,
    Centre,
    District,
    Session,
    SessionStatus,
    State,
    Vaccination,
)

# Only sessions a citizen can still go to are public: never cancelled or closed ones.
PUBLIC_STATUSES = (SessionStatus.PLANNED, SessionStatus.OPEN)
CALENDAR_DAYS = 7


def state_list() -> list[State]:
    return list(State.objects.order_by("name"))


def district_list(*, state_id: int) -> list[District]:
    return list(District.objects.filter(state_id=state_id).order_by("name"))


def district_ids_for_pincode(*, pincode: str) -> list[int]:
    return sorted(set(Centre.objects.filter(pincode=pincode).values_list("district_id", flat=True)))


def district_id_for_centre(*, centre_id: int) -> int | None:
    return Centre.objects.filter(pk=centre_id).values_list("district_id", flat=True).first()


def _walk_in_doses() -> Coalesce:
    """Live doses given in the session to people who held no place in it. A person who
    was allocated keeps that allocation when vaccinated (allocated_count already counts
    the place); doses to walk-ins take places on top of it."""
    held = Allocation.objects.filter(
        session_id=OuterRef("session_id"),
        beneficiary_id=OuterRef("beneficiary_id"),
        status=AllocationStatus.ACTIVE,
    )
    doses = (
        Vaccination.objects.live()
        .filter(session=OuterRef("pk"))
        .filter(~Exists(held))
        .order_by()
        .values("session")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(doses, output_field=IntegerField()), 0)


# What a public answer shows of a session, its centre and places: plain rows, as
# building model instances for hundreds of sessions costs more than the query.
ROW = {
    "centre_name": F("centre__name"),
    "centre_name_hi": F("centre__name_hi"),
    "address": F("centre__address"),
    "address_hi": F("centre__address_hi"),
    "block": F("centre__block"),
    "block_hi": F("centre__block_hi"),
    "pincode": F("centre__pincode"),
    "lat": F("centre__lat"),
    "long": F("centre__long"),
    "fee_type": F("centre__fee_type"),
    "fees": F("centre__fees"),
    "opens": F("centre__opens"),
    "closes": F("centre__closes"),
    "district_name": F("centre__district__name"),
    "district_name_hi": F("centre__district__name_hi"),
    "state_name": F("centre__district__state__name"),
    "state_name_hi": F("centre__district__state__name_hi"),
    "vaccine_code": F("vaccine__code"),
}
SESSION_FIELDS = (
    "centre_id",
    "public_id",
    "date",
    "dose",
    "capacity",
    "allocated_count",
    "min_age",
    "max_age",
    "slots",
)


def public_sessions(
    *,
    first: dt.date,
    days: int = 1,
    district_id: int | None = None,
    pincode: str | None = None,
    centre_id: int | None = None,
    vaccine: str | None = None,
) -> QuerySet:
    """Public sessions from `first` for `days` days in one district, pincode or centre:
    one row (dict) per session with its centre, district, state and vaccine, and
    `walk_ins` (one query). Places taken = allocated_count + walk_ins."""
    sessions = Session.objects.filter(
        status__in=PUBLIC_STATUSES, date__gte=first, date__lt=first + dt.timedelta(days=days)
    )
    if district_id is not None:
        sessions = sessions.filter(centre__district_id=district_id)
    if pincode is not None:
        sessions = sessions.filter(centre__pincode=pincode)
    if centre_id is not None:
        sessions = sessions.filter(centre_id=centre_id)
    if vaccine:
        sessions = sessions.filter(vaccine__code=vaccine.upper())
    return (
        sessions.annotate(walk_ins=_walk_in_doses())
        .order_by("centre__name", "centre_id", "date", "vaccine__code", "dose", "id")
        .values(*SESSION_FIELDS, "walk_ins", **ROW)
    )


def available(row: dict) -> int:
    """Places left: capacity minus allocations minus doses to walk-ins, never below 0."""
    return max(row["capacity"] - row["allocated_count"] - row["walk_ins"], 0)
