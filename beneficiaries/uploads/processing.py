"""What a worker does with an upload: claim it, run the pipeline, record the outcome; and
which uploads wait for a worker. Called by the tasks (beneficiaries/tasks.py), which the
services queue: services -> tasks -> processing, never back.
"""

from __future__ import annotations

import logging
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from beneficiaries.models import Upload, UploadKind, UploadStatus
from beneficiaries.uploads import pipeline
from beneficiaries.uploads.readers import Unreadable
from covax import reasons

log = logging.getLogger(__name__)


def _claim(upload_id: int) -> Upload | None:
    """Mark the upload running, unless it is finished or another worker is alive on it."""
    with transaction.atomic():
        upload = Upload.objects.select_for_update().filter(pk=upload_id).first()
        if upload is None or upload.status in (UploadStatus.SUCCEEDED, UploadStatus.FAILED, UploadStatus.ROLLED_BACK):
            return None
        now = timezone.now()
        alive = upload.heartbeat_at and now - upload.heartbeat_at < pipeline.heartbeat_stale_after()
        if upload.status == UploadStatus.RUNNING and alive:
            return None
        upload.status, upload.heartbeat_at = UploadStatus.RUNNING, now
        upload.started_at = upload.started_at or now
        upload.save(update_fields=["status", "heartbeat_at", "started_at"])
        return upload


def _progress(upload: Upload):
    def on_chunk(counts: pipeline.Counts, total: int) -> None:
        Upload.objects.filter(pk=upload.pk).update(
            rows_total=total,
            rows_created=counts.created,
            rows_existing=counts.existing,
            rows_duplicate_in_file=counts.duplicate,
            rows_invalid=counts.invalid,
            progress=min(99, counts.done * 100 // max(total, 1)),
            heartbeat_at=timezone.now(),
        )

    return on_chunk


def upload_process(*, upload_id: int) -> None:
    """Run (or re-run, after a lost worker) an upload to the end. Safe to call twice."""
    upload = _claim(upload_id)
    if upload is None:
        return
    try:
        counts = pipeline.process(upload, on_chunk=_progress(upload))
    except Unreadable as exc:
        _finish(upload, UploadStatus.FAILED, reason=str(exc))
        return
    except SoftTimeLimitExceeded:
        _finish(
            upload,
            UploadStatus.FAILED,
            reason=reasons.reason(gettext_noop("The upload took too long; split the file into parts.")),
        )
        return
    _finish(upload, UploadStatus.SUCCEEDED, counts=counts)
    if upload.kind == UploadKind.BENEFICIARIES and counts.created:
        from beneficiaries.tasks_duplicates import duplicates_scan_enqueue

        duplicates_scan_enqueue(district_id=upload.district_id)


def _finish(upload: Upload, status: str, *, reason: str = "", counts: pipeline.Counts | None = None) -> None:
    fields: dict[str, Any] = {"status": status, "finished_at": timezone.now()}
    fields.update(failure_reason=reason, failure_message=reasons.stored(reason))
    if counts is not None:
        fields.update(
            progress=100,
            rows_created=counts.created,
            rows_existing=counts.existing,
            rows_duplicate_in_file=counts.duplicate,
            rows_invalid=counts.invalid,
        )
    Upload.objects.filter(pk=upload.pk).update(**fields)


def uploads_to_resume() -> list[int]:
    """Uploads that wait for a worker: queued while the broker was down, or running on a
    worker that died (its heartbeat stopped)."""
    stale = timezone.now() - pipeline.heartbeat_stale_after()
    waiting = Q(status=UploadStatus.QUEUED) | Q(status=UploadStatus.RUNNING, heartbeat_at__lt=stale)
    return list(Upload.objects.filter(waiting).values_list("pk", flat=True))
