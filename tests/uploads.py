"""Helpers for upload tests: build CSV/XLSX lists of people and send them."""

from __future__ import annotations

import csv
import io
import time

from django.core.files.uploadedfile import SimpleUploadedFile

from beneficiaries.models import Upload
from tests.factories import aadhaar_number

HEADER = ["name", "gender", "birth_year", "phone", "id_type", "id_number", "category", "employer"]
# A vaccinations file as a centre types it from its paper session list.
REF_DOSE_HEADER = ["reference_id", "dose", "vaccine", "administered_on", "centre_id", "lot_number"]


def person_rows(n: int, *, seed: int = 0, category: str = "HCW") -> list[list[str]]:
    return [
        [f"Health Worker {seed}-{i}", "F" if i % 2 else "M", str(1960 + i % 40), f"98{seed % 10}{i:07d}", "aadhaar",
         aadhaar_number(seed * 1_000_000 + i), category, "Civil Hospital"]
        for i in range(n)
    ]  # fmt: skip


def ref_dose_rows(reference_ids: list[str], centre_id: int, *, day: str = "2021-01-16") -> list[list[str]]:
    """Dose 1 of COVISHIELD for each person, named by reference id (REF_DOSE_HEADER)."""
    return [[ref, "1", "COVISHIELD", day, str(centre_id), "4121Z025"] for ref in reference_ids]


def csv_bytes(rows: list[list[str]], header: list[str] | None = None, *, bom: bool = False) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header or HEADER)
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + out.getvalue()).encode("utf-8")


def xlsx_bytes(rows: list[list], header: list[str] | None = None) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header or HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def as_file(content: bytes, name: str = "list.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


def wait_finished(upload_id: int, timeout: float = 120) -> Upload:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        upload = Upload.objects.get(pk=upload_id)
        if upload.status in ("succeeded", "failed", "rolled_back"):
            return upload
        time.sleep(0.1)
    raise AssertionError(f"upload {upload_id} did not finish: {Upload.objects.get(pk=upload_id).status}")
