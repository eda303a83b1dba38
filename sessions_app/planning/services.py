"""Planning: sessions (create, change, cancel) and who is on their lists (allocation, SPEC §3
Sessions and guard 3). Capacity is never oversold: lock order people, then the session.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import connections, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy, gettext_noop

from beneficiaries.models import Beneficiary
from covax import reasons
from covax.audit import audit_context
from covax.errors import RuleBroken, ServiceError
from sessions_app.doses.services import no_such_dose, previous_dose_check
from sessions_app.models import (
    Allocation,
    AllocationStatus,
    Centre,
    Session,
    SessionStatus,
    Vaccination,
    Vaccine,
)
from sessions_app.planning.selectors import previous_dose_cutoff
from sessions_app.seats import session_seats_move
from sessions_app.slots import slots_for  # noqa: E402


def session_create(
    *,
    centre: Centre,
    date: dt.date,
    vaccine: Vaccine,
    dose: int,
    capacity: int,
    min_age: int = 18,
    max_age: int | None = None,
    slots: list[str] | None = None,
    categories: list[str] | None = None,
) -> Session:
    if dose > vaccine.doses:
        raise ServiceError(no_such_dose(dose, vaccine), field="dose")
    if max_age is not None and max_age < min_age:
        raise ServiceError(
            reasons.reason(gettext_noop("The maximum age cannot be below the minimum age.")), field="max_age"
        )
    if date < timezone.localdate():
        raise ServiceError(reasons.reason(gettext_noop("A session cannot be planned in the past.")), field="date")
    return Session.objects.create(
        centre=centre,
        date=date,
        vaccine=vaccine,
        dose=dose,
        capacity=capacity,
        min_age=min_age,
        max_age=max_age,
        slots=slots or [],
        categories=categories or [],
    )


@dataclass(frozen=True)
class Skip:
    reference_id: str
    reason: str  # one of SKIP_REASONS
    detail: str


# Why a person was not allocated, and its name on the allocate page.
SKIP_REASONS = {
    "already_vaccinated": gettext_lazy("Already vaccinated with this dose"),
    "allocated_elsewhere": gettext_lazy("On another session's list for this dose"),
    "already_allocated": gettext_lazy("Already on this list"),
    "not_due": gettext_lazy("Not yet due"),
    "ineligible": gettext_lazy("Not eligible for this session"),
    "capacity_full": gettext_lazy("No place left"),
    "not_found": gettext_lazy("Not found in your area"),
    "merged": gettext_lazy("Merged into another person"),
}

# An automatic allocation names this many skipped people; the others are counted.
AUTO_NAMED_SKIPS = 20
# ... and counts the due people it did not read up to this many ("10,000 or more").
AUTO_COUNT_BOUND = 10_000


def auto_margin(room: int) -> int:
    """How many people beyond the free places an automatic allocation reads: those who
    turn out not to be due under the row locks (a dose recorded, a place taken elsewhere
    or a merge in the moment between the read and the locks) are replaced from these."""
    return room // 10 + 10


@dataclass
class AllocationResult:
    """Who was allocated, and who was skipped: counted per reason, and named (every one
    for a list of reference ids, which the caller named; the first `named_limit` for an
    automatic allocation, which would otherwise name a district)."""

    allocated: list[str] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    skipped_count: dict[str, int] = field(default_factory=dict)
    # False when a count stopped at its bound: then it is a lower bound (auto's capacity_full).
    skipped_count_exact: bool = True
    named_limit: int | None = field(default=None, repr=False)

    @property
    def allocated_count(self) -> int:
        return len(self.allocated)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped_count.values())

    def skip(self, skip: Skip) -> None:
        self.skipped_count[skip.reason] = self.skipped_count.get(skip.reason, 0) + 1
        if self.named_limit is None or len(self.skipped) < self.named_limit:
            self.skipped.append(skip)


def _age_ok(session: Session, birth_year: int) -> bool:
    age = session.date.year - birth_year
    return age >= session.min_age and (session.max_age is None or age <= session.max_age)


def due_candidates(session: Session) -> Any:
    """People of the centre's district who are due for this session: the right category
    and age, no dose of this number, no active allocation for it, and (dose ≥ 2) the
    previous dose of the same vaccine at least the minimum interval before the date.
    Unordered: `next_due` reads them in the order they are served."""
    people = Beneficiary.objects.live().filter(district_id=session.centre.district_id)
    if session.categories:
        people = people.filter(category__in=session.categories)
    people = people.filter(birth_year__lte=session.date.year - session.min_age)
    if session.max_age is not None:
        people = people.filter(birth_year__gte=session.date.year - session.max_age)
    doses = Vaccination.objects.live().filter(beneficiary=OuterRef("pk"))
    # One EXISTS for "an active allocation for this dose" (an exclude() across the
    # relation would test "an allocation for this dose" and "an active allocation" apart,
    # and leave out a person whose earlier list for this dose was cancelled).
    allocated = Allocation.objects.filter(beneficiary=OuterRef("pk"), dose=session.dose, status=AllocationStatus.ACTIVE)
    people = people.exclude(Exists(doses.filter(dose=session.dose))).exclude(Exists(allocated))
    if session.dose > 1:
        previous = doses.filter(
            dose=session.dose - 1, vaccine=session.vaccine_id, administered_at__lt=previous_dose_cutoff(session)
        )
        people = people.filter(Exists(previous))
    return people


def next_due(session: Session, n: int) -> list[int]:
    """The ids of the first `n` people due for `session`, in the order they are served:
    those who chose the session's centre first, then everyone else; each group in the
    order they registered (id). First come, first served: nobody moves up but by waiting
    (people registered by one upload come in identity-key order, which no one chooses),
    and it is the order of the index that serves it.

    One statement of two reads, each ordered by id and limited to `n`, so the database
    stops after `n` people of each group instead of sorting the district.
    beneficiary_live_district_idx (district, id, then the columns a session filters on)
    serves both, or the preferred-centre index the first when few chose the centre. Each
    read is a derived table because SQLite takes no LIMIT in the parts of a UNION (Django
    refuses to slice them there): the same statement on both databases."""
    due = due_candidates(session).values_list("pk", flat=True)
    chose = due.filter(preferred_centre_id=session.centre_id).order_by("pk")[:n]
    others = due.exclude(preferred_centre_id=session.centre_id).order_by("pk")[:n]
    (chose_sql, chose_params), (others_sql, others_params) = (
        part.query.get_compiler(using=due.db).as_sql() for part in (chose, others)
    )
    sql = (
        f'SELECT "pk" FROM (SELECT "pk", 0 AS "turn" FROM ({chose_sql}) AS "chose"'
        f' UNION ALL SELECT "pk", 1 AS "turn" FROM ({others_sql}) AS "others") AS "due"'
        f' ORDER BY "turn", "pk" LIMIT {int(n)}'
    )
    with connections[due.db].cursor() as cursor:
        cursor.execute(sql, (*chose_params, *others_params))
        return [pk for (pk,) in cursor.fetchall()]


class _Facts:
    """What the database says about a batch of people, read in three queries so that
    checking 5,000 people costs the same as checking five."""

    def __init__(self, session: Session, ids: list[int]):
        live = Vaccination.objects.live().filter(beneficiary_id__in=ids)
        self.done = {v.beneficiary_id: v for v in live.filter(dose=session.dose).select_related("centre")}
        self.previous = {v.beneficiary_id: v for v in live.filter(dose=session.dose - 1)} if session.dose > 1 else {}
        self.allocated = dict(
            Allocation.objects.filter(
                beneficiary_id__in=ids, dose=session.dose, status=AllocationStatus.ACTIVE
            ).values_list("beneficiary_id", "session_id")
        )


def _skip_reason(session: Session, person: Beneficiary, facts: _Facts) -> tuple[str, str] | None:
    if person.merged_into_id:
        return "merged", reasons.reason(gettext_noop("This record was merged into another person."))
    if (done := facts.done.get(person.pk)) is not None:
        when = timezone.localtime(done.administered_at).strftime("%d-%m-%Y")
        return "already_vaccinated", reasons.reason(
            gettext_noop("Dose %(dose)s recorded on %(date)s at %(centre)s."),
            dose=done.dose,
            date=when,
            centre=done.centre.name,
        )
    if (other := facts.allocated.get(person.pk)) is not None:
        if other == session.pk:
            return "already_allocated", reasons.reason(gettext_noop("Already on this session's list."))
        return "allocated_elsewhere", reasons.reason(
            gettext_noop("Already allocated to another session for this dose.")
        )
    if session.categories and person.category not in session.categories:
        return "ineligible", reasons.reason(
            gettext_noop("Category %(cat)s is not eligible for this session."), cat=person.category
        )
    if not _age_ok(session, person.birth_year):
        return "ineligible", reasons.reason(gettext_noop("Age is outside this session's limits."))
    if session.dose > 1:
        previous = facts.previous.get(person.pk)
        when = timezone.make_aware(dt.datetime.combine(session.date, dt.time.min))
        try:
            previous_dose_check(previous, dose=session.dose, vaccine=session.vaccine, when=when)
        except RuleBroken as exc:
            return "not_due", str(exc.detail)
    return None


@transaction.atomic
def allocation_create(
    *,
    session: Session,
    user=None,
    reference_ids: list[str] | None = None,
    auto: bool = False,
    within: Any = None,
) -> AllocationResult:
    """Allocate people to `session`, by reference id or automatically from those due.

    `within` limits whom a reference id may name (the caller's scope); unknown ones are
    skipped as `not_found`. Every skip is counted with its reason; a list's skips are all
    named, auto's first AUTO_NAMED_SKIPS. Capacity is never oversold.

    Auto costs the seats, not the district: it reads the first free places + margin
    people due (`next_due`), and counts the due people it did not read up to
    AUTO_COUNT_BOUND, so its statements are the same for fifty people due or a million.
    """
    if session.status in (SessionStatus.CANCELLED, SessionStatus.CLOSED):
        raise RuleBroken(
            reasons.reason(
                gettext_noop("This session is %(status)s; nobody can be allocated to it."),
                status=session.get_status_display(),
            ),
            code="session_closed",
        )
    if auto:
        result = AllocationResult(named_limit=AUTO_NAMED_SKIPS)
        room = max(session.capacity - session.allocated_count, 0)
        ids = next_due(session, room + auto_margin(room))
        # Counted before the locks are taken, so they are held no longer than before.
        due_seen = due_candidates(session).values("pk")[: len(ids) + AUTO_COUNT_BOUND].count()
    else:
        result = AllocationResult()
        wanted = list(dict.fromkeys(r.strip() for r in reference_ids or [] if r and r.strip()))
        found = dict(
            (within if within is not None else Beneficiary.objects)
            .filter(reference_id__in=wanted)
            .values_list("reference_id", "pk")
        )
        for r in wanted:
            if r not in found:
                result.skip(Skip(r, "not_found", reasons.reason(gettext_noop("No such person in your area."))))
        ids = [found[r] for r in wanted if r in found]
    # Lock order: people (by id), then the session. Dose recording locks a person and
    # then touches sessions too, so every path takes locks in this order and two of
    # them can never deadlock. The person locks make a person allocated to two
    # sessions at once queue, and the second sees the first (one active allocation).
    people = {p.pk: p for p in Beneficiary.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    locked = Session.objects.select_for_update().select_related("vaccine", "centre").get(pk=session.pk)
    room = locked.capacity - locked.allocated_count
    facts = _Facts(locked, list(people))
    chosen: list[Beneficiary] = []
    for pk in ids:
        person = people[pk]
        reason = _skip_reason(locked, person, facts)
        if reason is None and len(chosen) >= room:
            reason = ("capacity_full", reasons.reason(gettext_noop("The session is full.")))
        if reason:
            result.skip(Skip(person.reference_id, *reason))
            continue
        chosen.append(person)
    if auto and len(chosen) >= room:
        # The session is full: the due people not read did not fit either. Unnamed, and
        # counted only up to the bound (then the count is a lower bound).
        unread = max(due_seen - len(ids), 0)
        if unread:
            result.skipped_count["capacity_full"] = result.skipped_count.get("capacity_full", 0) + unread
        result.skipped_count_exact = due_seen < len(ids) + AUTO_COUNT_BOUND
    Allocation.objects.bulk_create(
        [Allocation(session=locked, beneficiary=p, dose=locked.dose, created_by=_user(user)) for p in chosen]
    )
    # The check constraint allocated_count <= capacity is the last word on overselling.
    session_seats_move(session_id=locked.pk, step=len(chosen))
    session.allocated_count = locked.allocated_count + len(chosen)
    result.allocated = [p.reference_id for p in chosen]
    return result


def allocation_cancel(*, allocation: Allocation, user=None, reason: str = "") -> Allocation:
    """Take a person off a session list (frees the place)."""
    with transaction.atomic(), audit_context(reason=reason or "allocation_cancel", action="allocation_cancel"):
        Beneficiary.objects.select_for_update().get(pk=allocation.beneficiary_id)
        row = Allocation.objects.select_for_update().get(pk=allocation.pk)
        if row.status != AllocationStatus.ACTIVE:
            return row
        row.status = AllocationStatus.CANCELLED
        row.save(update_fields=["status"])
        session_seats_move(session_id=row.session_id, step=-1)
    return row


def _user(user):
    return user if getattr(user, "pk", None) else None


# planned → open → closed; any of planned/open → cancelled. Nothing comes back from
# closed or cancelled: a new session is planned instead, so lists never resurrect.
_NEXT_STATUS = {
    SessionStatus.PLANNED: {SessionStatus.OPEN, SessionStatus.CANCELLED},
    SessionStatus.OPEN: {SessionStatus.CLOSED, SessionStatus.CANCELLED},
    SessionStatus.CLOSED: set(),
    SessionStatus.CANCELLED: set(),
}


def session_update(*, session: Session, user=None, **fields: Any) -> Session:
    """Change capacity, limits, slots, categories or status. Cancelling releases every
    allocation so that those people can be allocated elsewhere."""
    status = fields.pop("status", None)
    with transaction.atomic(), audit_context(action="session_update"):
        if status == SessionStatus.CANCELLED:
            # Lock order as in allocation_create: the people first, then the session.
            held = Allocation.objects.filter(session=session, status=AllocationStatus.ACTIVE)
            list(Beneficiary.objects.select_for_update().filter(allocations__in=held).order_by("pk"))
        locked = Session.objects.select_for_update().select_related("vaccine", "centre").get(pk=session.pk)
        if status and status != locked.status:
            if status not in _NEXT_STATUS[locked.status]:
                raise RuleBroken(
                    reasons.reason(
                        gettext_noop("A %(old)s session cannot become %(new)s."),
                        old=locked.get_status_display(),
                        new=SessionStatus(status).label,
                    ),
                    code="invalid_status_change",
                )
            locked.status = status
            if status == SessionStatus.CANCELLED:
                Allocation.objects.filter(session=locked, status=AllocationStatus.ACTIVE).update(
                    status=AllocationStatus.CANCELLED
                )
                locked.allocated_count = 0
        for key, value in fields.items():
            setattr(locked, key, value)
        if locked.capacity < locked.allocated_count:
            raise RuleBroken(
                reasons.reason(
                    gettext_noop("%(n)s people are already allocated; the capacity cannot be lower."),
                    n=locked.allocated_count,
                ),
                code="capacity_below_allocated",
                field="capacity",
            )
        if locked.max_age is not None and locked.max_age < locked.min_age:
            raise ServiceError(
                reasons.reason(gettext_noop("The maximum age cannot be below the minimum age.")), field="max_age"
            )
        locked.save()
    return locked


@transaction.atomic
def session_create_many(*, centres: list[Centre], **fields: Any) -> list[Session]:
    """Plan the same session at several centres at once: all or none, and an error
    names the centre it is about."""
    created = []
    for centre in centres:
        try:
            created.append(session_create(centre=centre, **fields))
        except ServiceError as exc:
            raise ServiceError(
                reasons.reason(gettext_noop("%(centre)s: %(error)s"), centre=centre.name, error=exc.detail),
                code=exc.code,
                centre=centre.pk,
                **exc.extra,
            ) from None
    return created


@transaction.atomic
def session_create_days(
    *, centres: list[Centre], dates: list[dt.date], slots: list[str] | None = None, **fields: Any
) -> list[Session]:
    """session_create_many for each of `dates`: every session or none, an error naming the
    centre it is about. Without `slots`, each centre's day is cut into two-hour slots over
    its hours (centres with the same hours are planned together)."""
    by_slots: dict[tuple[str, ...], list[Centre]] = {}
    for centre in centres:
        by_slots.setdefault(tuple(slots or slots_for(centre.opens, centre.closes)), []).append(centre)
    return [
        session
        for day in dates
        for day_slots, group in by_slots.items()
        for session in session_create_many(centres=group, date=day, slots=list(day_slots), **fields)
    ]
