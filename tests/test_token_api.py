"""Signing in to the API: a token for a username and password, JSON errors, and a per-address
limit on sign-ins (COVAX_TOKEN_RATE_LIMIT) that answers 429 with Retry-After."""

from __future__ import annotations

from django.core.cache import cache
from django.test import override_settings

from tests.base import ApiTestCase

URL = "/api/v1/auth/token/"
ADDRESS = "192.0.2.44"  # a documentation address: only a cache key here


class TokenApiTestCase(ApiTestCase):
    def setUp(self):
        cache.delete(f"throttle_token_{ADDRESS}")

    def sign_in(self, password, username="hisar_officer"):
        body = {"username": username, "password": password}
        return self.client.post(URL, body, format="json", REMOTE_ADDR=ADDRESS)

    def test_it_gives_a_token_that_opens_the_api(self):
        token = self.sign_in("pw-hisar_officer").json()["token"]
        r = self.client.get("/api/v1/centres/", HTTP_AUTHORIZATION=f"Token {token}")
        self.assertEqual(r.status_code, 200)
        r = self.client.get("/api/v1/centres/", HTTP_AUTHORIZATION="Token not-a-token")
        self.assertEqual((r.status_code, r.json()["code"]), (401, "authentication_failed"))
        self.assertEqual(r["WWW-Authenticate"], "Token")

    @override_settings(COVAX_TOKEN_RATE_LIMIT="3/min")
    def test_it_slows_down_guessing_from_one_address(self):
        for _ in range(3):
            self.assertEqual(self.sign_in("guess", username="nobody").json()["code"], "invalid_credentials")
        r = self.sign_in("pw-hisar_officer")
        self.assertEqual((r.status_code, r.json()["code"]), (429, "throttled"))
        self.assertGreater(int(r["Retry-After"]), 0)
        other = self.client.post(
            URL, {"username": "hisar_officer", "password": "pw-hisar_officer"}, format="json", REMOTE_ADDR="192.0.2.45"
        )
        cache.delete("throttle_token_192.0.2.45")
        self.assertEqual(other.status_code, 200)

    @override_settings(COVAX_TOKEN_RATE_LIMIT="off")
    def test_the_limit_can_be_switched_off(self):
        for n in range(6):
            self.assertEqual(self.sign_in("guess", username=f"nobody{n}").status_code, 400)

    @override_settings(COVAX_TOKEN_RATE_LIMIT="off")
    def test_a_locked_out_account_answers_json_with_retry_after(self):
        for _ in range(5):  # AXES_FAILURE_LIMIT wrong passwords for one username here
            self.sign_in("guess")
        r = self.sign_in("pw-hisar_officer")
        self.assertEqual((r.status_code, r.json()["code"]), (429, "locked_out"))
        self.assertEqual(r["Retry-After"], "1800")
        r = self.client.post(
            URL, {"username": "hisar_officer", "password": "x"}, REMOTE_ADDR=ADDRESS, HTTP_ACCEPT_LANGUAGE="hi"
        )
        self.assertIn("30 मिनट", r.json()["detail"])
        page = self.client.post("/login/", {"username": "hisar_officer", "password": "x"}, REMOTE_ADDR=ADDRESS)
        self.assertEqual(page.status_code, 429)
        self.assertIn("text/html", page["Content-Type"])
