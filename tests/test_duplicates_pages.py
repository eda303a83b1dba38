"""The district officer's duplicate review pages: queue, pair, merge with choices, undo."""

from __future__ import annotations

import re

from django.test import Client, TestCase

from beneficiaries.duplicates import duplicates_detect
from beneficiaries.models import Beneficiary, DuplicateCandidate
from sessions_app.models import Vaccination
from tests.base import WorldMixin
from tests.factories import aadhaar_number
from tests.test_duplicates import candidate_for, dose, person


class DuplicatePagesTestCase(WorldMixin, TestCase):
    def setUp(self):
        self.number = aadhaar_number(seed=501)
        self.a = person(self.hisar, "Sunita Sharma", id_number=self.number)
        self.b = person(self.hisar, "सुनीता शर्मा")
        duplicates_detect(district_id=self.hisar.pk)
        self.pair = candidate_for(self.a, self.b)
        self.url = f"/duplicates/{self.pair.pk}/"

    def browser(self, user) -> Client:
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        return client

    def post_form(self, client: Client, page_url: str, action: str, data: dict):
        """Submit a form the way a browser does: with the CSRF token from the page."""
        page = client.get(page_url)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
        return client.post(action, {"csrfmiddlewaretoken": token, **data})

    def test_it_lists_the_open_pairs_for_the_district_officer(self):
        r = self.browser(self.hisar_officer).get("/duplicates/")
        self.assertEqual(r.status_code, 200)
        html = r.content.decode()
        self.assertIn("सुनीता शर्मा", html)
        self.assertIn("Sunita Sharma", html)
        self.assertIn("similar name", html)
        self.assertIn(self.url, html)

    def test_it_shows_both_people_side_by_side_with_last4_only(self):
        dose(self.b, 1, self.centre_a, self.covishield)
        r = self.browser(self.hisar_officer).get(self.url)
        html = r.content.decode()
        self.assertIn(self.a.reference_id, html)
        self.assertIn(self.b.reference_id, html)
        self.assertIn("…" + self.number[-4:], html)
        self.assertNotIn(self.number, html)
        self.assertIn("Jindal Hospital", html)
        self.assertIn('name="keep"', html)

    def test_it_merges_from_the_form(self):
        given = dose(self.b, 1, self.centre_a, self.covishield)
        client = self.browser(self.hisar_officer)
        r = self.post_form(client, self.url, self.url + "merge/", {"keep": self.a.reference_id, "note": "one woman"})
        self.assertRedirects(r, self.url)
        given.refresh_from_db()
        self.assertEqual(given.beneficiary_id, self.a.pk)
        page = client.get(self.url).content.decode()
        self.assertIn("Merged", page)
        self.assertIn("Undo merge", page)

    def test_it_offers_the_choice_for_two_dose_1_records_and_merges_with_it(self):
        mine = dose(self.a, 1, self.centre_a, self.covishield)
        theirs = dose(self.b, 1, self.centre_a2, self.covishield)
        client = self.browser(self.hisar_officer)
        page = client.get(self.url).content.decode()
        self.assertIn(f'name="void_1" value="{mine.pk}"', page)
        self.assertIn(f'name="void_1" value="{theirs.pk}"', page)
        r = self.post_form(client, self.url, self.url + "merge/", {"keep": self.a.reference_id})
        self.assertEqual(r.status_code, 409, "a merge without the choice is refused and explained")
        self.assertIn("Choose which record to void", r.content.decode())
        self.assertIsNone(Beneficiary.objects.get(pk=self.b.pk).merged_into_id)
        r = self.post_form(
            client,
            self.url,
            self.url + "merge/",
            {"keep": self.a.reference_id, "void_1": theirs.pk, "reason_1": "entered twice at Sevak Sabha"},
        )
        self.assertRedirects(r, self.url)
        theirs.refresh_from_db()
        self.assertEqual(theirs.void_reason, "entered twice at Sevak Sabha")
        self.assertEqual(Vaccination.objects.live().get().pk, mine.pk)

    def test_it_marks_distinct_undoes_a_merge_and_reopens(self):
        client = self.browser(self.hisar_officer)
        self.post_form(client, self.url, self.url + "merge/", {"keep": self.b.reference_id})
        r = self.post_form(client, self.url, self.url + "unmerge/", {"reason": "wrong pair"})
        self.assertRedirects(r, self.url)
        self.assertIsNone(Beneficiary.objects.get(pk=self.a.pk).merged_into_id)
        r = self.post_form(client, self.url, self.url + "distinct/", {"note": "mother and daughter"})
        self.assertRedirects(r, self.url)
        self.assertEqual(DuplicateCandidate.objects.get().status, "distinct")
        self.assertIn("mother and daughter", client.get(self.url).content.decode())
        self.post_form(client, self.url, self.url + "reopen/", {})
        self.assertEqual(DuplicateCandidate.objects.get().status, "open")

    def test_it_refuses_a_form_without_its_csrf_token(self):
        r = self.browser(self.hisar_officer).post(self.url + "distinct/", {"note": "x"})
        self.assertEqual(r.status_code, 403)
        self.assertEqual(DuplicateCandidate.objects.get().status, "open")

    def test_it_keeps_pairs_inside_the_officers_district(self):
        kkr = self.browser(self.kkr_officer)
        self.assertEqual(kkr.get(self.url).status_code, 404)
        self.assertNotIn("Sunita", kkr.get("/duplicates/").content.decode())
        kkr_client = Client()
        kkr_client.force_login(self.kkr_officer)
        self.assertEqual(kkr_client.post(self.url + "merge/", {"keep": self.a.reference_id}).status_code, 404)
        staff = Client()
        staff.force_login(self.staff_a)
        self.assertEqual(staff.get("/duplicates/").status_code, 403)
        self.assertEqual(staff.post(self.url + "distinct/").status_code, 403)
        self.assertEqual(DuplicateCandidate.objects.get().status, "open")
        self.assertRedirects(Client().get("/duplicates/"), "/login/?next=/duplicates/")

    def test_it_queues_a_scan_of_the_officers_district(self):
        person(self.hisar, "Anil Chaudhary", year=1970, gender="M")
        person(self.hisar, "अनिल चौधरी", year=1970, gender="M")
        client = self.browser(self.hisar_officer)
        with self.captureOnCommitCallbacks(execute=False) as queued:
            r = self.post_form(client, "/duplicates/", "/duplicates/scan/", {})
        self.assertRedirects(r, "/duplicates/")
        self.assertEqual(len(queued), 1)

    def test_it_lets_a_state_admin_scan_only_districts_of_their_state(self):
        admin = Client()
        admin.force_login(self.bihar_admin)
        self.assertEqual(admin.post("/duplicates/scan/", {"district": self.hisar.pk}).status_code, 404)
        admin.force_login(self.haryana_admin)
        self.assertRedirects(admin.post("/duplicates/scan/", {"district": self.hisar.pk}), "/duplicates/")

    def test_it_speaks_hindi(self):
        client = self.browser(self.hisar_officer)
        r = client.get("/duplicates/", HTTP_ACCEPT_LANGUAGE="hi")
        self.assertEqual(r.status_code, 200)
        self.assertIn('lang="hi"', r.content.decode())
