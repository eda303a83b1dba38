"""User management by admins within their scope (SPEC §2, §4).

Who creates whom: a superuser creates state admins (and below); a state admin creates
district officers and centre staff in their state; a district officer creates centre
staff for their own district's centres (SPEC §1 (c): the district fixes its own data);
centre staff create nobody. A place outside the creator's scope is "does not exist"."""

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

    def create(self, client, **body):
        body = {"username": "new_user", "password": "a-long-pass-phrase-9", **body}
        return client.post("/api/v1/users/", body, format="json")

    def test_a_state_admin_creates_officers_and_staff_only_in_their_state(self):
        api = self.client_for(self.haryana_admin)
        r = self.create(api, username="hisar2", role="district_officer", district=self.hisar.pk)
        self.assertEqual(r.status_code, 201, r.content)
        self.assertEqual(
            {k: r.json()[k] for k in ("username", "role", "district", "state", "centre", "is_active")},
            {
                "username": "hisar2",
                "role": "district_officer",
                "district": self.hisar.pk,
                "state": None,
                "centre": None,
                "is_active": True,
            },
        )
        self.assertNotIn("password", r.json())
        r = self.create(api, username="lnjp2", role="centre_staff", centre=self.centre_b.pk)
        self.assertEqual(r.status_code, 201, r.content)
        r = self.create(api, username="mzp", role="district_officer", district=self.muzaffarpur.pk)
        self.assertEqual((r.status_code, r.json()["code"], list(r.json()["errors"])), (400, "invalid", ["district"]))
        r = self.create(api, username="skmch", role="centre_staff", centre=self.centre_c.pk)
        self.assertEqual((r.status_code, list(r.json()["errors"])), (400, ["centre"]))
        r = self.create(api, username="boss", role="state_admin", state=self.haryana.pk)
        self.assertEqual((r.status_code, r.json()["code"]), (403, "permission_denied"))

    def test_a_district_officer_creates_centre_staff_only_for_their_districts_centres(self):
        api = self.client_for(self.hisar_officer)
        r = self.create(api, username="jindal2", role="centre_staff", centre=self.centre_a.pk)
        self.assertEqual(r.status_code, 201, r.content)
        r = self.create(api, username="lnjp3", role="centre_staff", centre=self.centre_b.pk)
        self.assertEqual((r.status_code, list(r.json()["errors"])), (400, ["centre"]))
        r = self.create(api, username="hisar3", role="district_officer", district=self.hisar.pk)
        self.assertEqual((r.status_code, r.json()["code"]), (403, "permission_denied"))
        r = self.create(self.client_for(self.staff_a), role="centre_staff", centre=self.centre_a.pk)
        self.assertEqual((r.status_code, r.json()["code"]), (403, "permission_denied"))

    def test_it_wants_exactly_the_place_of_the_role(self):
        api = self.client_for(self.haryana_admin)
        r = self.create(api, role="district_officer")
        self.assertEqual((r.status_code, list(r.json()["errors"])), (400, ["district"]))
        r = self.create(api, role="district_officer", district=self.hisar.pk, centre=self.centre_a.pk)
        self.assertEqual((r.status_code, list(r.json()["errors"])), (400, ["centre"]))
        self.assertIn("leave this out", r.json()["detail"])

    def test_it_names_a_taken_username_and_a_weak_password(self):
        api = self.client_for(self.haryana_admin)
        r = self.create(api, username="staff_b", role="centre_staff", centre=self.centre_b.pk)
        self.assertEqual((r.status_code, list(r.json()["errors"])), (400, ["username"]))
        r = self.create(api, password="123", role="centre_staff", centre=self.centre_b.pk)
        self.assertEqual((r.status_code, r.json()["field"]), (400, "password"))

    def test_a_new_user_signs_in_and_sees_only_their_scope(self):
        self.create(
            self.client_for(self.hisar_officer), username="jindal9", role="centre_staff", centre=self.centre_a.pk
        )
        token = self.client.post(
            "/api/v1/auth/token/", {"username": "jindal9", "password": "a-long-pass-phrase-9"}, format="json"
        ).json()["token"]
        r = self.client.get("/api/v1/centres/", HTTP_AUTHORIZATION=f"Token {token}")
        self.assertEqual([c["id"] for c in r.json()["results"]], [self.centre_a.pk])

    def test_it_filters_and_orders_users(self):
        api = self.client_for(self.haryana_admin)
        r = api.get("/api/v1/users/", {"role": "centre_staff", "ordering": "-username"}).json()
        self.assertEqual([u["username"] for u in r["results"]], ["staff_b", "staff_a2", "staff_a"])
        r = api.get("/api/v1/users/", {"district": self.kurukshetra.pk}).json()
        self.assertEqual([u["username"] for u in r["results"]], ["kkr_officer"])
        r = api.get("/api/v1/users/", {"district": self.muzaffarpur.pk})
        self.assertEqual((r.status_code, list(r.json()["errors"])), (400, ["district"]))

    def test_it_lists_users_in_scope_with_constant_queries(self):
        api = self.client_for(self.haryana_admin)
        api.get("/api/v1/users/")
        with self.assertNumQueries(3):
            r = api.get("/api/v1/users/")
        names = {u["username"] for u in r.json()["results"]}
        self.assertIn("staff_b", names)
        self.assertNotIn("bihar_admin", names)
        for n in range(8):
            self.make_user(f"lnjp_{n}", "centre_staff", centre=self.centre_b)
        with self.assertNumQueries(3):  # token, count, page: the same for 14 users as for 6
            self.assertEqual(api.get("/api/v1/users/").json()["count"], 14)
