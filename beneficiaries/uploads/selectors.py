"""Reads about uploads."""

from __future__ import annotations

from beneficiaries.models import Upload, UploadError
from covax.csvsafe import csv_text


def error_report_csv(upload: Upload) -> str:
    """The downloadable error report: row, column, reason (never the ID number itself)."""
    errors = UploadError.objects.filter(upload=upload).values_list("row", "column", "reason").order_by("row", "id")
    return csv_text(["row", "column", "reason"], errors.iterator())
