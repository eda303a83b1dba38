"""The district officer's upload pages (issue 3 point 1, 8, 9): the form, the list in
scope, the detail page with live progress and the five counts, the error report, the
same file again, rollback with confirmation, bad input next to its field."""

from __future__ import annotations

import csv
import io
import re
import time

from django.db import connections
from django.test import Client, TestCase, TransactionTestCase, override_settings

from beneficiaries.models import Beneficiary, Upload, UploadError
from covax import background
from sessions_app.models import Allocation, Vaccination
from sessions_app.planning.services import allocation_create
from tests.base import WorldMixin
from tests.factories import BeneficiaryFactory
from tests.guard import give, session_at
from tests.upload_people import varied_rows
from tests.uploads import as_file, csv_bytes, person_rows

DOSE_HEADER = ["id_type", "id_number", "dose", "vaccine", "administered_on", "centre_id", "lot_number"]


def browser(user) -> Client:
    """A client that needs the CSRF token, like a browser."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def token(client: Client, url: str) -> str:
    page = client.get(url).content.decode()
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def field_errors(html: str, field: str) -> str:
    """The text of the error list shown next to a field (the `_form.html` markup)."""
    found = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', html, re.S)
    return re.sub(r"<[^>]+>", "", found.group(1)) if found else ""


@override_settings(COVAX_BACKGROUND="eager")
class UploadPagesTestCase(WorldMixin, TestCase):
    def setUp(self):
        self.officer = browser(self.hisar_officer)

    def upload(self, content: bytes, *, name="list.csv", kind="beneficiaries", client=None, form="/uploads/", **fields):
        client = client or self.officer
        data = {"csrfmiddlewaretoken": token(client, form), "file": as_file(content, name), "kind": kind}
        with self.captureOnCommitCallbacks(execute=True):
            return client.post("/uploads/", {**data, **fields})

    def detail(self, upload_id: int) -> str:
        return self.officer.get(f"/uploads/{upload_id}/").content.decode()

    def count(self, html: str, name: str) -> str:
        return re.search(rf'id="count-{name}">([^<]*)<', html).group(1)

    def test_it_uploads_a_list_and_shows_the_five_counts(self):
        rows = person_rows(30)
        rows[3][5] = "2.34568E+11"  # mangled by a spreadsheet
        rows[7] = list(rows[2])  # duplicate within the file
        BeneficiaryFactory(district=self.hisar, id_number=rows[9][5])  # registered before the upload
        r = self.upload(csv_bytes(rows))
        upload = Upload.objects.get()
        self.assertRedirects(r, f"/uploads/{upload.pk}/", fetch_redirect_response=False)
        html = self.detail(upload.pk)
        self.assertEqual(
            [self.count(html, n) for n in ("total", "created", "existing", "duplicate", "invalid")],
            ["30", "27", "1", "1", "1"],
        )
        self.assertIn('aria-valuenow="100"', html)
        self.assertNotIn("hx-trigger", html)  # finished: no more polling
        self.assertIn("processed in the background", html)
        self.assertEqual((upload.district, upload.created_by), (self.hisar, self.hisar_officer))

    def test_the_progress_fragment_polls_while_running_and_stops_when_done(self):
        self.upload(csv_bytes(person_rows(3)))
        upload = Upload.objects.get()
        Upload.objects.filter(pk=upload.pk).update(status="running", progress=40, rows_total=1000, rows_created=400)
        live = self.officer.get(f"/uploads/{upload.pk}/progress/").content.decode()
        self.assertIn(f'hx-get="/uploads/{upload.pk}/progress/"', live)
        self.assertIn('hx-trigger="every 1s"', live)
        self.assertIn('role="progressbar"', live)
        self.assertIn('aria-valuenow="40"', live)
        self.assertIn("400 of 1000 rows done", live)
        self.assertNotIn('id="rollback"', live)  # not while it runs
        self.assertIn('hx-trigger="every 1s"', self.detail(upload.pk))  # the page polls too
        Upload.objects.filter(pk=upload.pk).update(status="succeeded", progress=100)
        done = self.officer.get(f"/uploads/{upload.pk}/progress/").content.decode()
        self.assertNotIn("hx-trigger", done)
        self.assertIn('aria-valuenow="100"', done)
        self.assertIn('id="rollback"', done)

    def test_the_same_file_again_sends_the_officer_to_the_first_upload(self):
        content = csv_bytes(person_rows(10))
        first = self.upload(content)
        again = self.upload(content, name="copy-of-list.csv")
        self.assertEqual(again["Location"], first["Location"])
        page = self.officer.get(again["Location"]).content.decode()
        self.assertIn("This file was already uploaded on", page)
        self.assertIn("Nothing new was created", page)
        self.assertEqual(Upload.objects.count(), 1)
        self.assertEqual(Beneficiary.objects.count(), 10)

    def test_it_shows_bad_input_next_to_the_field_and_never_a_500(self):
        cases = [
            ({"file": ""}, "file", "Choose a file to upload."),
            ({"file": as_file(b"", "empty.csv")}, "file", "The file is empty."),
            ({"file": as_file(b"\xd0\xcf\x11\xe0" + b"\0" * 64, "old.xls")}, "file", "Save the sheet as .xlsx"),
            ({"file": as_file(b"MZ\x90\x00", "virus.exe")}, "file", "Upload a .csv or .xlsx file."),
            ({"kind": "people"}, "kind", "Choose beneficiaries or vaccinations."),
        ]
        for fields, field, message in cases:
            r = self.upload(csv_bytes(person_rows(2)), **fields)
            self.assertEqual(r.status_code, 400, fields)
            self.assertIn(message, field_errors(r.content.decode(), field), fields)
        with override_settings(COVAX_UPLOAD_MAX_BYTES=1000):
            r = self.upload(csv_bytes(person_rows(50)))
        self.assertEqual(r.status_code, 413)
        self.assertIn("at most 0 MB can be uploaded. Split it into parts.", field_errors(r.content.decode(), "file"))
        self.assertEqual(Upload.objects.count(), 0)

    def test_a_file_that_cannot_be_read_says_why_on_the_page(self):
        content = csv_bytes(person_rows(5)).decode().replace("Health", "Hëalth").encode("latin-1")
        self.upload(content)
        html = self.detail(Upload.objects.get().pk)
        self.assertIn('data-status="failed"', html)
        self.assertIn("not UTF-8", re.search(r'id="failure-reason">(.*?)</div>', html, re.S).group(1))
        self.assertEqual(Beneficiary.objects.count(), 0)

    def test_a_wrong_kind_of_file_fails_with_the_kind_it_looks_like(self):
        self.upload(csv_bytes(person_rows(3)), kind="vaccinations")
        html = self.detail(Upload.objects.get().pk)
        self.assertIn("These columns are for a beneficiaries upload, not vaccinations", html)

    def test_the_list_shows_uploads_in_scope_with_constant_queries(self):
        for seed in range(2):
            self.upload(csv_bytes(person_rows(2, seed=seed)))
        kkr = self.upload(csv_bytes(person_rows(2, seed=7)), client=browser(self.kkr_officer), name="kkr-list.csv")
        self.assertEqual(kkr.status_code, 302)
        self.officer.get("/uploads/")
        with self.assertNumQueries(4):  # session, user, count, page (with district and user)
            self.officer.get("/uploads/")
        for seed in range(3, 6):
            self.upload(csv_bytes(person_rows(2, seed=seed)))
        with self.assertNumQueries(4):
            r = self.officer.get("/uploads/")
        html = r.content.decode()
        self.assertEqual(html.count("data-upload="), 5)
        self.assertNotIn("kkr-list.csv", html)
        self.assertNotIn('name="district"', html)  # an officer uploads for their own district

    def test_an_officer_of_another_district_gets_404_and_staff_get_no_upload_pages(self):
        self.upload(csv_bytes(person_rows(3)))
        pk = Upload.objects.get().pk
        kkr = browser(self.kkr_officer)
        for url in (f"/uploads/{pk}/", f"/uploads/{pk}/progress/", f"/uploads/{pk}/errors.csv",
                    f"/uploads/{pk}/rollback/"):  # fmt: skip
            self.assertEqual(kkr.get(url).status_code, 404, url)
        r = kkr.post(f"/uploads/{pk}/rollback/", {"csrfmiddlewaretoken": token(kkr, "/uploads/")})
        self.assertEqual(r.status_code, 404)
        staff = browser(self.staff_a)
        self.assertEqual(staff.get("/uploads/").status_code, 403)
        self.assertEqual(staff.get(f"/uploads/{pk}/").status_code, 403)
        self.assertNotIn('href="/uploads/"', staff.get("/staff/", follow=True).content.decode())
        self.assertEqual(self.upload(csv_bytes(person_rows(2, seed=3)), client=staff, form="/staff/").status_code, 403)
        self.assertEqual(Upload.objects.count(), 1)
        self.assertEqual(Client().get("/uploads/")["Location"], "/login/?next=/uploads/")

    def test_a_state_admin_picks_one_of_their_states_districts(self):
        admin = browser(self.haryana_admin)
        html = admin.get("/uploads/").content.decode()
        self.assertIn('name="district"', html)
        self.assertIn("Kurukshetra", html)
        self.assertNotIn("Muzaffarpur", html)  # Bihar
        r = self.upload(csv_bytes(person_rows(2)), client=admin, district=self.muzaffarpur.pk)
        self.assertEqual(r.status_code, 400)
        self.assertIn("Choose one of your districts.", field_errors(r.content.decode(), "district"))
        r = self.upload(csv_bytes(person_rows(2)), client=admin, district=self.kurukshetra.pk)
        self.assertEqual(r.status_code, 302)
        self.assertEqual(Upload.objects.get().district, self.kurukshetra)

    def test_the_error_report_lists_row_column_reason_and_is_formula_safe(self):
        rows = person_rows(4)
        rows[1][0] = '=HYPERLINK("http://evil.example","click")'
        rows[2][3] = "12345"
        self.upload(csv_bytes(rows))
        upload = Upload.objects.get()
        html = self.detail(upload.pk)
        self.assertIn(f'href="/uploads/{upload.pk}/errors.csv"', html)
        table = re.search(r'<table class="responsive" id="upload-errors">(.*?)</table>', html, re.S).group(1)
        self.assertIn("<td>3</td><td>name</td>", table)
        self.assertIn("<td>4</td><td>phone</td>", table)
        UploadError.objects.create(upload=upload, row=9, column="name", reason='=cmd|"/c calc"!A1')
        r = self.officer.get(f"/uploads/{upload.pk}/errors.csv")
        self.assertEqual(r["Content-Type"], "text/csv; charset=utf-8")
        self.assertIn("attachment", r["Content-Disposition"])
        lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        self.assertEqual(lines[0], ["row", "column", "reason"])
        self.assertEqual([(line[0], line[1]) for line in lines[1:]], [("3", "name"), ("4", "phone"), ("9", "name")])
        self.assertIn("formula", lines[1][2])
        self.assertEqual(lines[3][2], '\'=cmd|"/c calc"!A1')  # shown as text, never run
        self.assertNotIn(rows[2][5], r.content.decode())  # never an ID number

    def test_rollback_asks_first_then_shows_what_was_removed_and_what_was_kept(self):
        self.upload(csv_bytes(person_rows(5)))
        upload = Upload.objects.get()
        people = list(Beneficiary.objects.order_by("upload_row"))
        allocation_create(session=session_at(self.centre_a, self.covishield), reference_ids=[people[0].reference_id])
        give(people[1], dose=1, vaccine=self.covishield, centre=self.centre_a)
        confirm = self.officer.get(f"/uploads/{upload.pk}/rollback/")
        self.assertContains(confirm, "This upload created 5 people.")
        self.assertContains(confirm, 'id="confirm-rollback"')
        self.assertEqual(Beneficiary.objects.count(), 5)  # asking changes nothing
        self.assertEqual(self.officer.post(f"/uploads/{upload.pk}/rollback/").status_code, 403)  # no CSRF token
        r = self.officer.post(
            f"/uploads/{upload.pk}/rollback/", {"csrfmiddlewaretoken": token(self.officer, "/uploads/")}, follow=True
        )
        html = r.content.decode()
        self.assertIn("Upload rolled back: 3 people removed, 2 kept", html)
        report = re.search(r'id="rollback-report">(.*?)</div>', html, re.S).group(1)
        self.assertIn("3 people created by this upload were removed.", report)
        self.assertIn("1 person kept: has a dose recorded.", report)
        self.assertIn("1 person kept: is allocated to a session.", report)
        self.assertIn(people[1].reference_id, report)
        self.assertNotIn('id="rollback"', html)
        self.assertEqual(set(Beneficiary.objects.all()), {people[0], people[1]})
        self.assertEqual(Allocation.objects.count(), 1)
        again = self.officer.post(
            f"/uploads/{upload.pk}/rollback/", {"csrfmiddlewaretoken": token(self.officer, "/uploads/")}, follow=True
        )
        self.assertContains(again, "This upload was already rolled back.")

    def test_rollback_of_doses_voids_them_and_says_so(self):
        rows = person_rows(2)
        self.upload(csv_bytes(rows))
        doses = [["aadhaar", r[5], "1", "COVISHIELD", "2021-01-16", str(self.centre_a.pk), "L1"] for r in rows]
        self.upload(csv_bytes(doses, DOSE_HEADER), kind="vaccinations", name="doses.csv")
        upload = Upload.objects.get(kind="vaccinations")
        self.assertEqual(upload.rows_created, 2)
        self.assertContains(self.officer.get(f"/uploads/{upload.pk}/rollback/"), "voids every dose this upload")
        r = self.officer.post(
            f"/uploads/{upload.pk}/rollback/", {"csrfmiddlewaretoken": token(self.officer, "/uploads/")}, follow=True
        )
        self.assertContains(r, "2 doses recorded by this upload were voided.")
        self.assertEqual(Vaccination.objects.live().count(), 0)

    def test_a_running_upload_cannot_be_rolled_back_and_the_page_says_so(self):
        self.upload(csv_bytes(person_rows(2)))
        upload = Upload.objects.get()
        Upload.objects.filter(pk=upload.pk).update(status="running")
        r = self.officer.post(
            f"/uploads/{upload.pk}/rollback/", {"csrfmiddlewaretoken": token(self.officer, "/uploads/")}, follow=True
        )
        self.assertContains(r, "still running")
        self.assertEqual(Beneficiary.objects.count(), 2)

    def test_the_dashboard_links_an_upload_in_progress_to_its_page(self):
        self.upload(csv_bytes(person_rows(2)))
        upload = Upload.objects.get()
        Upload.objects.filter(pk=upload.pk).update(status="running", progress=55)
        html = self.officer.get("/officer/").content.decode()
        self.assertIn(f'href="/uploads/{upload.pk}/"', html)
        self.assertIn('<a class="active" href="/uploads/">', self.officer.get("/uploads/").content.decode())

    def test_the_pages_speak_hindi(self):
        self.upload(csv_bytes(person_rows(2)))
        upload = Upload.objects.get()
        self.officer.cookies["django_language"] = "hi"
        listing = self.officer.get("/uploads/").content.decode()
        self.assertIn("सूची अपलोड करें", listing)
        detail = self.officer.get(f"/uploads/{upload.pk}/").content.decode()
        self.assertIn("फ़ाइल में पंक्तियाँ", detail)
        self.assertIn("इस अपलोड को वापस लें", detail)
        r = self.upload(b"", name="empty.csv")
        self.assertIn("फ़ाइल खाली है", field_errors(r.content.decode(), "file"))


@override_settings(COVAX_BACKGROUND="thread")
class EmbeddedDefaultTestCase(WorldMixin, TransactionTestCase):
    """Without Redis the upload runs on a thread of the web process; the page polls it."""

    def setUp(self):
        self.setUpTestData()

    def test_the_page_shows_live_progress_on_the_embedded_default(self):
        client = browser(self.hisar_officer)
        data = {"csrfmiddlewaretoken": token(client, "/uploads/"), "kind": "beneficiaries"}
        r = client.post("/uploads/", {**data, "file": as_file(csv_bytes(varied_rows(6000)))})
        self.assertEqual(r.status_code, 302)  # answered before the work is done
        fragments = []
        deadline = time.monotonic() + 300  # a shared CI machine can be slow; it ends as soon as the upload does
        while time.monotonic() < deadline:
            fragments.append(client.get(r["Location"] + "progress/").content.decode())
            if 'data-status="succeeded"' in fragments[-1] or 'data-status="failed"' in fragments[-1]:
                break
            time.sleep(0.05)
        self.assertIn('hx-trigger="every 1s"', fragments[0])  # it was still at work when the page opened
        self.assertIn('data-status="succeeded"', fragments[-1])
        self.assertNotIn("hx-trigger", fragments[-1])
        self.assertIn('id="count-created">6000<', fragments[-1])
        self.assertIn('aria-valuenow="100"', fragments[-1])
        self.assertEqual(Beneficiary.objects.count(), 6000)

    def tearDown(self):
        # The upload queued a duplicate scan on the same thread: let it end before the
        # tables are emptied. Twice, since the scan is queued by the running upload.
        for _ in range(2):
            background._pool().submit(lambda: None).result(timeout=300)
        background._pool().submit(connections.close_all).result()  # the test database can be dropped
