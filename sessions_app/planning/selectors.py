"""Reads for sessions: the session list and "why (not) on this list?" (SPEC §3 guard 3).

The session list is one query whatever its length: who is allocated, who was
vaccinated here, and who must be left off (a dose recorded anywhere else, a previous
dose missing or too recent) are all decided in SQL with EXISTS / sub-queries, so a
5,000-person list costs the same number of queries as a 5-person one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from beneficiaries.models import Beneficiary
from covax.errors import RuleBroken
from sessions_app.doses.services import dose_check
from sessions_app.models import Allocation, AllocationStatus, Session, Vaccination


@dataclass(frozen=True)
class ListEntry:
    beneficiary_id: int
    reference_id: str
    name: str
    gender: str
    birth_year: int
    id_type: str
    id_last4: str
    phone: str
    category: str
    status: str  # "due" or "vaccinated" (here, in this session)
    vaccination_id: int | None
    vaccinated_at: dt.datetime | None

    @classmethod
    def of(cls, person: Beneficiary, *, vaccination_id: int | None, vaccinated_at: dt.datetime | None) -> ListEntry:
        """A person's line; vaccinated when a dose of this session is given."""
        return cls(
            beneficiary_id=person.pk,
            reference_id=person.reference_id,
            name=person.name,
            gender=person.gender,
            birth_year=person.birth_year,
            id_type=person.id_type,
            id_last4=person.id_last4,
            phone=person.phone,
            category=person.category,
            status="vaccinated" if vaccination_id else "due",
            vaccination_id=vaccination_id,
            vaccinated_at=vaccinated_at,
        )


@dataclass(frozen=True)
class Explanation:
    on_list: bool
    code: str
    message: str


def _start_of_day(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def previous_dose_cutoff(session: Session) -> dt.datetime:
    """Dose N−1 must be given before this instant for dose N to be due on the session's
    date: the same day arithmetic as `services.dose_check` (local dates, minimum interval)."""
    return _start_of_day(session.date - dt.timedelta(days=session.vaccine.min_interval_days - 1))


def _live_doses(dose: int) -> QuerySet[Vaccination]:
    return Vaccination.objects.live().filter(beneficiary=OuterRef("pk"), dose=dose)


def session_list_queryset(session: Session) -> QuerySet[Beneficiary]:
    """Everyone on `session`'s list, annotated with what the list shows.

    On the list: people vaccinated in this session (status "vaccinated"), and people
    actively allocated to it who have no live dose of this number anywhere and, for
    dose ≥ 2, whose previous dose was the same vaccine at least the minimum interval
    before the session's date. Merged-away records never appear.
    """
    here = _live_doses(session.dose).filter(session=session)
    elsewhere = _live_doses(session.dose).exclude(session=session)
    allocated = Allocation.objects.filter(beneficiary=OuterRef("pk"), session=session, status=AllocationStatus.ACTIVE)
    due = Exists(allocated) & ~Exists(elsewhere)
    if session.dose > 1:
        previous_ok = _live_doses(session.dose - 1).filter(
            vaccine=session.vaccine_id, administered_at__lt=previous_dose_cutoff(session)
        )
        due &= Exists(previous_ok)
    return (
        Beneficiary.objects.live()
        .annotate(
            here_id=Subquery(here.values("pk")[:1]),
            here_at=Subquery(here.values("administered_at")[:1]),
        )
        .filter(Q(here_id__isnull=False) | due)
        .order_by("name", "id")
    )


def session_list(*, session: Session, search: str = "") -> list[ListEntry]:
    """The session list as shown to centre staff and returned by the API (one query)."""
    people = session_list_queryset(session)
    if search := search.strip():
        people = people.filter(_search_q(search))
    return [
        ListEntry.of(p, vaccination_id=p.here_id, vaccinated_at=p.here_at)
        for p in people.only("reference_id", "name", "gender", "birth_year", "id_type", "id_last4", "phone", "category")
    ]


def _search_q(text: str) -> Q:
    """Instant search at the centre: name, reference id, last 4 of the ID, or mobile."""
    q = Q(name__icontains=text)
    digits = "".join(ch for ch in text if ch.isdigit())
    if digits:
        q |= Q(reference_id__startswith=digits) | Q(phone__endswith=digits[-10:])
    if len(text) == 4:
        q |= Q(id_last4__iexact=text)
    return q


def _day(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%d-%m-%Y")


def why_on_list(*, session: Session, beneficiary: Beneficiary) -> Explanation:
    """Why `beneficiary` is (not) on `session`'s list, in words an officer understands."""
    if beneficiary.merged_into_id:
        return Explanation(
            False,
            "merged",
            _("This record was merged into %(ref)s; look that person up instead.")
            % {"ref": beneficiary.merged_into.reference_id},
        )
    doses = (
        Vaccination.objects.live()
        .select_related("centre", "vaccine")
        .filter(beneficiary=beneficiary, dose=session.dose)
    )
    if (done := doses.first()) is not None:
        facts = {"dose": done.dose, "date": _day(done.administered_at), "centre": done.centre.name}
        if done.session_id == session.pk:
            message = _("On the list as vaccinated: dose %(dose)s recorded here on %(date)s.") % facts
            return Explanation(True, "vaccinated_here", message)
        return Explanation(
            False,
            "already_vaccinated",
            _("Not on the list: dose %(dose)s recorded on %(date)s at %(centre)s.") % facts,
        )
    allocation = (
        Allocation.objects.select_related("session__centre")
        .filter(beneficiary=beneficiary, dose=session.dose, status=AllocationStatus.ACTIVE)
        .first()
    )
    if allocation is None:
        return Explanation(False, "not_allocated", _("Not on the list: not allocated to this session."))
    if allocation.session_id != session.pk:
        other = allocation.session
        return Explanation(
            False,
            "allocated_elsewhere",
            _("Not on the list: allocated to the session of %(date)s at %(centre)s.")
            % {"date": other.date.strftime("%d-%m-%Y"), "centre": other.centre.name},
        )
    try:
        when = _start_of_day(session.date)
        dose_check(beneficiary=beneficiary, dose=session.dose, vaccine=session.vaccine, when=when)
    except RuleBroken as exc:
        return Explanation(False, "not_due", _("Not on the list: %(reason)s") % {"reason": exc.detail})
    return Explanation(
        True,
        "due",
        _("On the list: allocated on %(date)s and due for dose %(dose)s.")
        % {"date": _day(allocation.created_at), "dose": session.dose},
    )
