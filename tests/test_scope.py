"""Roles and scope: outside one's scope is a 404 (or "does not exist"), never the data."""

from __future__ import annotations

from tests.base import ApiTestCase
from tests.factories import BeneficiaryFactory, SessionFactory


class ScopeTestCase(ApiTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.hisar_person = BeneficiaryFactory(district=cls.hisar)
        cls.kkr_person = BeneficiaryFactory(district=cls.kurukshetra)
        cls.session_a = SessionFactory(centre=cls.centre_a, vaccine=cls.covishield)
        cls.session_b = SessionFactory(centre=cls.centre_b, vaccine=cls.covishield)

    def test_it_hides_other_districts_people_from_a_district_officer(self):
        client = self.client_for(self.hisar_officer)
        r = client.get(f"/api/v1/beneficiaries/{self.kkr_person.reference_id}/")
        self.assertEqual(r.status_code, 404)
        self.assertEqual(r.json()["code"], "not_found")
        self.assertNotIn(self.kkr_person.name, r.content.decode())
        r = client.get(f"/api/v1/beneficiaries/{self.hisar_person.reference_id}/")
        self.assertEqual(r.status_code, 200)

    def test_it_lists_only_people_in_scope(self):
        refs = {
            p["reference_id"]
            for p in self.client_for(self.hisar_officer).get("/api/v1/beneficiaries/").json()["results"]
        }
        self.assertEqual(refs, {self.hisar_person.reference_id})
        refs = {
            p["reference_id"]
            for p in self.client_for(self.haryana_admin).get("/api/v1/beneficiaries/").json()["results"]
        }
        self.assertEqual(refs, {self.hisar_person.reference_id, self.kkr_person.reference_id})
        refs = self.client_for(self.bihar_admin).get("/api/v1/beneficiaries/").json()["results"]
        self.assertEqual(refs, [])

    def test_it_refuses_a_centre_in_another_district(self):
        body = {"district": self.kurukshetra.pk, "name": "New PHC", "pincode": "136118"}
        r = self.client_for(self.hisar_officer).post("/api/v1/centres/", body, format="json")
        self.assertEqual(r.status_code, 400)
        self.assertIn("district", r.json()["errors"])
        self.assertFalse(self.kurukshetra.centres.filter(name="New PHC").exists())
        body["district"] = self.hisar.pk
        r = self.client_for(self.hisar_officer).post("/api/v1/centres/", {**body, "pincode": "125001"}, format="json")
        self.assertEqual(r.status_code, 201, r.content)

    def test_it_gives_centre_staff_only_their_centres_sessions(self):
        client = self.client_for(self.staff_a)
        self.assertEqual(client.get(f"/api/v1/sessions/{self.session_b.pk}/").status_code, 404)
        self.assertEqual(client.get(f"/api/v1/sessions/{self.session_a.pk}/").status_code, 200)
        ids = [s["id"] for s in client.get("/api/v1/sessions/").json()["results"]]
        self.assertEqual(ids, [self.session_a.pk])

    def test_it_refuses_writes_a_role_may_not_make(self):
        r = self.client_for(self.staff_a).post(
            "/api/v1/centres/", {"district": self.hisar.pk, "name": "X", "pincode": "125001"}, format="json"
        )
        self.assertEqual(r.status_code, 403)
        self.assertEqual(r.json()["code"], "permission_denied")
        r = self.client_for(self.hisar_officer).post(
            "/api/v1/states/", {"name": "Goa", "name_hi": "गोवा", "code": "GA"}
        )
        self.assertEqual(r.status_code, 403)

    def test_it_requires_authentication(self):
        r = self.client_for(None).get("/api/v1/beneficiaries/")
        self.assertEqual(r.status_code, 401)
        self.assertEqual(set(r.json()), {"code", "detail"})

    def test_it_lets_a_state_admin_create_users_only_in_their_state(self):
        client = self.client_for(self.haryana_admin)
        ok = {
            "username": "hisar2",
            "password": "a-long-pass-phrase-9",
            "role": "district_officer",
            "district": self.hisar.pk,
        }
        self.assertEqual(client.post("/api/v1/users/", ok, format="json").status_code, 201)
        bad = {**ok, "username": "mzp", "district": self.muzaffarpur.pk}
        self.assertEqual(client.post("/api/v1/users/", bad, format="json").status_code, 400)
        up = {**ok, "username": "boss", "role": "state_admin", "state": self.haryana.pk}
        del up["district"]
        self.assertEqual(client.post("/api/v1/users/", up, format="json").status_code, 403)

    def test_it_lists_with_a_constant_number_of_queries(self):
        BeneficiaryFactory.create_batch(20, district=self.hisar)
        client = self.client_for(self.hisar_officer)
        client.get("/api/v1/beneficiaries/")  # warm the token and content types
        # auth token, count, page of people, their doses
        with self.assertNumQueries(4):
            r = client.get("/api/v1/beneficiaries/")
        self.assertEqual(r.json()["count"], 21)


class DoseTargetReachTestCase(ApiTestCase):
    """The dose path resolves what a request names in one hand-written statement
    (sessions_app/doses/sql.py) and decides reach with covax.accounts.scope.Reach: it
    must reach exactly what `scoped()` reaches."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.persons = [BeneficiaryFactory(district=d) for d in (cls.hisar, cls.kurukshetra, cls.muzaffarpur)]
        cls.centres = [cls.centre_a, cls.centre_a2, cls.centre_b, cls.centre_c]
        cls.sessions = [SessionFactory(centre=c, vaccine=cls.covishield) for c in cls.centres]

    def test_it_reaches_what_scoped_reaches_for_every_role(self):
        from beneficiaries.models import Beneficiary
        from covax.accounts.scope import scoped
        from sessions_app.doses.selectors import dose_target
        from sessions_app.models import Centre, Session

        users = [
            self.superuser,
            self.haryana_admin,
            self.bihar_admin,
            self.hisar_officer,
            self.kkr_officer,
            self.staff_a,
            self.staff_a2,
            self.staff_b,
        ]
        for user in users:
            for person, centre, session in zip(self.persons * 2, self.centres, self.sessions, strict=False):
                with self.subTest(user=user.username, person=person.district.name, centre=centre.name):
                    target = dose_target(
                        user=user,
                        reference_id=person.reference_id,
                        centre_id=centre.pk,
                        vaccine_code="COVISHIELD",
                        session_id=session.pk,
                    )
                    expected = (
                        scoped(Beneficiary.objects.filter(pk=person.pk), user).exists(),
                        scoped(Centre.objects.filter(pk=centre.pk), user).exists(),
                        scoped(Session.objects.filter(pk=session.pk), user).exists(),
                    )
                    got = (target.beneficiary is not None, target.centre is not None, target.session is not None)
                    self.assertEqual(got, expected)
                    self.assertEqual(target.vaccine.code, "COVISHIELD")
