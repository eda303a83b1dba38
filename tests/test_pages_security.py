"""Security of the pages: CSRF, brute-force lockout, secure cookies outside debug, the
Content-Security-Policy, and scope (404 outside it, never the data)."""

from __future__ import annotations

import os
import subprocess
import sys

from django.test import Client, TestCase, override_settings

from sessions_app.models import Vaccination
from sessions_app.planning.services import allocation_create
from tests.base import WorldMixin
from tests.factories import BeneficiaryFactory, SessionFactory
from tests.guard import give


class PageSecurityTestCase(WorldMixin, TestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.session_a = SessionFactory(centre=cls.centre_a, vaccine=cls.covishield)
        cls.session_a2 = SessionFactory(centre=cls.centre_a2, vaccine=cls.covishield)
        cls.person_a2 = BeneficiaryFactory(district=cls.hisar, name="Kavita Saini")
        allocation_create(session=cls.session_a2, reference_ids=[cls.person_a2.reference_id])
        cls.dose_a2 = give(cls.person_a2, dose=1, vaccine=cls.covishield, centre=cls.centre_a2, session=cls.session_a2)
        cls.kkr_person = BeneficiaryFactory(district=cls.kurukshetra)

    def test_it_gives_staff_404_for_another_centres_session(self):
        self.client.force_login(self.staff_a)
        for url in (
            f"/sessions/{self.session_a2.pk}/",
            f"/sessions/{self.session_a2.pk}/verify/",
            f"/sessions/{self.session_a2.pk}/walk-in/",
            f"/vaccinations/{self.dose_a2.pk}/aefi/",
            f"/vaccinations/{self.dose_a2.pk}/undo/",
        ):
            r = self.client.get(url)
            self.assertEqual(r.status_code, 404, url)
            self.assertNotIn("Kavita Saini", r.content.decode(), url)
        self.assertEqual(self.client.get(f"/sessions/{self.session_a.pk}/").status_code, 200)

    def test_it_gives_404_when_marking_in_another_centres_session_or_another_districts_person(self):
        self.client.force_login(self.staff_a)
        r = self.client.post(f"/sessions/{self.session_a2.pk}/mark/{self.person_a2.reference_id}/")
        self.assertEqual(r.status_code, 404)
        r = self.client.post(f"/sessions/{self.session_a.pk}/mark/{self.kkr_person.reference_id}/")
        self.assertEqual(r.status_code, 404)
        r = self.client.post(f"/vaccinations/{self.dose_a2.pk}/undo/", {"reason": "x"})
        self.assertEqual(r.status_code, 404)
        self.assertFalse(Vaccination.objects.filter(beneficiary=self.kkr_person).exists())
        self.assertIsNone(Vaccination.objects.get(pk=self.dose_a2.pk).voided_at)

    def test_it_refuses_officer_pages_to_staff(self):
        self.client.force_login(self.staff_a)
        for url in (
            "/officer/",
            "/officer/centres/new/",
            "/officer/sessions/new/",
            "/officer/reports.csv",
            f"/sessions/{self.session_a.pk}/allocate/",
        ):
            self.assertEqual(self.client.get(url).status_code, 403, url)

    def test_it_asks_anonymous_visitors_to_sign_in(self):
        for url in ("/", "/staff/", "/officer/", f"/sessions/{self.session_a.pk}/"):
            r = self.client.get(url)
            self.assertEqual(r.status_code, 302, url)
            self.assertTrue(r["Location"].startswith("/login/"), url)

    def test_it_requires_csrf_on_every_form(self):
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.staff_a)
        r = client.post(f"/sessions/{self.session_a.pk}/mark/{self.person_a2.reference_id}/")
        self.assertEqual(r.status_code, 403)
        self.assertEqual(client.post("/logout/").status_code, 403)
        anonymous = Client(enforce_csrf_checks=True)
        self.assertEqual(anonymous.post("/login/", {"username": "staff_a", "password": "pw-staff_a"}).status_code, 403)

    def test_it_signs_in_and_out(self):
        r = self.client.post("/login/", {"username": "staff_a", "password": "pw-staff_a"}, follow=True)
        self.assertEqual(r.redirect_chain[-1][0], "/staff/")
        r = self.client.post("/logout/", follow=True)
        self.assertEqual(r.redirect_chain[-1][0], "/login/")

    def test_it_changes_the_password(self):
        self.client.force_login(self.staff_a)
        r = self.client.post(
            "/password/",
            {"old_password": "pw-staff_a", "new_password1": "a-new-Pass-2021!", "new_password2": "a-new-Pass-2021!"},
        )
        self.assertRedirects(r, "/password/done/")
        self.staff_a.refresh_from_db()
        self.assertTrue(self.staff_a.check_password("a-new-Pass-2021!"))

    def test_it_locks_out_login_brute_force(self):
        for _ in range(4):
            r = self.client.post("/login/", {"username": "staff_a", "password": "wrong"})
            self.assertContains(r, "Please enter a correct username and password")
        r = self.client.post("/login/", {"username": "staff_a", "password": "wrong"})
        self.assertEqual(r.status_code, 429)  # the fifth failure locks
        # Now even the right password is refused.
        r = self.client.post("/login/", {"username": "staff_a", "password": "pw-staff_a"})
        self.assertEqual(r.status_code, 429)
        self.assertContains(r, "Signing in is locked", status_code=429)
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_it_sends_a_strict_content_security_policy(self):
        self.client.force_login(self.staff_a)
        r = self.client.get(f"/sessions/{self.session_a.pk}/")
        policy = r["Content-Security-Policy"]
        self.assertIn("script-src 'self'", policy)
        self.assertNotIn("unsafe-inline' ", policy.split("script-src")[1].split(";")[0] + " ")
        self.assertIn("frame-ancestors 'none'", policy)
        self.assertNotIn("<script>", r.content.decode())  # no inline script: every <script> has a src
        self.assertEqual(r["X-Frame-Options"], "DENY")

    @override_settings(DEBUG=False)
    def test_it_sends_the_csp_on_the_login_page_too(self):
        self.assertIn("default-src 'self'", self.client.get("/login/")["Content-Security-Policy"])


def _settings_in_subprocess(env: dict[str, str]) -> str:
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='covax.settings'; "
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.LANGUAGE_COOKIE_SECURE, s.SECURE_SSL_REDIRECT)"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "COVAX_"))}
    out = subprocess.run([sys.executable, "-c", code], env={**base, **env}, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_it_uses_secure_cookies_outside_debug():
    env = {"DJANGO_SECRET_KEY": "x" * 50, "COVAX_ID_HASH_KEY": "y" * 50}
    assert _settings_in_subprocess(env) == "True True True True"
    assert _settings_in_subprocess({**env, "DJANGO_DEBUG": "1"}) == "False False False False"


class HostileInputTestCase(WorldMixin, TestCase):
    """Odd input is a 404 or an empty answer, never a 500 (PostgreSQL refuses NUL bytes)."""

    def test_it_answers_nul_bytes_and_junk_without_an_error(self):
        session = SessionFactory(centre=self.centre_a, vaccine=self.covishield)
        self.client.force_login(self.staff_a)
        self.assertEqual(self.client.get(f"/sessions/{session.pk}/", {"q": "a\x00b"}).status_code, 200)
        self.assertEqual(self.client.post(f"/sessions/{session.pk}/mark/1234%00/").status_code, 404)
        r = self.client.post(f"/sessions/{session.pk}/verify/", {"id_type": "aadhaar", "id_number": "12\x0034"})
        self.assertEqual(r.status_code, 400)
        self.client.force_login(self.hisar_officer)
        r = self.client.post(f"/sessions/{session.pk}/allocate/", {"action": "why", "reference_id": "\x00"})
        self.assertEqual(r.status_code, 400)
        self.assertEqual(self.client.get("/officer/sessions/", {"week": "2021-02-3\x00"}).status_code, 200)
        self.assertEqual(self.client.get("/officer/reports/", {"date_from": "\x00"}).status_code, 200)
