"""Bulk uploads (SPEC §3 Uploads, guard 1 and 5): intake, counts, idempotency,
re-verified copies, back-filled doses, error report, rollback, scope."""

from __future__ import annotations

import csv
import io
import threading

import pytest
from django.db import connection
from django.test import TransactionTestCase, override_settings
from django.test.utils import CaptureQueriesContext

from beneficiaries.identity import identify
from beneficiaries.models import Beneficiary, Upload, UploadError
from beneficiaries.uploads import pipeline
from beneficiaries.uploads.processing import upload_process
from beneficiaries.uploads.rows import parse_dose, read_header
from beneficiaries.uploads.services import upload_create
from sessions_app.models import Allocation, Vaccination
from sessions_app.planning.services import allocation_create
from tests.base import ApiTestCase, WorldMixin
from tests.factories import BeneficiaryFactory
from tests.guard import session_at
from tests.uploads import HEADER, REF_DOSE_HEADER, as_file, csv_bytes, person_rows, ref_dose_rows, xlsx_bytes


class Uploading:
    """Send a file as the Hisar officer and read its counts."""

    def setUp(self):
        self.api = self.client_for(self.hisar_officer)

    def send(self, content: bytes, *, name="list.csv", kind="beneficiaries", district=None, client=None):
        with self.captureOnCommitCallbacks(execute=True):
            r = (client or self.api).post(
                "/api/v1/uploads/",
                {"file": as_file(content, name), "kind": kind, "district": (district or self.hisar).pk},
                format="multipart",
            )
        return r

    def result(self, r) -> dict:
        return self.api.get(f"/api/v1/uploads/{r.json()['id']}/").json()

    def counts(self, r) -> tuple:
        body = self.result(r)
        keys = ("status", "rows_total", "rows_created", "rows_existing", "rows_duplicate_in_file", "rows_invalid")
        return tuple(body[k] for k in keys)

    def errors(self, r) -> list[tuple[int, str, str]]:
        errors = UploadError.objects.filter(upload=r.json()["id"]).order_by("row")
        return list(errors.values_list("row", "column", "reason"))


@override_settings(COVAX_BACKGROUND="eager")
class UploadTestCase(Uploading, ApiTestCase):
    def test_it_answers_202_and_counts_every_row(self):
        rows = person_rows(30)
        rows[3][5] = "2.34568E+11"  # mangled by a spreadsheet
        rows[7] = list(rows[2])  # duplicate within the file
        r = self.send(csv_bytes(rows))
        self.assertEqual(r.status_code, 202, r.content)
        self.assertEqual(self.counts(r), ("succeeded", 30, 28, 0, 1, 1))
        self.assertEqual(self.result(r)["progress"], 100)
        self.assertEqual(Beneficiary.objects.filter(district=self.hisar).count(), 28)

    def test_the_same_bytes_again_create_nothing_and_point_at_the_first(self):
        content = csv_bytes(person_rows(10))
        first = self.send(content)
        again = self.send(content)
        self.assertEqual(again.status_code, 200)
        self.assertEqual(again.json()["duplicate_of"], first.json()["id"])
        self.assertEqual(Upload.objects.count(), 1)
        self.assertEqual(Beneficiary.objects.count(), 10)

    def test_a_re_verified_copy_links_every_row_to_the_existing_person(self):
        rows = person_rows(40)
        self.send(csv_bytes(rows))
        copy = []
        for name, gender, year, phone, _type, number, category, employer in reversed(rows):
            spaced = f"{number[:4]} {number[4:8]}-{number[8:]}"
            copy.append([f"  {name.upper()} ", gender.lower(), year, f"+91 {phone[:5]} {phone[5:]}", "AADHAAR", spaced,
                         category.lower(), employer])  # fmt: skip
        r = self.send(csv_bytes(copy, [h.upper() for h in HEADER], bom=True))
        self.assertEqual(self.counts(r), ("succeeded", 40, 0, 40, 0, 0))
        self.assertEqual(Beneficiary.objects.count(), 40)

    def test_hindi_headers_and_xlsx_are_accepted(self):
        hindi = ["नाम", "लिंग", "जन्म वर्ष", "मोबाइल", "पहचान पत्र", "पहचान संख्या", "श्रेणी", "नियोक्ता"]
        rows = [[n, g, int(y), int(p), t, int(i), c, e] for n, g, y, p, t, i, c, e in person_rows(5, seed=3)]
        rows[0][0] = "सुनीता शर्मा"
        r = self.send(xlsx_bytes(rows, hindi), name="सूची.xlsx")
        self.assertEqual(self.counts(r), ("succeeded", 5, 5, 0, 0, 0))
        self.assertTrue(Beneficiary.objects.filter(name="सुनीता शर्मा").exists())

    def test_the_error_report_names_row_column_and_reason_and_is_formula_safe(self):
        rows = person_rows(4)
        rows[1][0] = '=HYPERLINK("http://evil.example","click")'
        rows[2][3] = "12345"
        r = self.send(csv_bytes(rows))
        report = self.api.get(self.result(r)["errors_url"])
        self.assertEqual(report.status_code, 200)
        lines = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
        self.assertEqual(lines[0], ["row", "column", "reason"])
        self.assertEqual([(row[0], row[1]) for row in lines[1:]], [("3", "name"), ("4", "phone")])
        self.assertIn("formula", lines[1][2])
        self.assertNotIn(rows[2][5], report.content.decode())  # never an ID number
        self.assertEqual(self.counts(r)[2], 2)

    def test_an_unreadable_file_fails_with_a_reason_and_writes_nothing(self):
        content = csv_bytes(person_rows(5)).decode().replace("Health", "Hëalth").encode("latin-1")
        r = self.send(content)
        body = self.result(r)
        self.assertEqual(body["status"], "failed")
        self.assertIn("not UTF-8", body["failure_reason"])
        self.assertEqual(Beneficiary.objects.count(), 0)

    def test_vaccinations_back_fill_doses_with_the_rules(self):
        rows = person_rows(4)
        self.send(csv_bytes(rows))
        header = ["id_type", "id_number", "dose", "vaccine", "administered_on", "centre_id", "lot_number", "vaccinator"]
        c = self.centre_a.pk
        doses = [
            ["aadhaar", rows[0][5], "1", "COVISHIELD", "16-01-2021", str(c), "4121Z025", "ANM Kamla"],
            ["aadhaar", rows[1][5], "1", "covishield", "2021-01-16", str(c), "4121Z025", ""],
            ["aadhaar", rows[2][5], "2", "COVISHIELD", "2021-01-16", str(c), "4121Z025", ""],  # no dose 1
            ["aadhaar", rows[0][5], "1", "COVISHIELD", "16-01-2021", str(c), "4121Z025", ""],  # same row twice
            ["aadhaar", "234123412346", "1", "COVISHIELD", "16-01-2021", str(c), "", ""],  # not registered
            ["aadhaar", rows[3][5], "1", "COVISHIELD", "16-01-2021", str(self.centre_b.pk), "", ""],  # other district
        ]
        r = self.send(csv_bytes(doses, header), kind="vaccinations")
        self.assertEqual(self.counts(r), ("succeeded", 6, 2, 0, 1, 3))
        record = Vaccination.objects.get(beneficiary__id_last4=rows[0][5][-4:])
        self.assertEqual((record.source, record.vaccinator_name), ("upload", "ANM Kamla"))
        self.assertEqual(record.administered_at.date().isoformat(), "2021-01-16")
        self.assertGreater(record.received_at, record.administered_at)
        # The same facts uploaded again (another file) are existing; a conflicting date is refused.
        doses2 = [doses[0][:7] + ["x"], ["aadhaar", rows[1][5], "1", "COVISHIELD", "2021-01-20", str(c), "L2", ""]]
        r2 = self.send(csv_bytes(doses2, header), kind="vaccinations")
        self.assertEqual(self.counts(r2), ("succeeded", 2, 0, 1, 0, 1))
        errors = self.api.get(self.result(r2)["errors_url"]).content.decode()
        self.assertIn("already recorded on 16-01-2021", errors)

    def test_rollback_removes_only_people_without_doses_or_allocations(self):
        rows = person_rows(6)
        r = self.send(csv_bytes(rows))
        people = list(Beneficiary.objects.order_by("upload_row"))
        allocation_create(session=session_at(self.centre_a, self.covishield), reference_ids=[people[0].reference_id])
        from tests.guard import give

        give(people[1], dose=1, vaccine=self.covishield, centre=self.centre_a)
        out = self.api.post(f"/api/v1/uploads/{r.json()['id']}/rollback/")
        self.assertEqual(out.status_code, 200, out.content)
        self.assertEqual(out.json()["removed"], 4)
        self.assertEqual(out.json()["kept"]["has_dose"]["reference_ids"], [people[1].reference_id])
        self.assertEqual(out.json()["kept"]["has_allocation"]["reference_ids"], [people[0].reference_id])
        self.assertEqual(Beneficiary.objects.count(), 2)
        self.assertEqual(self.result(r)["status"], "rolled_back")
        self.assertEqual(self.api.post(f"/api/v1/uploads/{r.json()['id']}/rollback/").status_code, 409)
        self.assertEqual(Allocation.objects.count(), 1)

    def test_the_same_file_can_come_back_after_a_rollback(self):
        content = csv_bytes(person_rows(3))
        first = self.send(content)
        self.api.post(f"/api/v1/uploads/{first.json()['id']}/rollback/")
        again = self.send(content)
        self.assertEqual(again.status_code, 202)
        self.assertEqual(self.counts(again), ("succeeded", 3, 3, 0, 0, 0))

    def test_scope_and_permissions(self):
        r = self.send(csv_bytes(person_rows(2)))
        self.assertEqual(self.client_for(self.kkr_officer).get(f"/api/v1/uploads/{r.json()['id']}/").status_code, 404)
        other = self.send(csv_bytes(person_rows(2, seed=5)), district=self.kurukshetra)
        self.assertEqual(other.status_code, 400)
        self.assertIn("district", other.json()["errors"])
        staff = self.client_for(self.staff_a)
        self.assertEqual(staff.post(f"/api/v1/uploads/{r.json()['id']}/rollback/").status_code, 403)

    def test_it_refuses_what_cannot_be_a_list_at_intake(self):
        empty = self.send(b"", name="empty.csv").json()
        self.assertEqual((empty["code"], list(empty["errors"])), ("invalid", ["file"]))
        self.assertEqual(self.send(b"MZ\x90\x00", name="virus.exe").json()["code"], "unsupported_file")
        with override_settings(COVAX_UPLOAD_MAX_BYTES=1000):
            r = self.send(csv_bytes(person_rows(50)))
        self.assertEqual((r.status_code, r.json()["code"]), (413, "file_too_large"))
        self.assertEqual(Upload.objects.count(), 0)

    def test_a_redelivered_task_changes_nothing(self):
        r = self.send(csv_bytes(person_rows(20) + person_rows(3)))
        before = self.counts(r)
        Upload.objects.filter(pk=r.json()["id"]).update(status="running", heartbeat_at=None)
        upload_process(upload_id=r.json()["id"])
        self.assertEqual(self.counts(r), before)
        self.assertEqual(Beneficiary.objects.count(), 20)

    def test_the_list_costs_constant_queries(self):
        for seed in range(3):
            self.send(csv_bytes(person_rows(2, seed=seed)))
        self.api.get("/api/v1/uploads/")
        with self.assertNumQueries(3):  # token, count, page
            r = self.api.get("/api/v1/uploads/")
        self.assertEqual(r.json()["count"], 3)


DOSE_HEADER = ["id_type", "id_number", "dose", "vaccine", "administered_on", "centre_id", "lot_number"]
BOTH_HEADER = ["reference_id", *DOSE_HEADER]
DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")


@override_settings(COVAX_BACKGROUND="eager")
class ReferenceIdDosesTestCase(Uploading, ApiTestCase):
    """A centre's paper session list shows each person's reference id, not their ID
    number: the vaccinations upload names people by either (SPEC §3 Uploads)."""

    def setUp(self):
        super().setUp()
        self.rows = person_rows(6)
        self.send(csv_bytes(self.rows))
        self.refs = list(Beneficiary.objects.order_by("upload_row").values_list("reference_id", flat=True))
        self.c = str(self.centre_a.pk)

    def doses(self, rows: list[list[str]], header: list[str] = REF_DOSE_HEADER):
        return self.send(csv_bytes(rows, header), kind="vaccinations", name="doses.csv")

    def by_both(self, ref: str, id_number: str) -> list[str]:
        return [ref, "aadhaar" if id_number else "", id_number, "1", "COVISHIELD", "2021-01-16", self.c, "L1"]

    def test_it_records_doses_named_by_reference_id(self):
        refs = self.refs[:4]
        typed = [refs[0], f"{refs[1][:4]} {refs[1][4:8]}-{refs[1][8:]}", refs[2].translate(DEVANAGARI), refs[3] + ".0"]
        r = self.doses(ref_dose_rows(typed, self.centre_a.pk))
        self.assertEqual(self.counts(r), ("succeeded", 4, 4, 0, 0, 0))
        records = Vaccination.objects.filter(beneficiary__reference_id__in=refs)
        self.assertEqual(list(records.values_list("source", "dose", "upload")), [("upload", 1, r.json()["id"])] * 4)

    def test_it_accepts_a_hindi_reference_id_header(self):
        header = ["संदर्भ आईडी", "खुराक", "टीका", "टीकाकरण तिथि", "केंद्र आईडी", "लॉट नंबर"]
        r = self.doses(ref_dose_rows(self.refs[:2], self.centre_a.pk), header)
        self.assertEqual(self.counts(r), ("succeeded", 2, 2, 0, 0, 0))

    def test_it_refuses_a_malformed_or_unknown_reference_id_and_keeps_the_good_rows(self):
        elsewhere = BeneficiaryFactory(district=self.kurukshetra).reference_id
        bad = ["2041776300229", "2.04178E+13", "2041776300229X", "99999999999999", elsewhere]
        r = self.doses(ref_dose_rows([self.refs[0], *bad, self.refs[1]], self.centre_a.pk))
        self.assertEqual(self.counts(r), ("succeeded", 7, 2, 0, 0, 5))
        errors = self.errors(r)
        self.assertEqual([(row, column) for row, column, _r in errors], [(n, "reference_id") for n in range(3, 8)])
        expected = ["this one has 13", "spreadsheet", "14 digits and nothing else", "No person", "district"]
        for (_row, _column, reason), words in zip(errors, expected, strict=True):
            self.assertIn(words, reason)
        self.assertFalse(Vaccination.objects.filter(beneficiary__reference_id=elsewhere).exists())

    def test_it_counts_a_dose_named_by_reference_id_and_by_id_number_once(self):
        rows = [
            self.by_both(self.refs[0], ""),
            self.by_both("", self.rows[0][5]),
            self.by_both("", self.rows[1][5]),
            self.by_both(self.refs[1], ""),
            self.by_both(self.refs[2], self.rows[2][5]),  # both, naming the same person
        ]
        r = self.doses(rows, BOTH_HEADER)
        self.assertEqual(self.counts(r), ("succeeded", 5, 3, 0, 2, 0))
        self.assertEqual(Vaccination.objects.count(), 3)

    def test_it_counts_the_same_doses_in_another_file_as_existing(self):
        first = self.doses(ref_dose_rows(self.refs[:3], self.centre_a.pk))
        self.assertEqual(self.counts(first)[2], 3)
        again = ref_dose_rows(list(reversed(self.refs[:3])), self.centre_a.pk)
        r = self.doses(again, ["Ref ID", "Dose", "Vaccine", "Date", "Centre", "Lot"])
        self.assertEqual(self.counts(r), ("succeeded", 3, 0, 3, 0, 0))
        self.assertEqual(Vaccination.objects.count(), 3)

    def test_it_refuses_a_header_that_names_no_person(self):
        for header in (REF_DOSE_HEADER[1:], ["id_type", *REF_DOSE_HEADER[1:]]):
            r = self.doses([["1", "COVISHIELD", "2021-01-16", self.c, "L1"]], header)
            body = self.result(r)
            self.assertEqual(body["status"], "failed")
            self.assertIn("Missing column(s): reference_id (or id_type + id_number)", body["failure_reason"])
        self.assertEqual(Vaccination.objects.count(), 0)

    def test_it_refuses_a_row_whose_reference_id_and_id_number_name_different_people(self):
        rows = [self.by_both(self.refs[0], self.rows[1][5]), self.by_both(self.refs[2], self.rows[2][5])]
        r = self.doses(rows, BOTH_HEADER)
        self.assertEqual(self.counts(r), ("succeeded", 2, 1, 0, 0, 1))
        [(row, column, reason)] = self.errors(r)
        self.assertEqual((row, column), (2, "reference_id"))
        self.assertIn("different people", reason)
        self.assertNotIn(self.rows[1][5], reason)
        self.assertFalse(Vaccination.objects.filter(beneficiary__reference_id=self.refs[0]).exists())

    def test_it_looks_the_people_of_a_chunk_up_in_one_query(self):
        rows = person_rows(50, seed=7)
        self.send(csv_bytes(rows))
        people = dict(Beneficiary.objects.values_list("id_hash", "reference_id"))
        upload = Upload.objects.filter(kind="beneficiaries").first()
        header = read_header(BOTH_HEADER, "vaccinations")
        vaccines = {"COVISHIELD": self.covishield}
        lines = [self.by_both(people[identify("aadhaar", r[5]).id_hash], "") if i % 2 else self.by_both("", r[5])
                 for i, r in enumerate(rows)]  # fmt: skip
        parsed = [(n, parse_dose(line, header, {self.centre_a.pk}, vaccines)) for n, line in enumerate(lines, 2)]
        for n in (5, 50):
            with CaptureQueriesContext(connection) as queries:
                found = pipeline._people_for(upload, parsed[:n])
            self.assertEqual(len(queries), 1, [q["sql"] for q in queries])
            self.assertEqual(len(found.by_reference), n)


@pytest.mark.postgres
@override_settings(COVAX_BACKGROUND="eager")
class ConcurrentUploadTestCase(WorldMixin, TransactionTestCase):
    def setUp(self):
        self.setUpTestData()

    def test_two_officers_uploading_overlapping_lists_create_no_duplicate(self):
        rows = person_rows(3000, seed=9)
        files = [csv_bytes(rows[:2000]), csv_bytes(rows[1000:])]
        barrier = threading.Barrier(2)
        errors = []

        def send(content, user):
            try:
                barrier.wait()
                intake = upload_create(district=self.hisar, kind="beneficiaries", file=as_file(content), user=user)
                upload_process(upload_id=intake.upload.pk)
            except Exception as exc:  # noqa: BLE001 - asserted below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=send, args=(f, self.hisar_officer)) for f in files]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(Beneficiary.objects.count(), 3000)
        created = sum(Upload.objects.values_list("rows_created", flat=True))
        existing = sum(Upload.objects.values_list("rows_existing", flat=True))
        self.assertEqual((created, existing), (3000, 1000))
