"""State changes for places, vaccines, sessions and doses.

The API, the pages, the offline sync and the upload worker all call these functions:
one code path per state change. Each checks its rules first to give a message a person
can act on; the database constraints in models.py are the guarantee.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, When
from django.utils import timezone
from django.utils.translation import gettext_noop

from beneficiaries.models import Beneficiary
from covax import reasons
from covax.audit import audit_context
from covax.errors import Conflict, RuleBroken, ServiceError
from sessions_app import dose_sql, public_cache
from sessions_app.models import (
    Allocation,
    AllocationStatus,
    Centre,
    District,
    Session,
    SessionStatus,
    State,
    Vaccination,
    Vaccine,
)

# A device clock a few minutes fast must not refuse a real dose.
CLOCK_SKEW = dt.timedelta(minutes=10)
# How often a dose is decided again when the person's record changed between the read
# and the write (a merge, a void): each change is a person's deliberate act, so a third
# one within the same milliseconds means something is wrong.
DECIDE_AGAIN = 3


def state_create(*, name: str, name_hi: str, code: str) -> State:
    return State.objects.create(name=name.strip(), name_hi=name_hi.strip(), code=code.strip().upper())


def district_create(*, state: State, name: str, name_hi: str) -> District:
    return District.objects.create(state=state, name=name.strip(), name_hi=name_hi.strip())


def centre_create(*, district: District, name: str, **fields: Any) -> Centre:
    centre = Centre(district=district, name=name.strip(), **fields)
    _check_centre(centre)
    centre.save()
    return centre


def centre_update(*, centre: Centre, **fields: Any) -> Centre:
    for key, value in fields.items():
        setattr(centre, key, value)
    _check_centre(centre)
    centre.save()
    return centre


def _check_centre(centre: Centre) -> None:
    if centre.opens and centre.closes and centre.opens >= centre.closes:
        raise ServiceError(reasons.reason(gettext_noop("The centre must open before it closes.")), field="closes")
    if centre.fee_type == "Free" and centre.fees:
        raise ServiceError(reasons.reason(gettext_noop("A free centre cannot charge fees.")), field="fees")
    if centre.fee_type == "Paid" and not centre.fees:
        raise ServiceError(
            reasons.reason(gettext_noop('A paid centre needs its fee per vaccine, e.g. {"COVISHIELD": 780}.')),
            field="fees",
        )
    unknown = set(centre.fees) - set(Vaccine.objects.filter(code__in=list(centre.fees)).values_list("code", flat=True))
    if unknown:
        raise ServiceError(
            reasons.reason(gettext_noop("Unknown vaccine in fees: %s.")) % ", ".join(sorted(unknown)), field="fees"
        )


def vaccine_create(
    *, code: str, name: str, doses: int, min_interval_days: int, max_interval_days: int | None = None
) -> Vaccine:
    if max_interval_days is not None and max_interval_days < min_interval_days:
        raise ServiceError(
            reasons.reason(gettext_noop("The maximum interval cannot be shorter than the minimum.")),
            field="max_interval_days",
        )
    return Vaccine.objects.create(
        code=code.strip().upper(),
        name=name.strip(),
        doses=doses,
        min_interval_days=min_interval_days,
        max_interval_days=max_interval_days,
    )


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
        raise ServiceError(_no_such_dose(dose, vaccine), field="dose")
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


def _already_vaccinated(existing: Vaccination) -> Conflict:
    when = timezone.localtime(existing.administered_at).strftime("%d-%m-%Y")
    return Conflict(
        reasons.reason(
            gettext_noop("Dose %(dose)s was already recorded on %(date)s at %(centre)s."),
            dose=existing.dose,
            date=when,
            centre=existing.centre.name,
        ),
        code="already_vaccinated",
        existing=vaccination_summary(existing),
    )


def vaccination_summary(vaccination: Vaccination) -> dict[str, Any]:
    return {
        "id": vaccination.pk,
        "beneficiary": vaccination.beneficiary.reference_id,
        "dose": vaccination.dose,
        "vaccine": vaccination.vaccine.code,
        "centre": vaccination.centre_id,
        "centre_name": vaccination.centre.name,
        "administered_at": vaccination.administered_at.isoformat(),
        "received_at": vaccination.received_at.isoformat() if vaccination.received_at else None,
        "source": vaccination.source,
    }


def _replay(keyed: Vaccination, beneficiary: Beneficiary, dose: int, vaccine: Vaccine, centre: Centre) -> Vaccination:
    """The record to answer a repeated idempotency key with, if it was for this dose."""
    if keyed.beneficiary_id != beneficiary.pk or keyed.dose != dose:
        raise Conflict(
            reasons.reason(gettext_noop("This client_id was already used for another dose; send a new one.")),
            code="client_id_reused",
        )
    # Answered with the objects the caller already holds; only those that differ load.
    keyed.beneficiary = beneficiary
    if keyed.vaccine_id == vaccine.pk:
        keyed.vaccine = vaccine
    if keyed.centre_id == centre.pk:
        keyed.centre = centre
    return keyed


def dose_check(*, beneficiary: Beneficiary, dose: int, vaccine: Vaccine, when: dt.datetime) -> None:
    """Raise if `dose` of `vaccine` may not be given to `beneficiary` at `when`.

    Used by recording (under the person's row lock) and by the session list's
    "why (not) on this list" explanation.
    """
    _check_dose_number(dose, vaccine)
    if dose == 1:
        return
    previous = (
        Vaccination.objects.select_related("vaccine", "centre")
        .filter(beneficiary=beneficiary, dose=dose - 1, voided_at__isnull=True)
        .first()
    )
    _check_previous(previous, dose=dose, vaccine=vaccine, when=when)


def _check_dose_number(dose: int, vaccine: Vaccine) -> None:
    if dose < 1 or dose > vaccine.doses:
        raise RuleBroken(_no_such_dose(dose, vaccine), code="invalid_dose")


def _no_such_dose(dose: int, vaccine: Vaccine) -> str:
    return reasons.reason(
        gettext_noop("%(vaccine)s has %(n)s doses; there is no dose %(dose)s."),
        vaccine=vaccine.code,
        n=vaccine.doses,
        dose=dose,
    )


def _check_previous(previous: Vaccination | None, *, dose: int, vaccine: Vaccine, when: dt.datetime) -> None:
    """Dose `dose` needs dose − 1 of the same vaccine at least the minimum interval before."""
    if previous is None:
        raise RuleBroken(
            reasons.reason(
                gettext_noop("Dose %(prev)s is not recorded, so dose %(dose)s cannot be given."),
                prev=dose - 1,
                dose=dose,
            ),
            code="previous_dose_missing",
        )
    if previous.vaccine_id != vaccine.pk:
        given = Vaccine.objects.get(pk=previous.vaccine_id).code
        raise RuleBroken(
            reasons.reason(
                gettext_noop("Dose %(prev)s was %(given)s; dose %(dose)s must be the same vaccine, not %(asked)s."),
                prev=dose - 1,
                given=given,
                dose=dose,
                asked=vaccine.code,
            ),
            code="vaccine_mismatch",
        )
    due = timezone.localtime(previous.administered_at).date() + dt.timedelta(days=vaccine.min_interval_days)
    if timezone.localtime(when).date() < due:
        raise RuleBroken(
            reasons.reason(
                gettext_noop("Dose %(dose)s is due from %(due)s (%(days)s days after dose %(prev)s)."),
                dose=dose,
                due=due.strftime("%d-%m-%Y"),
                days=vaccine.min_interval_days,
                prev=dose - 1,
            ),
            code="dose_not_due",
            due_on=due.isoformat(),
        )


def _check_session(session: Session, *, centre: Centre, vaccine: Vaccine, dose: int) -> None:
    if session.centre_id != centre.pk or session.vaccine_id != vaccine.pk or session.dose != dose:
        raise RuleBroken(
            reasons.reason(
                gettext_noop("This session is for %(vaccine)s dose %(dose)s at %(centre)s."),
                vaccine=session.vaccine.code,
                dose=session.dose,
                centre=session.centre.name,
            ),
            code="session_mismatch",
        )
    if session.status == SessionStatus.CANCELLED:
        raise RuleBroken(reasons.reason(gettext_noop("This session was cancelled.")), code="session_cancelled")


def vaccination_record(
    *,
    beneficiary: Beneficiary,
    dose: int,
    vaccine: Vaccine,
    centre: Centre,
    source: str,
    session: Session | None = None,
    lot_number: str = "",
    administered_at: dt.datetime | None = None,
    client_id: uuid.UUID | None = None,
    given_by=None,
    vaccinator_name: str = "",
    upload=None,
    device_day: dt.date | None = None,
) -> tuple[Vaccination, bool]:
    """Record a dose: every source (form, API, offline sync, upload) comes here.
    Returns (record, created); created is False for a replayed client_id.

    `device_day`: the day a dose queued on a device must have been given on (its
    session's date). A phone whose clock was reset (flat battery) would otherwise record
    a back-dated dose; a replay answers with its record whatever the clock.

    The rules decide on facts read without a lock (`dose_sql.records_read`, and whether
    `beneficiary` was merged away); the write inserts only if those facts still hold
    (`_record_insert`), else they are read and decided on again. Two
    devices marking the same person at the same moment (SPEC §3 guard 4): the unique
    constraints let one record in and the other is told why.

    Raises Conflict `already_vaccinated` (with the existing record), RuleBroken
    `previous_dose_missing` / `vaccine_mismatch` / `dose_not_due` / `session_mismatch`.
    """
    now = timezone.now()
    administered_at = administered_at or now
    for _attempt in range(DECIDE_AGAIN):
        try:
            with _dose_transaction():
                records = dose_sql.records_read(person_id=beneficiary.pk, dose=dose, client_id=client_id)
                keyed, existing, previous = _sorted_facts(records, beneficiary.pk, dose, client_id)
                if keyed:
                    return _replay(keyed, beneficiary, dose, vaccine, centre), False
                if administered_at > now + CLOCK_SKEW:
                    raise RuleBroken(
                        reasons.reason(gettext_noop("The time the dose was given is in the future.")),
                        code="administered_in_future",
                    )
                if device_day is not None:
                    _check_device_clock(administered_at, device_day)
                if beneficiary.merged_into_id:
                    raise RuleBroken(
                        reasons.reason(
                            gettext_noop("This record was merged into %(ref)s; record the dose there."),
                            ref=Beneficiary.objects.values_list("reference_id", flat=True).get(
                                pk=beneficiary.merged_into_id
                            ),
                        ),
                        code="beneficiary_merged",
                    )
                if existing:
                    existing.beneficiary = beneficiary
                    raise _already_vaccinated(existing)  # loads its vaccine and centre: the rare path
                _check_dose_number(dose, vaccine)
                if dose > 1:
                    _check_previous(previous, dose=dose, vaccine=vaccine, when=administered_at)
                if session is not None:
                    _check_session(session, centre=centre, vaccine=vaccine, dose=dose)
                record = Vaccination(
                    beneficiary=beneficiary,
                    dose=dose,
                    vaccine=vaccine,
                    centre=centre,
                    session=session,
                    lot_number=lot_number.strip(),
                    administered_at=administered_at,
                    source=source,
                    client_id=client_id,
                    given_by=given_by if getattr(given_by, "pk", None) else None,
                    vaccinator_name=vaccinator_name.strip(),
                    upload=upload,
                )
                if _record_insert(record, previous=previous):
                    return record, True
            # The facts changed between the read and the write (a merge, a void): read
            # them again, the person's own row too.
            beneficiary.refresh_from_db(fields=["merged_into"])
        except IntegrityError:
            # Another device recorded this dose (or used this key) between our read and
            # our insert: the unique constraints decided, we explain. Explaining after the
            # rollback spares every dose a savepoint (two round trips).
            records = dose_sql.records_read(person_id=beneficiary.pk, dose=dose, client_id=client_id)
            keyed, existing, _previous = _sorted_facts(records, beneficiary.pk, dose, client_id)
            if keyed:
                return _replay(keyed, beneficiary, dose, vaccine, centre), False
            if existing:
                raise _already_vaccinated(existing) from None
            raise
    raise Conflict(
        reasons.reason(gettext_noop("This person's record kept changing while the dose was recorded; send it again.")),
        code="try_again",
    )


def vaccination_record_in_session(
    *, session: Session, beneficiary: Beneficiary, source: str, **fields: Any
) -> tuple[Vaccination, bool]:
    """The session's own dose (its dose number, vaccine and centre) for `beneficiary`:
    what the staff pages and the offline sync record."""
    return vaccination_record(
        beneficiary=beneficiary,
        dose=session.dose,
        vaccine=session.vaccine,
        centre=session.centre,
        session=session,
        source=source,
        **fields,
    )


def _check_device_clock(administered_at: dt.datetime, device_day: dt.date) -> None:
    day = timezone.localtime(administered_at).date()
    if day != device_day:
        raise RuleBroken(
            reasons.reason(
                gettext_noop(
                    "The device's clock says the dose was given on %(day)s, but this session is on %(date)s."
                    " Check the date and time on this device."
                ),
                day=day.strftime("%d-%m-%Y"),
                date=device_day.strftime("%d-%m-%Y"),
            ),
            code="device_clock_wrong",
        )


def _dose_transaction() -> contextlib.AbstractContextManager:
    """None on PostgreSQL outside a transaction (the API): the write is one statement that
    checks what it was decided on, and BEGIN and COMMIT would be two more round trips.
    Elsewhere an atomic block: on SQLite it makes writers queue (IMMEDIATE), inside a
    caller's transaction (uploads, the offline sync) its savepoint keeps a refused insert
    from breaking the caller's work."""
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        return contextlib.nullcontext()
    return transaction.atomic()


def _sorted_facts(
    records: list[Vaccination], person_id: int, dose: int, client_id: uuid.UUID | None
) -> tuple[Vaccination | None, Vaccination | None, Vaccination | None]:
    """(the record of this client_id, the live record of this dose, of the dose before)."""
    keyed = same = previous = None
    for r in records:
        if client_id and r.client_id == client_id:
            keyed = r
        if r.beneficiary_id == person_id and r.voided_at is None:
            if r.dose == dose:
                same = r
            elif r.dose == dose - 1:
                previous = r
    return keyed, same, previous


def _record_insert(record: Vaccination, *, previous: Vaccination | None) -> bool:
    """The checked write: the record, if the person is still not merged away and the
    previous dose still live; the person's places for this dose in other sessions are
    released. False if nothing was written because those facts changed.

    The one place the databases differ. PostgreSQL: one statement (dose_sql.record_insert)
    outside any transaction, the person's row locked inside it. SQLite: the IMMEDIATE
    transaction of _dose_transaction() holds every other writer off, so a check and then
    the ORM's writes see and leave the same state."""
    if connection.vendor == "postgresql":
        districts = dose_sql.record_insert(record, previous_id=previous.pk if previous else None)
        if districts is None:
            return False
        # The public calendar counts doses and seats: what the post_save receiver and
        # session_seats_move do on the ORM path.
        public_cache.invalidate(record.centre.district_id, *districts)
        return True
    still = Beneficiary.objects.live().filter(pk=record.beneficiary_id).exists() and (
        previous is None or Vaccination.objects.live().filter(pk=previous.pk).exists()
    )
    if not still:
        return False
    record.save(force_insert=True)
    others = Allocation.objects.filter(
        beneficiary_id=record.beneficiary_id, dose=record.dose, status=AllocationStatus.ACTIVE
    )
    if record.session_id is not None:
        others = others.exclude(session_id=record.session_id)
    released = list(others.values_list("session_id", flat=True))
    others.update(status=AllocationStatus.CANCELLED)
    for session_id in released:
        session_seats_move(session_id=session_id, step=-1)
    return True


def vaccination_void(*, vaccination: Vaccination, reason: str, user=None) -> Vaccination:
    """Void a wrong record with a reason; it stays in the database and in the audit log."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(
            reasons.reason(gettext_noop("Give a reason for voiding this dose.")), code="reason_required", field="reason"
        )
    with transaction.atomic(), audit_context(reason=reason, action="vaccination_void"):
        record = Vaccination.objects.select_for_update().get(pk=vaccination.pk)
        if record.voided_at:
            raise Conflict(reasons.reason(gettext_noop("This dose was already voided.")), code="already_voided")
        later = Vaccination.objects.filter(
            beneficiary_id=record.beneficiary_id, dose__gt=record.dose, voided_at__isnull=True
        ).exists()
        if later:
            raise RuleBroken(
                reasons.reason(gettext_noop("A later dose is recorded; void that one first.")),
                code="later_dose_recorded",
            )
        record.voided_at = timezone.now()
        record.voided_by = user if getattr(user, "pk", None) else None
        record.void_reason = reason
        record.save(update_fields=["voided_at", "voided_by", "void_reason"])
    return record


# --- Allocation (SPEC §3 Sessions, guard 3) -------------------------------------------


@dataclass(frozen=True)
class Skip:
    reference_id: str
    reason: str  # already_vaccinated | allocated_elsewhere | already_allocated | not_due | ineligible | ...
    detail: str


@dataclass
class AllocationResult:
    allocated: list[str] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)


def _age_ok(session: Session, birth_year: int) -> bool:
    age = session.date.year - birth_year
    return age >= session.min_age and (session.max_age is None or age <= session.max_age)


def due_candidates(session: Session) -> Any:
    """People of the centre's district who are due for this session: the right category
    and age, no dose of this number, no active allocation for it, and (dose ≥ 2) the
    previous dose of the same vaccine at least the minimum interval before the date.
    Preferred centre first, then in the order they were registered."""
    from sessions_app.selectors import previous_dose_cutoff

    people = Beneficiary.objects.filter(district_id=session.centre.district_id, merged_into__isnull=True)
    if session.categories:
        people = people.filter(category__in=session.categories)
    people = people.filter(birth_year__lte=session.date.year - session.min_age)
    if session.max_age is not None:
        people = people.filter(birth_year__gte=session.date.year - session.max_age)
    people = people.exclude(vaccinations__dose=session.dose, vaccinations__voided_at__isnull=True).exclude(
        allocations__dose=session.dose, allocations__status=AllocationStatus.ACTIVE
    )
    if session.dose > 1:
        people = people.filter(
            vaccinations__dose=session.dose - 1,
            vaccinations__voided_at__isnull=True,
            vaccinations__vaccine=session.vaccine_id,
            vaccinations__administered_at__lt=previous_dose_cutoff(session),
        )
    preferred_first = Case(When(preferred_centre_id=session.centre_id, then=0), default=1)
    # No DISTINCT needed: the join on dose N−1 matches at most one live record per person.
    return people.order_by(preferred_first, "id")


class _Facts:
    """What the database says about a batch of people, read in three queries so that
    checking 5,000 people costs the same as checking five."""

    def __init__(self, session: Session, ids: list[int]):
        live = Vaccination.objects.filter(beneficiary_id__in=ids, voided_at__isnull=True)
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
            _check_previous(previous, dose=session.dose, vaccine=session.vaccine, when=when)
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
    skipped as `not_found`. Every skip carries a reason. Capacity is never oversold.
    """
    if session.status in (SessionStatus.CANCELLED, SessionStatus.CLOSED):
        raise RuleBroken(
            reasons.reason(
                gettext_noop("This session is %(status)s; nobody can be allocated to it."),
                status=session.get_status_display(),
            ),
            code="session_closed",
        )
    result = AllocationResult()
    if auto:
        due = list(due_candidates(session).values_list("pk", flat=True))
        # Only as many as might fit are locked; the rest are reported as capacity_full.
        room = max(session.capacity - session.allocated_count, 0)
        ids, overflow = due[: room + room // 10 + 10], due[room + room // 10 + 10 :]
    else:
        wanted = list(dict.fromkeys(r.strip() for r in reference_ids or [] if r and r.strip()))
        found = dict(
            (within if within is not None else Beneficiary.objects)
            .filter(reference_id__in=wanted)
            .values_list("reference_id", "pk")
        )
        result.skipped += [
            Skip(r, "not_found", reasons.reason(gettext_noop("No such person in your area.")))
            for r in wanted
            if r not in found
        ]
        ids, overflow = [found[r] for r in wanted if r in found], []
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
            if not auto or reason[0] == "capacity_full":
                result.skipped.append(Skip(person.reference_id, *reason))
            continue
        chosen.append(person)
    if overflow:
        refs = Beneficiary.objects.filter(pk__in=overflow).values_list("reference_id", flat=True)
        result.skipped += [Skip(r, "capacity_full", reasons.reason(gettext_noop("The session is full."))) for r in refs]
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


def session_seats_move(*, session_id: int, step: int) -> None:
    """Change a session's allocated count by `step`: the one place seats move (but for
    the dose's own write on PostgreSQL, dose_sql.record_insert, which invalidates the
    same way), so the public API's cache (sessions_app.public_cache) learns of every
    change — a queryset update sends no signal. The check constraint allocated_count <=
    capacity guards it."""
    from sessions_app.public_cache import invalidate_session

    Session.objects.filter(pk=session_id).update(allocated_count=F("allocated_count") + step)
    invalidate_session(session_id)


def _user(user):
    return user if getattr(user, "pk", None) else None


# --- Session changes ---------------------------------------------------------------------

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


# --- Services the pages share with the API -----------------------------------------------
# Appended in one block (sessions_app/services.py was being rewritten above); these imports
# belong at the top of the module.
from beneficiaries.services import beneficiary_create  # noqa: E402
from covax.accounts.models import User  # noqa: E402
from sessions_app.models import Source  # noqa: E402
from sessions_app.slots import slots_for  # noqa: E402


def _centre_exists() -> Conflict:
    return Conflict(
        reasons.reason(gettext_noop("Something with the same name or code exists already.")),
        code="already_exists",
        field="name",
    )


def centre_change(*, centre: Centre, **fields: Any) -> Centre:
    """centre_update as every caller uses it: a name another centre of the district has
    is Conflict `already_exists` (looked for first; a concurrent rename that the unique
    index refuses is told the same way), so callers only ever see ServiceError."""
    name = fields.get("name", centre.name)
    clash = Centre.objects.filter(district_id=centre.district_id, name=name).exclude(pk=centre.pk)
    if clash.exists():
        raise _centre_exists()
    try:
        with transaction.atomic():
            return centre_update(centre=centre, **fields)
    except IntegrityError:
        if clash.exists():
            raise _centre_exists() from None
        raise


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


def walk_in_record(
    *,
    session: Session,
    given_by: User | None,
    name: str,
    gender: str,
    birth_year: int,
    phone: str,
    id_type: str,
    id_number: str,
    category: str,
    lot_number: str = "",
) -> tuple[Beneficiary, Vaccination]:
    """Register a person who walked in to `session` (in its centre's district, that centre
    preferred) and record the session's dose for them: both or neither. Raises what
    beneficiary_create (Conflict `duplicate_identity` with the existing reference id, an
    invalid field) and vaccination_record raise; then nothing is saved."""
    centre = session.centre
    with transaction.atomic():
        person = beneficiary_create(
            name=name,
            gender=gender,
            birth_year=birth_year,
            phone=phone,
            id_type=id_type,
            id_number=id_number,
            category=category,
            district=centre.district,
            preferred_centre=centre,
        )
        record, _created = vaccination_record_in_session(
            session=session, beneficiary=person, source=Source.FORM, lot_number=lot_number, given_by=given_by
        )
    return person, record
