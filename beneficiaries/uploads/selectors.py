"""Reads about uploads."""

from __future__ import annotations

from beneficiaries.models import Upload, UploadError
from covax import reasons
from covax.csvsafe import csv_text


def error_report_csv(upload: Upload) -> str:
    """The downloadable error report: row, column, reason in the reader's language
    (never the ID number itself)."""
    errors = UploadError.objects.filter(upload=upload).values_list("row", "column", "reason", "message")
    rows = (
        (row, column, reasons.shown(reason, message))
        for row, column, reason, message in errors.order_by("row", "id").iterator()
    )
    return csv_text(["row", "column", "reason"], rows)
