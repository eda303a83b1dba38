"""Celery tasks of the beneficiaries app. Tasks take ids and call services."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.db import OperationalError

from beneficiaries.uploads.services import upload_process, uploads_to_resume

log = logging.getLogger(__name__)


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


@worker_ready.connect
def resume_uploads(**_kwargs) -> None:
    """A worker that starts picks up uploads queued while the broker was down and those
    whose worker died (their task may still sit unacknowledged in the broker)."""
    for upload_id in uploads_to_resume():
        log.info("resuming upload %s", upload_id)
        upload_process_task.delay(upload_id)
