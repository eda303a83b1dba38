"""People, their identity, uploads and probable duplicates (SPEC §3).

The full ID number is never stored: a person is known by (id_type, id_hash), a keyed
HMAC of the normalised number (see beneficiaries.identity), and shown by its last 4.
"""

from __future__ import annotations

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from beneficiaries.identity import ID_TYPE_CHOICES
from covax import reasons


def audited(level=None, attrs=None):
    """Record every insert, update and delete (fresh trackers per model: pghistory
    binds each tracker to the model it decorates). `level=pgtrigger.Statement`: one
    trigger call per statement that writes the audit rows of all the rows it changed
    (from its transition table), instead of one call per row. `attrs`: fields of the
    audit model declared here instead of copied from the model."""
    return pghistory.track(
        pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(), level=level, attrs=attrs
    )


def _audit_reference(to: str, *, null: bool) -> models.ForeignKey:
    """A reference as the audit model copies it (no constraint, no reverse relation),
    without an index: the audit is read by person (pgh_obj) and by context, never
    searched by district, centre, merge or upload, and an index nobody reads costs
    every audited insert."""
    return models.ForeignKey(
        to, db_constraint=False, db_index=False, null=null, blank=null, on_delete=models.DO_NOTHING,
        related_name="+", related_query_name="+",
    )  # fmt: skip


class Gender(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")
    OTHER = "O", _("Other")


class Category(models.TextChoices):
    HCW = "HCW", _("Health care worker")
    FLW = "FLW", _("Front-line worker")
    AGE_60 = "60+", _("60 and above")
    AGE_45 = "45+", _("45 and above")
    AGE_18 = "18+", _("18 and above")


# Statement level: an upload inserts people 10,000 at a time, and a row-level audit
# trigger, even told to stand aside, costs a PL/pgSQL call (with a subtransaction)
# per row; a statement-level one writes the same audit rows once per statement.
class BeneficiaryQuerySet(models.QuerySet):
    def live(self) -> BeneficiaryQuerySet:
        """People who count: not merged into someone else."""
        return self.filter(merged_into__isnull=True)


@audited(
    level=pgtrigger.Statement,
    attrs={
        "district": _audit_reference("sessions_app.District", null=False),
        "preferred_centre": _audit_reference("sessions_app.Centre", null=True),
        "merged_into": _audit_reference("beneficiaries.Beneficiary", null=True),
        "created_by_upload": _audit_reference("beneficiaries.Upload", null=True),
    },
)
class Beneficiary(models.Model):
    reference_id = models.CharField(max_length=14, unique=True)
    name = models.CharField(max_length=200)
    gender = models.CharField(max_length=1, choices=Gender.choices)
    birth_year = models.PositiveSmallIntegerField()
    phone = models.CharField(max_length=16)  # E.164
    id_type = models.CharField(max_length=20, choices=ID_TYPE_CHOICES)
    id_hash = models.CharField(max_length=64)
    id_last4 = models.CharField(max_length=4)
    category = models.CharField(max_length=4, choices=Category.choices)
    employer = models.CharField(max_length=200, blank=True)
    district = models.ForeignKey("sessions_app.District", on_delete=models.PROTECT, related_name="beneficiaries")
    preferred_centre = models.ForeignKey(
        "sessions_app.Centre", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Set when a probable duplicate is merged into another person; the row stays so that
    # the merge can be undone and the identity key stays taken.
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged")
    # The upload that created this person: what a rollback may remove.
    created_by_upload = models.ForeignKey(
        "Upload", null=True, blank=True, on_delete=models.SET_NULL, related_name="created_beneficiaries"
    )
    # The file row that created this person. With created_by_upload it tells, on any
    # re-run of an upload, "created by this very row" from "a later duplicate of it".
    upload_row = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = BeneficiaryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "beneficiaries"
        constraints = [
            # The guarantee behind SPEC §3: one beneficiary per identity key.
            models.UniqueConstraint(fields=["id_type", "id_hash"], name="beneficiary_one_per_identity"),
            models.CheckConstraint(
                name="beneficiary_reference_14_digits", condition=Q(reference_id__regex=r"^[0-9]{14}$")
            ),
            models.CheckConstraint(name="beneficiary_gender", condition=Q(gender__in=["M", "F", "O"])),
            models.CheckConstraint(
                name="beneficiary_birth_year", condition=Q(birth_year__gte=1900, birth_year__lte=2100)
            ),
            models.CheckConstraint(name="beneficiary_phone_e164", condition=Q(phone__regex=r"^\+[1-9][0-9]{6,14}$")),
            models.CheckConstraint(name="beneficiary_category", condition=Q(category__in=Category.values)),
        ]
        indexes = [
            # Duplicate detection blocks on phone and on birth year within a district.
            models.Index(fields=["phone"], name="beneficiary_phone_idx"),
            models.Index(fields=["district", "birth_year"], name="beneficiary_district_year_idx"),
            # Automatic allocation (sessions_app.planning.services.next_due) reads the people
            # due in a district in registration (id) order and stops when the session's
            # places are filled: (district, id) hands them over in that order, so the
            # database reads about as many entries as there are places instead of reading
            # and sorting the district. Category, birth year and preferred centre follow as
            # keys so that the session's filters are read from the index too (an index-only
            # scan: no visit to the table for each person passed over); after the unique id
            # they never change the order, and as leading keys they would break it (several
            # categories, a range of years). Keys rather than INCLUDE, which SQLite lacks.
            # Only live people (merged_into IS NULL), the query's own condition: merged
            # records are never allocated.
            models.Index(
                fields=["district", "id", "category", "birth_year", "preferred_centre"],
                condition=Q(merged_into__isnull=True),
                name="beneficiary_live_district_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.reference_id})"


class UploadKind(models.TextChoices):
    BENEFICIARIES = "beneficiaries", _("Beneficiaries")
    VACCINATIONS = "vaccinations", _("Vaccinations")


class UploadStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    ROLLED_BACK = "rolled_back", _("Rolled back")


@audited()
class Upload(models.Model):
    kind = models.CharField(max_length=16, choices=UploadKind.choices)
    district = models.ForeignKey("sessions_app.District", on_delete=models.PROTECT, related_name="uploads")
    file = models.FileField(upload_to="uploads/%Y/%m/")
    original_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=12, choices=UploadStatus.choices, default=UploadStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    rows_total = models.PositiveIntegerField(default=0)
    rows_created = models.PositiveIntegerField(default=0)
    rows_existing = models.PositiveIntegerField(default=0)
    rows_duplicate_in_file = models.PositiveIntegerField(default=0)
    rows_invalid = models.PositiveIntegerField(default=0)
    failure_reason = models.TextField(blank=True)  # in the worker's language; shown by failure_text
    failure_message = models.JSONField(default=dict, blank=True)  # covax.reasons.stored(failure_reason)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Touched after every chunk: a `running` upload whose heartbeat is old lost its
    # worker, and a newly started worker picks it up again.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    rollback_report = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The same bytes for the same district and kind are one upload (guard 1).
            models.UniqueConstraint(fields=["district", "kind", "sha256"], name="upload_same_file_once"),
            models.CheckConstraint(name="upload_progress_percent", condition=Q(progress__lte=100)),
        ]

    def __str__(self) -> str:
        return f"{self.kind} upload {self.pk} ({self.original_name})"

    @property
    def failure_text(self) -> str:
        """Why the file could not be processed, in the reader's language."""
        return reasons.shown(self.failure_reason, self.failure_message)


class UploadError(models.Model):
    """One invalid cell of an upload: the downloadable error report."""

    upload = models.ForeignKey(Upload, on_delete=models.CASCADE, related_name="errors")
    row = models.PositiveIntegerField()
    column = models.CharField(max_length=64, blank=True)
    reason = models.TextField()  # in the worker's language (English); shown by `text`
    message = models.JSONField(default=dict, blank=True)  # covax.reasons.stored(reason)

    class Meta:
        ordering = ["row", "id"]
        indexes = [models.Index(fields=["upload", "row"], name="uploaderror_upload_row_idx")]

    def __str__(self) -> str:
        return f"row {self.row} {self.column}: {self.reason}"

    @property
    def text(self) -> str:
        """The reason in the reader's language."""
        return reasons.shown(self.reason, self.message)


class CandidateStatus(models.TextChoices):
    OPEN = "open", _("Waiting for review")
    MERGED = "merged", _("Merged")
    DISTINCT = "distinct", _("Marked distinct")


@audited()
class DuplicateCandidate(models.Model):
    """A pair of people who are probably one person under two IDs (guard 2)."""

    district = models.ForeignKey("sessions_app.District", on_delete=models.PROTECT, related_name="+")
    first = models.ForeignKey(Beneficiary, on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey(Beneficiary, on_delete=models.CASCADE, related_name="+")
    score = models.PositiveSmallIntegerField()  # 0–100
    reasons = models.JSONField(default=list)  # ["similar_name", "same_birth_year", "same_phone"]
    status = models.CharField(max_length=10, choices=CandidateStatus.choices, default=CandidateStatus.OPEN)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    # What a merge moved, so that it can be undone exactly: {"vaccinations": [...], ...}
    merge_record = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-score", "id"]
        constraints = [
            # Each unordered pair once: first always has the smaller id.
            models.CheckConstraint(name="candidate_ordered_pair", condition=Q(first__lt=models.F("second"))),
            models.UniqueConstraint(fields=["first", "second"], name="candidate_pair_once"),
        ]

    def __str__(self) -> str:
        return f"{self.first_id} ~ {self.second_id} ({self.score})"
