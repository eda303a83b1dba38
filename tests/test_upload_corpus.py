"""A corpus of bad files, each answered with the error a person needs and nothing good
lost (SPEC §6 reliability, issue 3 point 7). Files are built here, byte by byte."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.test import override_settings

from beneficiaries.models import Beneficiary, Upload, UploadError
from tests.base import ApiTestCase
from tests.uploads import HEADER, REF_DOSE_HEADER, as_file, csv_bytes, person_rows, ref_dose_rows, xlsx_bytes

GOOD = person_rows(5, seed=42)
HINDI_HEADER = ["नाम", "लिंग", "जन्म वर्ष", "मोबाइल", "पहचान पत्र", "पहचान संख्या", "श्रेणी", "नियोक्ता"]


def _csv(text: str) -> bytes:
    return text.encode("utf-8")


def _good_csv() -> str:
    return csv_bytes(GOOD).decode()


def _zip_bomb() -> bytes:
    """A sheet part of 300 MB of one repeated byte, about 300 KB packed. Written in
    pieces, so building it never holds 300 MB in memory."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write(b"<")
            piece = b"a" * (1024 * 1024)
            for _ in range(300):
                part.write(piece)
            part.write(b"/>")
    return out.getvalue()


def _absurd_dimensions() -> bytes:
    good = xlsx_bytes([GOOD[0]])
    source, out = zipfile.ZipFile(io.BytesIO(good)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b'<dimension ref="A1:H2" />', b'<dimension ref="A1:XFD1048576" />')
            archive.writestr(info, data)
    return out.getvalue()


# (name, content, expected status, what the reason says, rows created)
FILE_LEVEL = [
    ("latin1.csv", _good_csv().replace("Health", "Swästhya").encode("latin-1"), "failed", "not UTF-8", 0),
    ("utf16.csv", _good_csv().encode("utf-16"), "failed", "UTF-16", 0),
    ("missing_columns.csv", _csv("name,gender,birth_year\nSunita,F,1980\n"), "failed", "Missing column(s): phone", 0),
    ("header_only.csv", _csv(",".join(HEADER) + "\r\n"), "failed", "no rows", 0),
    ("blank_lines_only.csv", _csv("\r\n\r\n  \r\n"), "failed", "empty", 0),
    (
        "wrong_kind.csv",
        csv_bytes(
            [["aadhaar", GOOD[0][5], "1", "COVISHIELD", "2021-01-16", "1", "L1"]],
            ["id_type", "id_number", "dose", "vaccine", "administered_on", "centre_id", "lot_number"],
        ),
        "failed",
        "for a vaccinations upload",
        0,
    ),
    (
        "repeated_column.csv",
        _csv(",".join(HEADER + ["name"]) + "\r\n" + ",".join(GOOD[0] + ["x"]) + "\r\n"),
        "failed",
        "appears twice",
        0,
    ),
    ("zip_bomb.xlsx", _zip_bomb(), "failed", "zip bomb", 0),
    ("absurd.xlsx", _absurd_dimensions(), "failed", "columns", 0),
    ("not_really.xlsx", b"PK\x03\x04 this is no spreadsheet", "failed", "damaged", 0),
    ("nul_bytes.csv", _good_csv().replace("Health", "He\x00alth").encode(), "failed", "NUL", 0),
]

# (name, content, rows created, [(row, column, what the reason says)])
ROW_LEVEL = [
    ("mangled_aadhaar.csv", csv_bytes(GOOD[:1] + [GOOD[1][:5] + ["2.34568E+11"] + GOOD[1][6:]]), 1,
     [(3, "id_number", "spreadsheet")]),
    ("trailing_dot_zero.csv", csv_bytes([GOOD[0][:5] + [GOOD[0][5] + ".0"] + GOOD[0][6:]] + GOOD[1:2]), 1,
     [(2, "id_number", "spreadsheet")]),
    ("formula.csv", csv_bytes([['=HYPERLINK("http://x.example","pay")'] + GOOD[0][1:]] + GOOD[1:2]), 1,
     [(2, "name", "formula")]),
    ("huge_cell.csv", csv_bytes([GOOD[0][:7] + ["x" * 1024 * 1024]] + GOOD[1:2]), 1, [(2, "employer", "characters")]),
    ("bad_phone.csv", csv_bytes([GOOD[0][:3] + ["12345"] + GOOD[0][4:]] + GOOD[1:2]), 1, [(2, "phone", "not valid")]),
    ("bad_verhoeff.csv", csv_bytes([GOOD[0][:5] + [GOOD[0][5][:-1] + str((int(GOOD[0][5][-1]) + 1) % 10)]
     + GOOD[0][6:]] + GOOD[1:2]), 1, [(2, "id_number", "check digit")]),
    ("bad_category.csv", csv_bytes([GOOD[0][:6] + ["VIP"] + GOOD[0][7:]] + GOOD[1:2]), 1,
     [(2, "category", "Category")]),
    ("bad_birth_year.csv", csv_bytes([GOOD[0][:2] + ["19"] + GOOD[0][3:]] + GOOD[1:2]), 1, [(2, "birth_year", "year")]),
    ("unknown_centre.csv", csv_bytes([GOOD[0] + ["999999"]] + [GOOD[1] + [""]], HEADER + ["centre_id"]), 1,
     [(2, "centre_id", "No centre")]),
    ("duplicate_rows.csv", csv_bytes(GOOD[:3] + GOOD[:2]), 3, []),
    ("mixed_line_endings.csv", _csv(",".join(HEADER) + "\n" + ",".join(GOOD[0]) + "\r\n" + ",".join(GOOD[1]) + "\r"
     + ",".join(GOOD[2]) + "\n"), 3, []),
    ("extra_columns.csv", csv_bytes([g + ["12", "ward 4"] for g in GOOD[:2]], HEADER + ["S.No.", "ward"]), 2,
     [(1, "S.No.", "ignored"), (1, "ward", "ignored")]),
    ("short_row.csv", _csv(",".join(HEADER) + "\r\n" + ",".join(GOOD[0][:4]) + "\r\n" + ",".join(GOOD[1]) + "\r\n"), 1,
     [(2, "category", "Category"), (2, "id_type", "")]),
    ("hindi_headers.csv", csv_bytes([["सुनीता शर्मा"] + GOOD[0][1:]] + GOOD[1:2], HINDI_HEADER), 2, []),
    ("upper_case_headers_and_bom.csv", csv_bytes(GOOD[:2], [h.upper() for h in HEADER], bom=True), 2, []),
    ("semicolons.csv", _csv(";".join(HEADER) + "\r\n" + "\r\n".join(";".join(g) for g in GOOD[:2]) + "\r\n"), 2, []),
]  # fmt: skip


@override_settings(COVAX_BACKGROUND="eager")
class CorpusTestCase(ApiTestCase):
    def send(self, name: str, content: bytes, kind: str = "beneficiaries") -> Upload:
        with self.captureOnCommitCallbacks(execute=True):
            r = self.client_for(self.hisar_officer).post(
                "/api/v1/uploads/",
                {"file": as_file(content, name), "kind": kind, "district": self.hisar.pk},
                format="multipart",
            )
        self.assertIn(r.status_code, (202, 400, 413), r.content)
        return Upload.objects.get(pk=r.json()["id"])

    def test_the_corpus_has_at_least_twenty_files(self):
        at_intake = 3  # the .xls, the file over the size limit and the empty file below
        self.assertGreaterEqual(len(FILE_LEVEL) + len(ROW_LEVEL) + at_intake, 20)

    def test_it_refuses_an_empty_file_at_once(self):
        r = self.client_for(self.hisar_officer).post(
            "/api/v1/uploads/",
            {"file": as_file(b"", "empty.csv"), "kind": "beneficiaries", "district": self.hisar.pk},
            format="multipart",
        )
        self.assertEqual(r.status_code, 400)
        self.assertIn("file", r.json()["errors"])
        self.assertEqual(Upload.objects.count(), 0)

    def test_it_answers_a_list_of_people_sent_as_doses_with_the_right_kind(self):
        upload = self.send("people_as_doses.csv", csv_bytes(GOOD), kind="vaccinations")
        self.assertEqual(upload.status, "failed")
        self.assertIn("for a beneficiaries upload, not vaccinations", upload.failure_reason)

    def test_it_counts_duplicate_rows_once_and_says_how_many(self):
        upload = self.send("duplicate_rows_counted.csv", csv_bytes(GOOD[:3] + GOOD[:2] + GOOD[:1]))
        counts = (upload.rows_total, upload.rows_created, upload.rows_duplicate_in_file, upload.rows_invalid)
        self.assertEqual(counts, (6, 3, 3, 0))
        self.assertEqual(Beneficiary.objects.count(), 3)

    def test_it_answers_a_reference_id_a_spreadsheet_mangled(self):
        self.send("people.csv", csv_bytes(GOOD[:2]))
        refs = list(Beneficiary.objects.order_by("upload_row").values_list("reference_id", flat=True))
        mangled = f"{int(refs[1]) / 10**13:.5f}E+13"  # what a spreadsheet shows for 14 digits in "General"
        rows = ref_dose_rows([refs[0], mangled], self.centre_a.pk)
        upload = self.send("doses.csv", csv_bytes(rows, REF_DOSE_HEADER), "vaccinations")
        self.assertEqual((upload.status, upload.rows_created, upload.rows_invalid), ("succeeded", 1, 1))
        [(row, column, reason)] = UploadError.objects.filter(upload=upload).values_list("row", "column", "reason")
        self.assertEqual((row, column), (3, "reference_id"))
        self.assertIn("spreadsheet changed", reason)
        self.assertIn("reference_id column as text", reason)

    def test_it_refuses_an_old_excel_file_at_once(self):
        r = self.client_for(self.hisar_officer).post(
            "/api/v1/uploads/",
            {"file": as_file(b"\xd0\xcf\x11\xe0" + b"\x00" * 100, "old.xls"), "kind": "beneficiaries",
             "district": self.hisar.pk},
            format="multipart",
        )  # fmt: skip
        self.assertEqual((r.status_code, r.json()["code"]), (400, "unsupported_file"))
        self.assertIn(".xlsx", r.json()["detail"])

    def test_it_refuses_a_file_over_the_size_limit_at_once(self):
        with override_settings(COVAX_UPLOAD_MAX_BYTES=10_000):
            r = self.client_for(self.hisar_officer).post(
                "/api/v1/uploads/",
                {"file": as_file(csv_bytes(person_rows(200))), "kind": "beneficiaries", "district": self.hisar.pk},
                format="multipart",
            )
        self.assertEqual((r.status_code, r.json()["code"]), (413, "file_too_large"))
        self.assertIn("Split it", r.json()["detail"])


def _file_level_case(name, content, status, reason, created):
    def test(self):
        upload = self.send(name, content)
        self.assertEqual(upload.status, status, upload.failure_reason)
        self.assertIn(reason, upload.failure_reason)
        self.assertEqual(Beneficiary.objects.count(), created)

    return test


def _row_level_case(name, content, created, errors):
    def test(self):
        upload = self.send(name, content)
        self.assertEqual(upload.status, "succeeded", upload.failure_reason)
        self.assertEqual(upload.rows_created, created)
        found = list(UploadError.objects.filter(upload=upload).values_list("row", "column", "reason"))
        self.assertEqual([(r, c) for r, c, _ in found], [(r, c) for r, c, _ in errors])
        for (_r, _c, reason), (_er, _ec, expected) in zip(found, errors, strict=True):
            self.assertIn(expected.lower(), reason.lower())
        for _r, _c, reason in found:  # the report never repeats an ID number
            self.assertFalse(any(g[5] in reason for g in GOOD))

    return test


for _name, *_case in FILE_LEVEL:
    setattr(CorpusTestCase, f"test_it_answers_{_name.replace('.', '_')}", _file_level_case(_name, *_case))
for _name, *_case in ROW_LEVEL:
    setattr(CorpusTestCase, f"test_it_answers_{_name.replace('.', '_')}", _row_level_case(_name, *_case))

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
