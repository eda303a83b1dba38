"""User management by admins within their scope (SPEC §2, §4)."""

from __future__ import annotations

from rest_framework.authtoken.models import Token

from tests.base import ApiTestCase


class UserApiTestCase(ApiTestCase):
    def test_a_district_officer_switches_off_their_centre_staff(self):
        token = Token.objects.create(user=self.staff_a)
        api = self.client_for(self.hisar_officer)
        r = api.patch(f"/api/v1/users/{self.staff_a.pk}/", {"is_active": False}, format="json")
        self.assertEqual((r.status_code, r.json()["is_active"]), (200, False))
        self.assertFalse(Token.objects.filter(key=token.key).exists())
        stale = self.client.get("/api/v1/sessions/", HTTP_AUTHORIZATION=f"Token {token.key}")
        self.assertEqual(stale.status_code, 401)
        r = api.patch(f"/api/v1/users/{self.staff_a.pk}/", {"is_active": True}, format="json")
        self.assertTrue(r.json()["is_active"])

    def test_it_cannot_reach_users_outside_scope_or_above_ones_role(self):
        api = self.client_for(self.hisar_officer)
        self.assertEqual(api.patch(f"/api/v1/users/{self.staff_b.pk}/", {"is_active": False}).status_code, 404)
        r = self.client_for(self.haryana_admin).patch(f"/api/v1/users/{self.bihar_admin.pk}/", {"is_active": False})
        self.assertEqual(r.status_code, 404)
        r = self.client_for(self.haryana_admin).patch(f"/api/v1/users/{self.haryana_admin.pk}/", {"is_active": False})
        self.assertEqual((r.status_code, r.json()["code"]), (400, "cannot_change_self"))

    def test_centre_staff_cannot_manage_users(self):
        r = self.client_for(self.staff_a).patch(f"/api/v1/users/{self.staff_a2.pk}/", {"is_active": False})
        self.assertEqual(r.status_code, 403)

    def test_it_lists_users_in_scope_with_constant_queries(self):
        api = self.client_for(self.haryana_admin)
        api.get("/api/v1/users/")
        with self.assertNumQueries(3):
            r = api.get("/api/v1/users/")
        names = {u["username"] for u in r.json()["results"]}
        self.assertIn("staff_b", names)
        self.assertNotIn("bihar_admin", names)
