"""State changes for places, vaccines, sessions and doses.

The API, the pages, the offline sync and the upload worker all call these functions:
one code path per state change. Each checks its rules first to give a message a person
can act on; the database constraints in models.py are the guarantee.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from beneficiaries.models import Beneficiary
from covax.audit import audit_context
from covax.errors import Conflict, RuleBroken, ServiceError
from sessions_app.models import (
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
        raise ServiceError(_("The centre must open before it closes."), field="closes")
    if centre.fee_type == "Free" and centre.fees:
        raise ServiceError(_("A free centre cannot charge fees."), field="fees")
    if centre.fee_type == "Paid" and not centre.fees:
        raise ServiceError(_('A paid centre needs its fee per vaccine, e.g. {"COVISHIELD": 780}.'), field="fees")
    unknown = set(centre.fees) - set(Vaccine.objects.filter(code__in=list(centre.fees)).values_list("code", flat=True))
    if unknown:
        raise ServiceError(_("Unknown vaccine in fees: %s.") % ", ".join(sorted(unknown)), field="fees")


def vaccine_create(
    *, code: str, name: str, doses: int, min_interval_days: int, max_interval_days: int | None = None
) -> Vaccine:
    if max_interval_days is not None and max_interval_days < min_interval_days:
        raise ServiceError(_("The maximum interval cannot be shorter than the minimum."), field="max_interval_days")
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
        raise ServiceError(
            _("%(vaccine)s has %(n)s doses; there is no dose %(dose)s.")
            % {"vaccine": vaccine.code, "n": vaccine.doses, "dose": dose},
            field="dose",
        )
    if max_age is not None and max_age < min_age:
        raise ServiceError(_("The maximum age cannot be below the minimum age."), field="max_age")
    if date < timezone.localdate():
        raise ServiceError(_("A session cannot be planned in the past."), field="date")
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
        _("Dose %(dose)s was already recorded on %(date)s at %(centre)s.")
        % {"dose": existing.dose, "date": when, "centre": existing.centre.name},
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


def _replay(client_id: uuid.UUID, beneficiary: Beneficiary, dose: int) -> Vaccination | None:
    """The record an earlier request with this idempotency key wrote, if any."""
    existing = (
        Vaccination.objects.select_related("beneficiary", "vaccine", "centre").filter(client_id=client_id).first()
    )
    if existing is None:
        return None
    if existing.beneficiary_id != beneficiary.pk or existing.dose != dose:
        raise Conflict(_("This client_id was already used for another dose; send a new one."), code="client_id_reused")
    return existing


def dose_check(*, beneficiary: Beneficiary, dose: int, vaccine: Vaccine, when: dt.datetime) -> None:
    """Raise if `dose` of `vaccine` may not be given to `beneficiary` at `when`.

    Used by recording (under the person's row lock) and by the session list's
    "why (not) on this list" explanation.
    """
    if dose < 1 or dose > vaccine.doses:
        raise RuleBroken(
            _("%(vaccine)s has %(n)s doses; there is no dose %(dose)s.")
            % {"vaccine": vaccine.code, "n": vaccine.doses, "dose": dose},
            code="invalid_dose",
        )
    if dose == 1:
        return
    previous = (
        Vaccination.objects.select_related("vaccine", "centre")
        .filter(beneficiary=beneficiary, dose=dose - 1, voided_at__isnull=True)
        .first()
    )
    if previous is None:
        raise RuleBroken(
            _("Dose %(prev)s is not recorded, so dose %(dose)s cannot be given.") % {"prev": dose - 1, "dose": dose},
            code="previous_dose_missing",
        )
    if previous.vaccine_id != vaccine.pk:
        raise RuleBroken(
            _("Dose %(prev)s was %(given)s; dose %(dose)s must be the same vaccine, not %(asked)s.")
            % {"prev": dose - 1, "given": previous.vaccine.code, "dose": dose, "asked": vaccine.code},
            code="vaccine_mismatch",
        )
    due = timezone.localtime(previous.administered_at).date() + dt.timedelta(days=vaccine.min_interval_days)
    if timezone.localtime(when).date() < due:
        raise RuleBroken(
            _("Dose %(dose)s is due from %(due)s (%(days)s days after dose %(prev)s).")
            % {"dose": dose, "due": due.strftime("%d-%m-%Y"), "days": vaccine.min_interval_days, "prev": dose - 1},
            code="dose_not_due",
            due_on=due.isoformat(),
        )


def _check_session(session: Session, *, centre: Centre, vaccine: Vaccine, dose: int) -> None:
    if session.centre_id != centre.pk or session.vaccine_id != vaccine.pk or session.dose != dose:
        raise RuleBroken(
            _("This session is for %(vaccine)s dose %(dose)s at %(centre)s.")
            % {"vaccine": session.vaccine.code, "dose": session.dose, "centre": session.centre.name},
            code="session_mismatch",
        )
    if session.status == SessionStatus.CANCELLED:
        raise RuleBroken(_("This session was cancelled."), code="session_cancelled")


@transaction.atomic
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
) -> tuple[Vaccination, bool]:
    """Record a dose. Returns (record, created); created is False for a replayed client_id.

    Raises Conflict `already_vaccinated` (with the existing record), RuleBroken
    `previous_dose_missing` / `vaccine_mismatch` / `dose_not_due` / `session_mismatch`.
    """
    now = timezone.now()
    administered_at = administered_at or now
    if client_id and (replay := _replay(client_id, beneficiary, dose)):
        return replay, False
    if administered_at > now + CLOCK_SKEW:
        raise RuleBroken(_("The time the dose was given is in the future."), code="administered_in_future")
    # Lock the person's row: two devices marking the same person at the same moment
    # queue here, and the second one sees the first one's dose (SPEC §3 guard 4).
    person = Beneficiary.objects.select_for_update().get(pk=beneficiary.pk)
    if person.merged_into_id:
        raise RuleBroken(
            _("This record was merged into %(ref)s; record the dose there.") % {"ref": person.merged_into.reference_id},
            code="beneficiary_merged",
        )
    if client_id and (replay := _replay(client_id, person, dose)):
        return replay, False  # the same key committed while we waited for the lock
    existing = (
        Vaccination.objects.select_related("beneficiary", "vaccine", "centre")
        .filter(beneficiary=person, dose=dose, voided_at__isnull=True)
        .first()
    )
    if existing:
        raise _already_vaccinated(existing)
    dose_check(beneficiary=person, dose=dose, vaccine=vaccine, when=administered_at)
    if session is not None:
        _check_session(session, centre=centre, vaccine=vaccine, dose=dose)
    try:
        with transaction.atomic():
            record = Vaccination.objects.create(
                beneficiary=person,
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
    except IntegrityError:
        # Only reachable when the row lock was bypassed (SQLite, or a writer that does
        # not use this service): the unique constraints decide, we explain.
        if client_id and (replay := _replay(client_id, person, dose)):
            return replay, False
        existing = Vaccination.objects.filter(beneficiary=person, dose=dose, voided_at__isnull=True).first()
        if existing:
            raise _already_vaccinated(existing) from None
        raise
    record.beneficiary = person
    return record, True


def vaccination_void(*, vaccination: Vaccination, reason: str, user=None) -> Vaccination:
    """Void a wrong record with a reason; it stays in the database and in the audit log."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Give a reason for voiding this dose."), code="reason_required", field="reason")
    with transaction.atomic(), audit_context(reason=reason, action="vaccination_void"):
        record = Vaccination.objects.select_for_update().get(pk=vaccination.pk)
        if record.voided_at:
            raise Conflict(_("This dose was already voided."), code="already_voided")
        later = Vaccination.objects.filter(
            beneficiary_id=record.beneficiary_id, dose__gt=record.dose, voided_at__isnull=True
        ).exists()
        if later:
            raise RuleBroken(_("A later dose is recorded; void that one first."), code="later_dose_recorded")
        record.voided_at = timezone.now()
        record.voided_by = user if getattr(user, "pk", None) else None
        record.void_reason = reason
        record.save(update_fields=["voided_at", "voided_by", "void_reason"])
    return record
