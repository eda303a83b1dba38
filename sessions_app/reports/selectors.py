"""Reads behind the district officer's dashboard and reports: counts per session, per
centre and per day, each in one query whatever the number of sessions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from covax.accounts.scope import scoped
from sessions_app.models import Centre, Session, SessionStatus, Vaccination


@dataclass(frozen=True)
class ReportRow:
    session_id: int
    date: dt.date
    centre: str
    centre_hi: str
    vaccine: str
    dose: int
    status: str
    capacity: int
    allocated: int
    vaccinated: int
    centre_id: int = 0

    @property
    def turnout(self) -> int | None:
        """Vaccinated as a percentage of those allocated (walk-ins can push it past 100)."""
        return round(100 * self.vaccinated / self.allocated) if self.allocated else None


@dataclass(frozen=True)
class CentreProgress:
    centre_id: int
    name: str
    name_hi: str
    capacity: int
    planned: int
    vaccinated: int

    @property
    def percent(self) -> int:
        return round(100 * self.vaccinated / self.planned) if self.planned else 0


@dataclass(frozen=True)
class DayTurnout:
    date: dt.date
    planned: int
    vaccinated: int


def _live_doses() -> Coalesce:
    """The live doses given at the session (a correlated count: still one query)."""
    doses = (
        Vaccination.objects.live()
        .filter(session=OuterRef("pk"))
        .order_by()
        .values("session")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(doses, output_field=IntegerField()), 0)


def session_report(
    *, user, date_from: dt.date, date_to: dt.date, district: int | None = None, state: int | None = None
) -> list[ReportRow]:
    rows = session_report_rows(user=user, date_from=date_from, date_to=date_to, district=district, state=state)
    return [report_row(s) for s in rows]


def session_report_rows(
    *, user, date_from: dt.date, date_to: dt.date, district: int | None = None, state: int | None = None
) -> QuerySet:
    """The report as one lazy query of plain rows, so an API page reads only its page."""
    sessions = scoped(Session.objects.all(), user)
    if district:
        sessions = sessions.filter(centre__district=district)
    if state:
        sessions = sessions.filter(centre__district__state=state)
    sessions = (
        sessions.filter(date__gte=date_from, date__lte=date_to)
        .annotate(vaccinated=_live_doses())
        .values(
            "id",
            "date",
            "centre_id",
            "centre__name",
            "centre__name_hi",
            "vaccine__code",
            "dose",
            "status",
            "capacity",
            "allocated_count",
            "vaccinated",
        )
        .order_by("date", "centre__name", "id")
    )
    return sessions


def report_row(s: dict) -> ReportRow:
    return ReportRow(
        session_id=s["id"],
        date=s["date"],
        centre=s["centre__name"],
        centre_hi=s["centre__name_hi"],
        vaccine=s["vaccine__code"],
        dose=s["dose"],
        status=s["status"],
        capacity=s["capacity"],
        allocated=s["allocated_count"],
        vaccinated=s["vaccinated"],
        centre_id=s["centre_id"],
    )


def centre_progress(*, user, day: dt.date) -> list[CentreProgress]:
    """Planned (allocated) against vaccinated per centre for the sessions of `day`."""
    today = Q(sessions__date=day) & ~Q(sessions__status=SessionStatus.CANCELLED)
    rows = (
        scoped(Centre.objects.all(), user)
        .filter(today)
        .annotate(
            capacity_sum=Sum("sessions__capacity", filter=today),
            planned=Sum("sessions__allocated_count", filter=today),
        )
        .values_list("id", "name", "name_hi", "capacity_sum", "planned")
        .order_by("name")
    )
    doses = dict(
        scoped(Vaccination.objects.live(), user)
        .filter(session__date=day)
        .values("centre_id")
        .annotate(n=Count("id"))
        .values_list("centre_id", "n")
    )
    return [
        CentreProgress(
            centre_id=pk,
            name=name,
            name_hi=name_hi,
            capacity=cap or 0,
            planned=planned or 0,
            vaccinated=doses.get(pk, 0),
        )
        for pk, name, name_hi, cap, planned in rows
    ]


def turnout_by_day(*, user, days: int = 14, until: dt.date | None = None) -> list[DayTurnout]:
    """People planned and doses given per day over the last `days` days (every day
    present, zero or not, so the chart has no gaps)."""
    until = until or timezone.localdate()
    since = until - dt.timedelta(days=days - 1)
    planned = dict(
        scoped(Session.objects.all(), user)
        .filter(date__gte=since, date__lte=until)
        .exclude(status=SessionStatus.CANCELLED)
        .values("date")
        .annotate(n=Sum("allocated_count"))
        .values_list("date", "n")
    )
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(dt.datetime.combine(since, dt.time.min), tz)
    end = timezone.make_aware(dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min), tz)
    given = dict(
        scoped(Vaccination.objects.live(), user)
        .filter(administered_at__gte=start, administered_at__lt=end)
        .annotate(day=TruncDate("administered_at", tzinfo=tz))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    out = []
    for i in range(days):
        day = since + dt.timedelta(days=i)
        out.append(DayTurnout(date=day, planned=planned.get(day) or 0, vaccinated=given.get(day, 0)))
    return out
