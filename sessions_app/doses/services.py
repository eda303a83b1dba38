"""Recording a dose: the rules of SPEC §3 Doses, for every source (form, API, offline sync,
upload), and voiding a wrong record. Each rule is checked first for a message a person
can act on; the database constraints in sessions_app/models.py are the guarantee.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from beneficiaries.models import Beneficiary
from beneficiaries.services import beneficiary_create  # noqa: E402
from covax import reasons
from covax.accounts.models import User  # noqa: E402
from covax.audit import audit_context
from covax.errors import Conflict, RuleBroken, ServiceError
from sessions_app.doses import sql as dose_sql
from sessions_app.models import (
    Allocation,
    AllocationStatus,
    Centre,
    Session,
    SessionStatus,
    Source,  # noqa: E402
    Vaccination,
    Vaccine,
)
from sessions_app.public import cache as public_cache
from sessions_app.seats import session_seats_move

# A device clock a few minutes fast must not refuse a real dose.
CLOCK_SKEW = dt.timedelta(minutes=10)


# How often a dose is decided again when the person's record changed between the read
# and the write (a merge, a void): each change is a person's deliberate act, so a third
# one within the same milliseconds means something is wrong.
DECIDE_AGAIN = 3


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
        Vaccination.objects.live()
        .select_related("vaccine", "centre")
        .filter(beneficiary=beneficiary, dose=dose - 1)
        .first()
    )
    previous_dose_check(previous, dose=dose, vaccine=vaccine, when=when)


def _check_dose_number(dose: int, vaccine: Vaccine) -> None:
    if dose < 1 or dose > vaccine.doses:
        raise RuleBroken(no_such_dose(dose, vaccine), code="invalid_dose")


def no_such_dose(dose: int, vaccine: Vaccine) -> str:
    return reasons.reason(
        gettext_noop("%(vaccine)s has %(n)s doses; there is no dose %(dose)s."),
        vaccine=vaccine.code,
        n=vaccine.doses,
        dose=dose,
    )


def previous_dose_check(previous: Vaccination | None, *, dose: int, vaccine: Vaccine, when: dt.datetime) -> None:
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
                    previous_dose_check(previous, dose=dose, vaccine=vaccine, when=administered_at)
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
        later = Vaccination.objects.live().filter(beneficiary_id=record.beneficiary_id, dose__gt=record.dose).exists()
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


def walk_in_record(
    *, session: Session, given_by: User | None, lot_number: str = "", **person: Any
) -> tuple[Beneficiary, Vaccination]:
    """Register a person who walked in to `session` (`person`: beneficiary_create's fields
    but the place; in the centre's district, that centre preferred) and record the
    session's dose for them: both or neither. Raises what beneficiary_create (Conflict
    `duplicate_identity` with the existing reference id, an invalid field) and
    vaccination_record raise; then nothing is saved."""
    centre = session.centre
    with transaction.atomic():
        registered = beneficiary_create(district=centre.district, preferred_centre=centre, **person)
        record, _created = vaccination_record_in_session(
            session=session, beneficiary=registered, source=Source.FORM, lot_number=lot_number, given_by=given_by
        )
    return registered, record
