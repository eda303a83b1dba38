"""Background scan for probable duplicates (on a Celery worker, or a thread without one).

The scan is idempotent (a pair is flagged once), so a task redelivered after a worker
was killed simply runs again with the same result.
"""

from __future__ import annotations

from celery import shared_task

from beneficiaries.duplicates import duplicates_detect
from covax.background import enqueue


@shared_task(name="beneficiaries.duplicates_scan")
def duplicates_scan_task(district_id: int, beneficiary_ids: list[int] | None = None) -> int:
    return duplicates_detect(district_id=district_id, beneficiary_ids=beneficiary_ids)


def duplicates_scan_enqueue(*, district_id: int, beneficiary_ids: list[int] | None = None) -> None:
    """Queue a scan of a district (or of some of its people, e.g. after an upload)."""
    if beneficiary_ids is None:
        enqueue(duplicates_scan_task, district_id)
    else:
        enqueue(duplicates_scan_task, district_id, list(beneficiary_ids))
