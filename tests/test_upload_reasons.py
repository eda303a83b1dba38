"""An upload's reasons in the reader's language (SPEC §6: English and Hindi throughout).

The worker that validates a file has no reader: it writes each reason in English and
keeps its message and values, and the page, the error report and the API show it in
the language of whoever reads it, values included."""

from __future__ import annotations

import csv
import io
import pickle

from django.test import TestCase, override_settings
from django.utils import translation

from beneficiaries.identity import IdentityError, normalise_id_number
from beneficiaries.models import Upload, UploadError
from covax.reasons import reason, shown, stored
from tests.base import WorldMixin
from tests.test_pages_uploads import browser, token
from tests.uploads import as_file, csv_bytes, person_rows


@override_settings(COVAX_BACKGROUND="eager")
class UploadReasonsTestCase(WorldMixin, TestCase):
    def setUp(self):
        self.officer = browser(self.hisar_officer)

    def upload(self, content: bytes, name: str = "list.csv") -> Upload:
        data = {"csrfmiddlewaretoken": token(self.officer, "/uploads/"), "kind": "beneficiaries"}
        with self.captureOnCommitCallbacks(execute=True):
            self.officer.post("/uploads/", {**data, "file": as_file(content, name)})
        return Upload.objects.latest("pk")

    def read_in(self, language: str, url: str) -> str:
        self.officer.cookies["django_language"] = language
        return self.officer.get(url).content.decode()

    def test_it_shows_row_reasons_with_their_values_in_the_readers_language(self):
        rows = person_rows(5)
        rows[4][7] = "x" * 600  # an employer cell far too long
        rows[1][5] = rows[1][5][:11]  # an Aadhaar of 11 digits
        rows[2][3] = "12345"  # a mobile that is no mobile
        rows[3][6] = "VIP"  # no such category
        upload = self.upload(csv_bytes(rows))
        self.assertEqual(upload.rows_invalid, 4)

        english = self.read_in("en", f"/uploads/{upload.pk}/")
        self.assertIn("Aadhaar must have 12 digits, got 11.", english)
        self.assertIn("Mobile number 12345 is not valid.", english)
        hindi = self.read_in("hi", f"/uploads/{upload.pk}/")
        self.assertIn("आधार में 12 अंक होने चाहिए, 11 मिले।", hindi)
        self.assertIn("मोबाइल नंबर 12345 मान्य नहीं है।", hindi)
        self.assertIn("श्रेणी इनमें से एक होनी चाहिए: HCW, FLW", hindi)
        self.assertIn("यह सेल 600 अक्षर लंबा है; अधिकतम 500 की अनुमति है।", hindi)
        self.assertNotIn("Aadhaar must have 12 digits", hindi)

        report = self.read_in("hi", f"/uploads/{upload.pk}/errors.csv")
        reasons = {row["column"]: row["reason"] for row in csv.DictReader(io.StringIO(report))}
        self.assertEqual(reasons["id_number"], "आधार में 12 अंक होने चाहिए, 11 मिले।")
        self.assertEqual(reasons["phone"], "मोबाइल नंबर 12345 मान्य नहीं है।")

    def test_a_refused_file_says_why_in_the_readers_language_on_the_page_and_in_the_api(self):
        upload = self.upload(csv_bytes(person_rows(2)).decode().encode("utf-16"))
        self.assertEqual(upload.status, "failed")
        self.assertIn("UTF-16", upload.failure_reason)  # written in English by the worker
        self.assertIn("फ़ाइल UTF-16", self.read_in("hi", f"/uploads/{upload.pk}/"))
        api = self.client_for_api()
        answer = api.get(f"/api/v1/uploads/{upload.pk}/", HTTP_ACCEPT_LANGUAGE="hi").json()
        self.assertIn("फ़ाइल UTF-16", answer["failure_reason"])
        answer = api.get(f"/api/v1/uploads/{upload.pk}/", HTTP_ACCEPT_LANGUAGE="en").json()
        self.assertTrue(answer["failure_reason"].startswith("This file is in UTF-16"))

    def test_a_reason_stored_before_it_kept_its_message_is_shown_as_written_or_translated(self):
        upload = self.upload(csv_bytes(person_rows(1)))
        UploadError.objects.create(upload=upload, row=5, column="gender", reason="Gender must be M, F or O.")
        UploadError.objects.create(upload=upload, row=6, column="name", reason="Something only English knew.")
        hindi = self.read_in("hi", f"/uploads/{upload.pk}/")
        self.assertIn("लिंग M, F या O होना चाहिए।", hindi)
        self.assertIn("Something only English knew.", hindi)

    def test_a_dose_a_rollback_kept_says_why_in_the_readers_language(self):
        from sessions_app.models import Vaccination
        from tests.guard import give
        from tests.test_pages_uploads import DOSE_HEADER

        rows = person_rows(1)
        self.upload(csv_bytes(rows))
        doses = [["aadhaar", rows[0][5], "1", "COVISHIELD", "2021-01-16", str(self.centre_a.pk), "L1"]]
        data = {"csrfmiddlewaretoken": token(self.officer, "/uploads/"), "kind": "vaccinations"}
        with self.captureOnCommitCallbacks(execute=True):
            self.officer.post("/uploads/", {**data, "file": as_file(csv_bytes(doses, DOSE_HEADER), "doses.csv")})
        upload = Upload.objects.get(kind="vaccinations")
        first = Vaccination.objects.get(upload=upload)
        give(first.beneficiary, dose=2, vaccine=first.vaccine, centre=self.centre_a, days=0)
        self.officer.cookies["django_language"] = "en"  # the rollback is asked for in English
        self.officer.post(f"/uploads/{upload.pk}/rollback/", {"csrfmiddlewaretoken": token(self.officer, "/uploads/")})
        self.assertIn("A later dose is recorded", self.read_in("en", f"/uploads/{upload.pk}/"))
        self.assertIn("बाद की खुराक दर्ज है; पहले उसे रद्द करें।", self.read_in("hi", f"/uploads/{upload.pk}/"))

    def client_for_api(self):
        from rest_framework.test import APIClient

        api = APIClient()
        api.force_authenticate(self.hisar_officer)
        return api


class ReasonTestCase(TestCase):
    def test_it_is_the_message_in_the_language_active_when_made(self):
        with translation.override("hi"):
            made = reason("Aadhaar must have 12 digits, got %(n)s.", n=9)
        self.assertEqual(made, "आधार में 12 अंक होने चाहिए, 9 मिले।")
        with translation.override("en"):
            self.assertEqual(shown(made, stored(made)), "Aadhaar must have 12 digits, got 9.")

    def test_a_value_that_is_a_message_is_translated_with_it(self):
        try:
            normalise_id_number("pan", "X1")
        except IdentityError as exc:
            message = stored(str(exc))
        with translation.override("hi"):
            self.assertEqual(shown("", message), "पैन कार्ड संख्या AAAAA9999A जैसी होनी चाहिए।")

    def test_it_crosses_to_a_helper_process_and_back(self):
        made = reason("Mobile number %(value)s is not valid.", value="12")
        back = pickle.loads(pickle.dumps(made))
        self.assertEqual((back, stored(back)), (made, stored(made)))

    def test_a_message_whose_placeholders_changed_since_is_shown_as_written(self):
        self.assertEqual(shown("Got 3.", {"msgid": "Got %(count)s.", "params": {"n": 3}}), "Got 3.")
