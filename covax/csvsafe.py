"""CSV for spreadsheets, safe against formula injection.

A cell that starts with = + - @ (or a tab / carriage return, which some spreadsheets
skip before reading a formula) is run as a formula when the file is opened in Excel or
LibreOffice. Such text cells get a leading apostrophe, which spreadsheets show as text.
Numbers are written as numbers (a negative number is not a formula).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from numbers import Number

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str | Number:
    if value is None:
        return ""
    if isinstance(value, Number) and not isinstance(value, bool):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_text(header: list[str], rows: Iterable[Iterable]) -> str:
    """UTF-8 CSV with a BOM so that Excel reads Devanagari names correctly."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()
