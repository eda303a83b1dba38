"""Places, vaccines, sessions, allocations and doses (SPEC §3).

Every invariant a database constraint can hold is a constraint here; services check
the same rules first only to give a person a useful message.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


def audited():
    """Record every insert, update and delete (fresh trackers per model: pghistory
    binds each tracker to the model it decorates)."""
    return pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())


@audited()
class State(models.Model):
    name = models.CharField(max_length=100, unique=True)
    name_hi = models.CharField(max_length=100)
    code = models.CharField(max_length=4, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


@audited()
class District(models.Model):
    state = models.ForeignKey(State, on_delete=models.PROTECT, related_name="districts")
    name = models.CharField(max_length=100)
    name_hi = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["state", "name"], name="district_unique_name_in_state")]

    def __str__(self) -> str:
        return self.name


class FeeType(models.TextChoices):
    FREE = "Free", _("Free")
    PAID = "Paid", _("Paid")


@audited()
class Centre(models.Model):
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="centres")
    name = models.CharField(max_length=200)
    name_hi = models.CharField(max_length=200, blank=True)
    address = models.CharField(max_length=300, blank=True)
    address_hi = models.CharField(max_length=300, blank=True)
    block = models.CharField(max_length=100, blank=True)
    block_hi = models.CharField(max_length=100, blank=True)
    pincode = models.CharField(max_length=6)
    lat = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    long = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    fee_type = models.CharField(max_length=4, choices=FeeType.choices, default=FeeType.FREE)
    # {"COVISHIELD": 780}: rupees per vaccine code, only for paid centres.
    fees = models.JSONField(default=dict, blank=True)
    opens = models.TimeField(default=dt.time(9))
    closes = models.TimeField(default=dt.time(17))

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(name="centre_pincode_6_digits", condition=Q(pincode__regex=r"^[1-9][0-9]{5}$")),
            models.CheckConstraint(name="centre_opens_before_closes", condition=Q(opens__lt=F("closes"))),
            models.CheckConstraint(
                name="centre_lat_long_in_range",
                condition=(Q(lat__isnull=True) | Q(lat__gte=-90, lat__lte=90))
                & (Q(long__isnull=True) | Q(long__gte=-180, long__lte=180)),
            ),
            models.UniqueConstraint(fields=["district", "name"], name="centre_unique_name_in_district"),
        ]
        indexes = [models.Index(fields=["pincode"], name="centre_pincode_idx")]

    def __str__(self) -> str:
        return self.name


@audited()
class Vaccine(models.Model):
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    doses = models.PositiveSmallIntegerField(default=2)
    min_interval_days = models.PositiveSmallIntegerField(default=28)
    max_interval_days = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(name="vaccine_code_upper", condition=Q(code__regex=r"^[A-Z0-9_\-]+$")),
            models.CheckConstraint(name="vaccine_doses_positive", condition=Q(doses__gte=1)),
            models.CheckConstraint(
                name="vaccine_interval_order",
                condition=Q(max_interval_days__isnull=True) | Q(max_interval_days__gte=F("min_interval_days")),
            ),
        ]

    def __str__(self) -> str:
        return self.code


class SessionStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


@audited()
class Session(models.Model):
    # The public id clients of CoWIN's API know a session by (a UUID there).
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="sessions")
    date = models.DateField()
    vaccine = models.ForeignKey(Vaccine, on_delete=models.PROTECT, related_name="sessions")
    dose = models.PositiveSmallIntegerField(default=1)
    capacity = models.PositiveIntegerField()
    # Kept in step with active allocations by the allocation service, inside the same
    # transaction; the check constraint below is what makes overselling impossible.
    allocated_count = models.PositiveIntegerField(default=0)
    min_age = models.PositiveSmallIntegerField(default=18)
    max_age = models.PositiveSmallIntegerField(null=True, blank=True)
    slots = models.JSONField(default=list, blank=True)  # ["09:00AM-11:00AM", …]
    categories = models.JSONField(default=list, blank=True)  # empty = every category
    status = models.CharField(max_length=10, choices=SessionStatus.choices, default=SessionStatus.PLANNED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["date", "centre_id", "id"]
        constraints = [
            models.CheckConstraint(name="session_dose_positive", condition=Q(dose__gte=1)),
            models.CheckConstraint(name="session_never_oversold", condition=Q(allocated_count__lte=F("capacity"))),
            models.CheckConstraint(
                name="session_age_order", condition=Q(max_age__isnull=True) | Q(max_age__gte=F("min_age"))
            ),
        ]
        # The public calendar looks sessions up by centre and date range.
        indexes = [models.Index(fields=["centre", "date"], name="session_centre_date_idx")]

    def __str__(self) -> str:
        return f"{self.centre} {self.date} {self.vaccine} dose {self.dose}"


class AllocationStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    CANCELLED = "cancelled", _("Cancelled")


@audited()
class Allocation(models.Model):
    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="allocations")
    beneficiary = models.ForeignKey("beneficiaries.Beneficiary", on_delete=models.PROTECT, related_name="allocations")
    # Copied from the session so that "one active allocation per person per dose" can be
    # a unique index (an index cannot look through a foreign key).
    dose = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=10, choices=AllocationStatus.choices, default=AllocationStatus.ACTIVE)
    booked = models.BooleanField(default=False)  # booked by the person vs allocated by the district
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["beneficiary", "dose"],
                condition=Q(status="active"),
                name="allocation_one_active_per_dose",
            ),
        ]
        indexes = [models.Index(fields=["session", "status"], name="allocation_session_status_idx")]

    def __str__(self) -> str:
        return f"{self.beneficiary_id} in session {self.session_id} ({self.status})"


class Source(models.TextChoices):
    FORM = "form", _("Form")
    API = "api", _("API")
    OFFLINE = "offline", _("Offline sync")
    UPLOAD = "upload", _("Upload")


class VaccinationQuerySet(models.QuerySet):
    def live(self) -> VaccinationQuerySet:
        """Doses that count: not voided. (A merge moves a person's doses to the one
        kept, so a live dose never belongs to a merged-away record.)"""
        return self.filter(voided_at__isnull=True)


@audited()
class Vaccination(models.Model):
    beneficiary = models.ForeignKey("beneficiaries.Beneficiary", on_delete=models.PROTECT, related_name="vaccinations")
    dose = models.PositiveSmallIntegerField()
    vaccine = models.ForeignKey(Vaccine, on_delete=models.PROTECT)
    lot_number = models.CharField(max_length=50, blank=True)
    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="vaccinations", db_index=False)
    session = models.ForeignKey(Session, null=True, blank=True, on_delete=models.PROTECT, related_name="vaccinations")
    given_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    vaccinator_name = models.CharField(max_length=200, blank=True)
    # When the dose was given (device or paper time) and, separately, when the server
    # learnt of it: late entry stays visible to auditors and is never back-dated.
    administered_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    client_id = models.UUIDField(null=True, blank=True, unique=True)
    upload = models.ForeignKey("beneficiaries.Upload", null=True, blank=True, on_delete=models.PROTECT)
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    void_reason = models.TextField(blank=True)

    objects = VaccinationQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["beneficiary", "dose"], condition=Q(voided_at__isnull=True), name="vaccination_one_per_dose"
            ),
            models.CheckConstraint(name="vaccination_dose_positive", condition=Q(dose__gte=1)),
            models.CheckConstraint(
                name="vaccination_void_has_reason", condition=Q(voided_at__isnull=True) | ~Q(void_reason="")
            ),
        ]
        indexes = [
            # Also serves lookups by centre alone (its leading column), so the centre
            # foreign key has no index of its own: every dose marked updates one less.
            models.Index(fields=["centre", "administered_at"], name="vaccination_centre_time_idx"),
        ]

    def __str__(self) -> str:
        return f"dose {self.dose} of {self.beneficiary_id} ({self.vaccine_id})"

    @property
    def voided(self) -> bool:
        return self.voided_at is not None


class AefiSeverity(models.TextChoices):
    MINOR = "minor", _("Minor")
    SEVERE = "severe", _("Severe")
    SERIOUS = "serious", _("Serious")


@audited()
class AdverseEvent(models.Model):
    """An adverse event following immunisation (AEFI), recorded by centre staff."""

    vaccination = models.ForeignKey(Vaccination, on_delete=models.PROTECT, related_name="adverse_events")
    severity = models.CharField(max_length=10, choices=AefiSeverity.choices)
    notes = models.TextField(blank=True)
    observed_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    client_id = models.UUIDField(null=True, blank=True, unique=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    def __str__(self) -> str:
        return f"{self.severity} AEFI after vaccination {self.vaccination_id}"
