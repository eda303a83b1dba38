"""Read an uploaded file as a stream of rows, whatever the file size.

CSV must be UTF-8 (with or without BOM); XLSX is read with openpyxl's streaming reader
after checks that refuse zip bombs and absurd sheet dimensions before any cell is read.
A file that cannot be read at all raises `Unreadable` with a sentence that says what
happened and what to do; nothing of it is written.
"""

from __future__ import annotations

import codecs
import csv
import zipfile
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext_noop

from covax.reasons import reason

# A real list has a dozen columns; a sheet claiming more is broken or hostile.
MAX_COLUMNS = 50
MAX_XLSX_ROWS = 2_000_000
# Expanded XLSX parts may be at most this big, and at most this many times their
# compressed size (typical sheets compress 5–20×; bombs compress 1000×).
MAX_XLSX_EXPANDED = 1024 * 1024 * 1024
MAX_XLSX_RATIO = 200
ENCODING_PROBE = 1024 * 1024


class Unreadable(Exception):
    """The whole file is refused: a person-readable reason (a covax.reasons.Reason, to
    be shown later in its reader's language), nothing is written."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def kind_of(name: str, head: bytes) -> str:
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if name.lower().endswith((".xlsx", ".xlsm")):
        raise Unreadable(reason(gettext_noop("This .xlsx file is damaged (it is not a spreadsheet archive).")))
    if name.lower().endswith(".xls"):
        raise Unreadable(
            reason(gettext_noop("Old Excel .xls files cannot be read. Save the sheet as .xlsx or as CSV UTF-8."))
        )
    return "csv"


def _check_encoding(path: Path) -> None:
    """Refuse a CSV that is not UTF-8 before reading any row, so that a decoding error
    halfway through can never leave half a file written."""
    with open(path, "rb") as fh:
        head = fh.read(4)
        if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) or b"\x00" in head:
            raise Unreadable(
                reason(
                    gettext_noop(
                        'This file is in UTF-16 ("Unicode text"). '
                        'Save it as "CSV UTF-8 (comma delimited)" and upload again.'
                    )
                )
            )
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        line = 1
        while chunk := fh.read(ENCODING_PROBE):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                line += chunk[: exc.start].count(b"\n")
                raise Unreadable(
                    reason(
                        gettext_noop(
                            "This file is not UTF-8 (near line %(line)s; it looks like Latin-1 or Windows-1252). "
                            'Save it as "CSV UTF-8 (comma delimited)" and upload again.'
                        ),
                        line=line,
                    )
                ) from None
            if b"\x00" in chunk:
                raise Unreadable(reason(gettext_noop("This file contains NUL bytes: it is not a text CSV file.")))
            line += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise Unreadable(
                reason(gettext_noop("This file ends in the middle of a character: it is cut short."))
            ) from None


def csv_rows(path: Path) -> Iterator[list[str]]:
    _check_encoding(path)
    # A field may be as large as the whole upload: an oversize cell is then reported on
    # its row instead of stopping the reader.
    csv.field_size_limit(max(settings.COVAX_UPLOAD_MAX_BYTES, 131072))
    with open(path, encoding="utf-8-sig", newline="") as fh:
        sample = fh.read(64 * 1024)
        fh.seek(0)
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample else csv.excel
        except csv.Error:
            dialect = csv.excel
        try:
            yield from csv.reader(fh, dialect)
        except csv.Error as exc:
            raise Unreadable(reason(gettext_noop("The CSV cannot be read: %(error)s."), error=str(exc))) from None


def _check_xlsx(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile:
        raise Unreadable(
            reason(gettext_noop("This .xlsx file is damaged (it is not a spreadsheet archive)."))
        ) from None
    expanded = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if expanded > MAX_XLSX_EXPANDED or expanded / packed > MAX_XLSX_RATIO:
        raise Unreadable(
            reason(
                gettext_noop("This .xlsx file expands to %(mb)s MB: it looks like a zip bomb and is refused."),
                mb=expanded // (1024 * 1024),
            )
        )


def xlsx_rows(path: Path) -> Iterator[list[str]]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    _check_xlsx(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, KeyError, OSError, ValueError, zipfile.BadZipFile) as exc:
        raise Unreadable(
            reason(gettext_noop("This .xlsx file cannot be opened: %(error)s."), error=type(exc).__name__)
        ) from None
    try:
        sheet = book.worksheets[0]
        if (sheet.max_column or 0) > MAX_COLUMNS or (sheet.max_row or 0) > MAX_XLSX_ROWS:
            raise Unreadable(
                reason(
                    gettext_noop(
                        "The sheet claims %(rows)s rows × %(cols)s columns; a list has at most %(max)s columns."
                    ),
                    rows=sheet.max_row,
                    cols=sheet.max_column,
                    max=MAX_COLUMNS,
                )
            )
        for values in sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS):
            yield [_cell(v) for v in values]
    finally:
        book.close()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # a number cell holding 234567890123 or 1980
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d")
    return str(value)


def rows(path: Path, name: str) -> Iterator[list[str]]:
    """Every row of the file (header first) as a list of strings."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    if not head:
        raise Unreadable(reason(gettext_noop("The file is empty.")))
    if kind_of(name, head) == "xlsx":
        return xlsx_rows(path)
    return csv_rows(path)


def count_rows(path: Path, name: str) -> int:
    """Data rows (without the header), counted in a first streaming pass; also proves the
    whole file readable before anything is written."""
    # map() keeps the loop in C: a million rows are counted in about a second.
    non_blank = sum(map(bool, map(str.strip, map("".join, rows(path, name)))))
    return max(non_blank - 1, 0)


def is_blank(row: list[str]) -> bool:
    return not "".join(row).strip()
