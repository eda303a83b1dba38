"""Celery tasks of the beneficiaries app. Tasks take ids and call services."""

from __future__ import annotations

import logging
import threading

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.core.signals import request_started
from django.db import DatabaseError, OperationalError
from django.dispatch import receiver

from beneficiaries.uploads.pipeline import uploads_held
from beneficiaries.uploads.processing import upload_process, uploads_to_resume
from covax.background import enqueue

log = logging.getLogger(__name__)
# A second, so that a heartbeat is surely stale when the task looks again.
MARGIN = 1.0


@shared_task(
    name="beneficiaries.upload_process",
    acks_late=True,  # a killed worker's task goes back to the queue
    autoretry_for=(OperationalError,),  # PostgreSQL restarting: try again shortly
    retry_backoff=5,
    retry_backoff_max=120,
    max_retries=8,
)
def upload_process_task(upload_id: int) -> None:
    upload_process(upload_id=upload_id)
    # Still held by another worker's fresh heartbeat: that worker may be alive, or this
    # is its task coming back because it died (a pool process killed and its task
    # redelivered at once). Look again when the heartbeat would be stale: then the
    # upload is finished, still held by a live worker (look again later), or free.
    for _upload_id, seconds in uploads_held(upload_id):
        _look_again(upload_id, seconds)


@worker_ready.connect
def resume_uploads(**_kwargs) -> None:
    """A worker that starts picks up uploads queued while the broker was down and those
    whose worker died (their task may still sit unacknowledged in the broker until its
    visibility timeout, an hour). A worker that died a moment ago left a heartbeat that
    is still fresh: those are looked at again once it is stale."""
    _resume(start=upload_process_task.delay, start_later=_look_again)


def _resume(*, start, start_later) -> None:
    """Start the uploads that wait for a worker; those held by a fresh heartbeat, once
    it is stale. The same for a starting worker and a restarted web process."""
    for upload_id in uploads_to_resume():
        log.info("resuming upload %s", upload_id)
        start(upload_id)
    for upload_id, seconds in uploads_held():
        log.info("upload %s is held by a heartbeat for %.0f s more; looking again then", upload_id, seconds)
        start_later(upload_id, seconds)


def _look_again(upload_id: int, seconds: float) -> None:
    try:
        upload_process_task.apply_async((upload_id,), countdown=seconds + MARGIN)
    except Exception:  # the broker is down: the next worker to start resumes it
        log.warning("broker unavailable, upload %s left to the next worker start", upload_id)


_web_resume = threading.Lock()
_web_resumed = False


@receiver(request_started, dispatch_uid="covax_resume_uploads_in_web_process")
def resume_uploads_in_web_process(**_kwargs) -> None:
    """The embedded default (no broker) runs uploads on a thread of the web process. When
    that process starts again after a crash or a restart, its first request resumes what
    the old one left queued or running, as a starting Celery worker does above; an upload
    whose heartbeat is still fresh is looked at again once it is stale."""
    global _web_resumed
    if _web_resumed or settings.COVAX_BACKGROUND != "thread":
        return
    with _web_resume:
        if _web_resumed:
            return
        try:
            _resume(start=lambda upload_id: enqueue(upload_process_task, upload_id), start_later=_enqueue_later)
        except DatabaseError:  # not migrated yet, or the database is down: try on the next request
            log.warning("could not look for uploads to resume", exc_info=True)
            return
        _web_resumed = True


def _enqueue_later(upload_id: int, seconds: float) -> None:
    later = threading.Timer(seconds + MARGIN, enqueue, (upload_process_task, upload_id))
    later.daemon = True  # a web process that stops does not wait for it
    later.start()
