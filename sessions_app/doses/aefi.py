"""Adverse events following immunisation (AEFI), and undoing a dose just recorded.

Both are centre-staff actions on a dose: the page, the API and the offline sync call
these functions, never the models directly.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from covax.errors import Conflict, RuleBroken, ServiceError
from sessions_app.doses.services import CLOCK_SKEW, vaccination_void
from sessions_app.models import AdverseEvent, AefiSeverity, Vaccination

# A dose recorded by mistake (wrong person tapped) can be undone by the staff who see it
# on their list for this long; after that a correction is a district matter.
UNDO_WINDOW = dt.timedelta(minutes=15)


def adverse_event_record(
    *,
    vaccination: Vaccination,
    severity: str,
    notes: str,
    observed_at: dt.datetime | None,
    user,
    client_id: uuid.UUID | None = None,
) -> tuple[AdverseEvent, bool]:
    """Record an AEFI against a dose. Returns (event, created); a repeated client_id
    returns the first event and writes nothing."""
    if client_id and (existing := AdverseEvent.objects.filter(client_id=client_id).first()):
        if existing.vaccination_id != vaccination.pk:
            raise Conflict(
                _("This client_id was already used for another event; send a new one."), code="client_id_reused"
            )
        return existing, False
    if severity not in AefiSeverity.values:
        raise ServiceError(_("Choose the severity: minor, severe or serious."), field="severity")
    if vaccination.voided_at:
        raise RuleBroken(_("This dose was voided; an adverse event cannot be recorded against it."), code="dose_voided")
    now = timezone.now()
    observed_at = observed_at or now
    if observed_at > now + CLOCK_SKEW:
        raise ServiceError(_("The time of the observation is in the future."), field="observed_at")
    if observed_at < vaccination.administered_at - CLOCK_SKEW:
        raise ServiceError(_("The event cannot have been observed before the dose was given."), field="observed_at")
    try:
        with transaction.atomic():
            event = AdverseEvent.objects.create(
                vaccination=vaccination,
                severity=severity,
                notes=(notes or "").strip(),
                observed_at=observed_at,
                client_id=client_id,
                recorded_by=user if getattr(user, "pk", None) else None,
            )
    except IntegrityError:
        # The same client_id committed concurrently: answer with that event.
        if client_id and (existing := AdverseEvent.objects.filter(client_id=client_id).first()):
            return existing, False
        raise
    return event, True


def undo_deadline(vaccination: Vaccination) -> dt.datetime:
    """Until when the dose may be undone from the session list."""
    return vaccination.received_at + UNDO_WINDOW


def vaccination_undo(*, vaccination: Vaccination, reason: str, user) -> Vaccination:
    """Void a dose recorded moments ago (the wrong person was marked), with a reason.

    Only within UNDO_WINDOW of recording it; the void itself is vaccination_void's
    (audited, the record stays)."""
    if timezone.now() > undo_deadline(vaccination):
        minutes = int(UNDO_WINDOW.total_seconds() // 60)
        raise RuleBroken(
            _("A dose can be undone only within %(minutes)s minutes of recording it; ask the district officer.")
            % {"minutes": minutes},
            code="undo_window_passed",
        )
    return vaccination_void(vaccination=vaccination, reason=reason, user=user)
