"""A worker killed halfway through a large upload changes nothing (SPEC §3 Uploads,
issue 3 point 4), on real PostgreSQL, Redis and `celery -A covax worker` processes.

The same generated file of 100,000 people (1 % invalid, 1 % repeated rows) is uploaded
through the API twice: once processed without interruption, and once with the worker
killed with SIGKILL (its main process, its pool process and that one's helpers, as when
a machine or container dies) while the progress is between 20 % and 80 %. The database
then holds whole chunks only; a new worker resumes the upload (its task was acked late,
and a starting worker picks up uploads whose worker died), and the people, the counts,
the error rows and the audit rows are the same as the uninterrupted run's, and the
counts are those known from the generated file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connection
from django.test import TransactionTestCase, override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from bench.upload import Expected, write_people
from bench.worker import CeleryWorker
from beneficiaries.models import Beneficiary, DuplicateCandidate, Upload, UploadError
from beneficiaries.uploads.pipeline import chunk_sizes
from covax.celery import app
from tests.base import WorldMixin

ROOT = Path(__file__).resolve().parent.parent
ROWS = 100_000
SEED = 4
# A worker that starts treats an upload as abandoned once its heartbeat (written after
# every chunk) is this old; production waits 120 s.
STALE_SECONDS = 20
FINISHED = ("succeeded", "failed", "rolled_back")


def _database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
class WorkerKilledTestCase(WorldMixin, TransactionTestCase):
    def setUp(self):
        self.setUpTestData()
        self.tmp = Path(tempfile.mkdtemp(prefix="covax-worker-killed-"))
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        media = override_settings(MEDIA_ROOT=str(self.tmp / "media"))
        media.enable()
        self.addCleanup(media.disable)
        self.addCleanup(app.control.purge)  # the duplicate scans the workers queued
        app.control.purge()
        self.workers: list[CeleryWorker] = []
        self.addCleanup(self.stop_workers)  # runs first: no worker outlives the test
        self.path = self.tmp / "people.csv"
        self.expected = write_people(self.path, ROWS, seed=SEED)
        self.api = APIClient()
        self.api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=self.hisar_officer).key}")

    def start_worker(self, name: str) -> CeleryWorker:
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "COVAX_MEDIA_ROOT": str(self.tmp / "media"),
            "COVAX_UPLOAD_STALE_SECONDS": str(STALE_SECONDS),
        }
        worker = CeleryWorker(name, env, self.tmp / f"worker-{name}.log")
        self.workers.append(worker)
        worker.wait_ready()
        return worker

    def stop_workers(self) -> None:
        for worker in self.workers:
            if worker.proc.poll() is None:
                worker.kill()

    def logs(self) -> str:
        return "\n".join(w.tail() for w in self.workers)

    def send(self) -> int:
        with open(self.path, "rb") as fh:
            r = self.api.post(
                "/api/v1/uploads/", {"file": fh, "kind": "beneficiaries", "district": self.hisar.pk}, format="multipart"
            )
        self.assertEqual(r.status_code, 202, r.content)
        return r.json()["id"]

    def wait_finished(self, upload_id: int, timeout: float = 600) -> Upload:
        deadline = time.monotonic() + timeout
        while (upload := Upload.objects.get(pk=upload_id)).status not in FINISHED:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"upload {upload_id} still {upload.status} at {upload.progress} % after {timeout:.0f} s\n"
                    + self.logs()
                )
            time.sleep(0.2)
        self.assertEqual(upload.status, "succeeded", f"{upload.failure_reason}\n{self.logs()}")
        return upload

    def outcome(self, upload: Upload) -> dict:
        """What the upload left: counts, people (all but their random reference id),
        error rows, and insert audit rows per person."""
        people = Beneficiary.objects.filter(created_by_upload=upload).order_by("upload_row")
        events = apps.get_model("beneficiaries", "BeneficiaryEvent").objects.filter(
            pgh_label="insert", pgh_obj__created_by_upload=upload
        )
        return {
            "counts": (
                upload.rows_total, upload.rows_created, upload.rows_existing, upload.rows_duplicate_in_file,
                upload.rows_invalid,
            ),
            "people": list(people.values_list(
                "upload_row", "name", "gender", "birth_year", "phone", "id_type", "id_hash", "id_last4", "category",
                "employer", "district_id", "preferred_centre_id",
            )),
            "errors": sorted(UploadError.objects.filter(upload=upload).values_list("row", "column", "reason")),
            "audit_rows_per_person": sorted(set(events.values_list("pgh_obj_id", flat=True))) == sorted(
                people.values_list("pk", flat=True)
            ) and events.count() == people.count(),
        }  # fmt: skip

    def forget_uploads(self) -> None:
        """Back to the world before any upload, so that the same file is new again."""
        models = [Beneficiary, Upload, UploadError, DuplicateCandidate]
        tables = [m._meta.db_table for m in models]
        tables += [apps.get_model("beneficiaries", f"{m.__name__}Event")._meta.db_table for m in models[:2]]
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")

    def test_it_resumes_a_killed_worker_and_ends_as_an_uninterrupted_run(self):
        expected: Expected = self.expected
        want_counts = (ROWS, expected.created, 0, expected.duplicate, expected.invalid)

        # 1. Uninterrupted.
        worker = self.start_worker("whole")
        whole = self.outcome(self.wait_finished(self.send()))
        worker.kill()
        self.assertEqual(whole["counts"], want_counts)
        self.assertTrue(whole["audit_rows_per_person"])
        app.control.purge()
        self.forget_uploads()

        # 2. The same file, with the worker killed halfway.
        worker = self.start_worker("killed")
        upload_id = self.send()
        progress, changed_at, chunk_seconds = 0, time.monotonic(), 0.0
        deadline = time.monotonic() + 600
        while progress < 20:
            status, now_at = Upload.objects.values_list("status", "progress").get(pk=upload_id)
            if now_at != progress:
                chunk_seconds, changed_at, progress = time.monotonic() - changed_at, time.monotonic(), now_at
            self.assertNotIn(status, FINISHED, f"the upload ended before it could be killed\n{self.logs()}")
            self.assertLess(time.monotonic(), deadline, f"no progress to kill at\n{self.logs()}")
            time.sleep(0.05)
        time.sleep(min(chunk_seconds, 10) / 2)  # into the middle of the next chunk
        killed = worker.kill()
        self.assertGreaterEqual(len(killed), 2, "the worker's pool process was not found")

        upload = Upload.objects.get(pk=upload_id)
        self.assertEqual(upload.status, "running")
        self.assertTrue(20 <= upload.progress <= 80, f"killed at {upload.progress} %: not halfway")
        self.assert_whole_chunks_only(upload, expected)

        # 3. A new worker resumes it.
        self.start_worker("resumed")
        resumed = self.outcome(self.wait_finished(upload_id))
        self.assertEqual(resumed["counts"], want_counts)
        self.assertEqual(resumed["counts"], whole["counts"])
        self.assertEqual(len(resumed["people"]), expected.created)
        self.assertEqual(resumed["people"], whole["people"])
        self.assertEqual(resumed["errors"], whole["errors"])
        self.assertEqual({row for row, _c, _r in resumed["errors"]}, set(expected.invalid_rows))
        self.assertTrue(resumed["audit_rows_per_person"], "an audit row missing or written twice")

    def assert_whole_chunks_only(self, upload: Upload, expected: Expected) -> None:
        """What the killed worker committed is a whole number of chunks: every person
        and every error row of those chunks, nothing of the next one."""
        created = set(Beneficiary.objects.filter(created_by_upload=upload).values_list("upload_row", flat=True))
        errors = set(UploadError.objects.filter(upload=upload).values_list("row", flat=True))
        self.assertTrue(created, "nothing was committed before the kill")
        last = max(created | errors)
        end = 1  # rows are numbered from 2: a chunk of n rows after row `end` ends at row end + n
        for size in chunk_sizes():
            if end >= last:
                break
            end += size
        self.assertLess(end, ROWS + 1, "the whole file was committed: the kill came too late")
        skipped = set(expected.invalid_rows) | set(expected.duplicate_rows)
        self.assertEqual(created, {r for r in range(2, end + 1) if r not in skipped})
        self.assertEqual(errors, {r for r in expected.invalid_rows if r <= end})
        events = apps.get_model("beneficiaries", "BeneficiaryEvent").objects.filter(pgh_obj__created_by_upload=upload)
        self.assertEqual(events.count(), len(created))
