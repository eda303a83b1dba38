"""State changes of uploads: intake, processing, rollback (SPEC §3 Uploads, guard 1, 5).

The API view, the page and the Celery task call these; nothing else writes uploads.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from beneficiaries.models import Beneficiary, Upload, UploadKind, UploadStatus
from beneficiaries.tasks import upload_process_task
from covax import reasons
from covax.audit import audit_context
from covax.background import enqueue
from covax.errors import Conflict, ServiceError
from sessions_app.models import Allocation, District, Vaccination

log = logging.getLogger(__name__)
ALLOWED_SUFFIXES = (".csv", ".txt", ".xlsx")


@dataclass(frozen=True)
class Intake:
    upload: Upload
    duplicate_of: Upload | None  # the same bytes were uploaded before (guard 1)


def _sha256(file: UploadedFile) -> str:
    digest = hashlib.sha256()
    for chunk in file.chunks():
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()


def _check_file(file: UploadedFile) -> None:
    from django.conf import settings

    name = (file.name or "").lower()
    if name.endswith(".xls"):
        message = _("Old Excel .xls files cannot be read. Save the sheet as .xlsx or as CSV UTF-8 and upload again.")
        raise ServiceError(message, field="file", code="unsupported_file")
    if not name.endswith(ALLOWED_SUFFIXES):
        raise ServiceError(_("Upload a .csv or .xlsx file."), field="file", code="unsupported_file")
    if file.size == 0:
        raise ServiceError(_("The file is empty."), field="file", code="empty_file")
    if file.size > settings.COVAX_UPLOAD_MAX_BYTES:
        raise ServiceError(
            _("The file is %(mb)s MB; at most %(max)s MB can be uploaded. Split it into parts.")
            % {"mb": file.size // 2**20, "max": settings.COVAX_UPLOAD_MAX_BYTES // 2**20},
            field="file",
            code="file_too_large",
            status=413,
        )


def upload_create(*, district: District, kind: str, file: UploadedFile, user=None) -> Intake:
    """Store the file and queue its processing once the row is committed. The same bytes
    for the same district and kind again create nothing and point at the first upload."""
    if kind not in UploadKind.values:
        raise ServiceError(_("kind must be beneficiaries or vaccinations."), field="kind")
    _check_file(file)
    sha = _sha256(file)
    earlier = Upload.objects.filter(district=district, kind=kind, sha256=sha).first()
    if earlier is not None and earlier.status != UploadStatus.ROLLED_BACK:
        return Intake(earlier, earlier)
    with transaction.atomic():
        if earlier is not None:  # rolled back by mistake: the same file may come back
            upload = earlier
            Upload.objects.filter(pk=upload.pk).update(status=UploadStatus.QUEUED, progress=0, rollback_report={})
        else:
            try:
                with transaction.atomic():
                    upload = Upload.objects.create(
                        kind=kind,
                        district=district,
                        file=file,
                        original_name=(file.name or "upload")[:255],
                        size=file.size,
                        sha256=sha,
                        created_by=user if getattr(user, "pk", None) else None,
                    )
            except IntegrityError:  # the same file, sent twice at the same moment
                first = Upload.objects.get(district=district, kind=kind, sha256=sha)
                return Intake(first, first)
        enqueue(upload_process_task, upload.pk)
    upload.refresh_from_db()
    return Intake(upload, None)


def upload_rollback(*, upload: Upload, user=None) -> dict[str, Any]:
    """Undo an upload made by mistake (guard 5). People it created with no dose and no
    allocation are removed; doses it recorded are voided; everything kept is reported."""
    with transaction.atomic(), audit_context(action="upload_rollback", upload=upload.pk):
        locked = Upload.objects.select_for_update().get(pk=upload.pk)
        if locked.status == UploadStatus.ROLLED_BACK:
            raise Conflict(_("This upload was already rolled back."), code="already_rolled_back")
        if locked.status in (UploadStatus.QUEUED, UploadStatus.RUNNING):
            raise Conflict(_("This upload is still running; roll it back when it has finished."), code="running")
        if locked.kind == UploadKind.BENEFICIARIES:
            report = _remove_people(locked)
        else:
            report = _void_doses(locked, user)
        locked.status, locked.rollback_report = UploadStatus.ROLLED_BACK, report
        locked.save(update_fields=["status", "rollback_report"])
    return report


def _remove_people(upload: Upload) -> dict[str, Any]:
    people = Beneficiary.objects.filter(created_by_upload=upload)
    has_dose = Exists(Vaccination.objects.filter(beneficiary=OuterRef("pk")))
    has_allocation = Exists(Allocation.objects.filter(beneficiary=OuterRef("pk")))
    merged = Q(merged_into__isnull=False) | Exists(Beneficiary.objects.filter(merged_into=OuterRef("pk")))
    kept = {
        "has_dose": list(people.filter(has_dose).values_list("reference_id", flat=True)),
        "has_allocation": list(people.filter(has_allocation).exclude(has_dose).values_list("reference_id", flat=True)),
        "merged": list(
            people.filter(merged).exclude(has_dose).exclude(has_allocation).values_list("reference_id", flat=True)
        ),
    }
    removable = people.exclude(has_dose).exclude(has_allocation).exclude(merged)
    removed = removable.count()
    removable.delete()
    return {
        "removed": removed,
        "kept": {reason: {"count": len(refs), "reference_ids": refs[:200]} for reason, refs in kept.items()},
        "explanation": _(ROLLBACK_EXPLANATION),
    }


ROLLBACK_EXPLANATION = gettext_noop(
    "People with a dose or an allocation, or involved in a merge, are kept: remove their doses or "
    "allocations first if they really were uploaded by mistake."
)


def _void_doses(upload: Upload, user) -> dict[str, Any]:
    from sessions_app.doses.services import vaccination_void

    voided, kept = 0, []
    records = Vaccination.objects.live().filter(upload=upload).order_by("-dose")
    for record in records:
        try:
            vaccination_void(vaccination=record, reason=_("Upload %(id)s rolled back.") % {"id": upload.pk}, user=user)
            voided += 1
        except ServiceError as exc:
            kept.append({"vaccination": record.pk, "reason": str(exc.detail), "message": reasons.stored(exc.detail)})
    return {"voided": voided, "kept": {"count": len(kept), "records": kept[:200]}}
