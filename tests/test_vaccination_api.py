"""POST /api/v1/vaccinations/ with the semantics of SPEC §4, void, and the races of
guard 4 on real PostgreSQL."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection
from django.test import TransactionTestCase
from rest_framework.test import APIClient

from sessions_app.models import Vaccination
from tests.base import ApiTestCase, WorldMixin
from tests.factories import BeneficiaryFactory
from tests.guard import days_ago, dose_body, give, people, session_at


class VaccinationApiTestCase(ApiTestCase):
    def setUp(self):
        self.person = people(1, district=self.hisar)[0]
        self.session = session_at(self.centre_a, self.covishield)
        self.api = self.client_for(self.staff_a)

    def body(self, **over):
        return dose_body(self.person, self.session, **{"lot_number": "4121Z025", **over})

    def post(self, **over):
        return self.api.post("/api/v1/vaccinations/", self.body(**over), format="json")

    def test_it_records_a_dose(self):
        r = self.post()
        self.assertEqual(r.status_code, 201, r.content)
        self.assertEqual(r.json()["beneficiary"], self.person.reference_id)
        self.assertEqual(r.json()["source"], "api")
        self.assertEqual(Vaccination.objects.get().given_by, self.staff_a)

    def test_it_returns_the_same_record_for_a_repeated_client_id(self):
        key = str(uuid.uuid4())
        first = self.post(client_id=key)
        again = self.post(client_id=key)
        self.assertEqual((first.status_code, again.status_code), (201, 200))
        self.assertEqual(first.json()["id"], again.json()["id"])
        self.assertEqual(Vaccination.objects.count(), 1)

    def test_it_refuses_a_second_dose_1_with_the_existing_date_and_centre(self):
        give(self.person, dose=1, vaccine=self.covishield, centre=self.centre_a2, days=2)
        r = self.post()
        self.assertEqual((r.status_code, r.json()["code"]), (409, "already_vaccinated"))
        self.assertIn("Sevak Sabha Hospital", r.json()["detail"])
        self.assertEqual(r.json()["existing"]["centre_name"], "Sevak Sabha Hospital")
        self.assertEqual(r.json()["existing"]["administered_at"][:10], days_ago(2).date().isoformat())

    def test_it_explains_dose_rules_with_422(self):
        dose2 = session_at(self.centre_a, self.covishield, dose=2)
        r = self.post(dose=2, session=dose2.pk)
        self.assertEqual((r.status_code, r.json()["code"]), (422, "previous_dose_missing"))
        give(self.person, dose=1, vaccine=self.covaxin, centre=self.centre_a, days=40)
        r = self.post(dose=2, session=dose2.pk)
        self.assertEqual(r.json()["code"], "vaccine_mismatch")
        Vaccination.objects.update(vaccine=self.covishield, administered_at=days_ago(10))
        r = self.post(dose=2, session=dose2.pk)
        self.assertEqual(r.json()["code"], "dose_not_due")
        self.assertIn("due_on", r.json())

    def test_it_keeps_device_time_and_server_time_apart(self):
        r = self.post(administered_at=days_ago(1).isoformat(), source="offline", client_id=str(uuid.uuid4()))
        record = Vaccination.objects.get(pk=r.json()["id"])
        self.assertEqual(record.source, "offline")
        self.assertGreater((record.received_at - record.administered_at).total_seconds(), 23 * 3600)

    def test_it_refuses_a_time_in_the_future(self):
        import datetime as dt

        from django.utils import timezone

        r = self.post(administered_at=(timezone.now() + dt.timedelta(hours=2)).isoformat())
        self.assertEqual((r.status_code, r.json()["code"]), (422, "administered_in_future"))

    def test_it_refuses_a_session_for_another_vaccine(self):
        r = self.post(session=session_at(self.centre_a, self.covaxin).pk)
        self.assertEqual((r.status_code, r.json()["code"]), (422, "session_mismatch"))

    def test_bad_input_names_the_field(self):
        r = self.post(dose="two", beneficiary="nobody")
        self.assertEqual(r.status_code, 400)
        self.assertEqual(set(r.json()["errors"]), {"dose", "beneficiary"})

    def test_it_shows_a_voided_walk_in_record_with_its_reason(self):
        walk_in = people(1, district=self.hisar)[0]
        created = self.post(beneficiary=walk_in.reference_id, session=None).json()
        self.assertEqual((created["session"], created["voided"], created["voided_at"]), (None, False, None))
        voided = self.api.post(f"/api/v1/vaccinations/{created['id']}/void/", {"reason": "wrong person"}, format="json")
        self.assertEqual(voided.status_code, 200, voided.content)
        shown = self.api.get(f"/api/v1/vaccinations/{created['id']}/").json()
        self.assertEqual((shown["voided"], shown["void_reason"]), (True, "wrong person"))
        self.assertIsNotNone(shown["voided_at"])
        self.assertEqual(shown["beneficiary"], walk_in.reference_id)

    def test_it_names_each_reference_that_names_nothing(self):
        r = self.post(vaccine="SPUTNIK", centre=10**12, session=10**12)
        self.assertEqual(r.status_code, 400)
        self.assertEqual(set(r.json()["errors"]), {"vaccine", "centre", "session"})
        self.assertIn("SPUTNIK", r.json()["errors"]["vaccine"][0])
        r = self.post(beneficiary="12\x0034", centre=2**70)
        self.assertEqual(r.status_code, 400)
        self.assertEqual(set(r.json()["errors"]), {"beneficiary", "centre"})

    def test_it_names_a_missing_reference_in_hindi(self):
        r = self.api.post(
            "/api/v1/vaccinations/", self.body(beneficiary="00000000000000"), format="json", HTTP_ACCEPT_LANGUAGE="hi"
        )
        self.assertEqual(r.status_code, 400)
        self.assertIn("कोई व्यक्ति नहीं", r.json()["errors"]["beneficiary"][0])

    def test_it_answers_a_body_that_is_not_an_object_with_400(self):
        for body in ([None, None], "dose", 7):
            r = self.api.post("/api/v1/vaccinations/", body, format="json")
            self.assertEqual(r.status_code, 400, body)
            self.assertEqual(r.json()["code"], "invalid")
        self.assertEqual(Vaccination.objects.count(), 0)

    def test_it_refuses_a_session_outside_scope_as_one_that_does_not_exist(self):
        other = session_at(self.centre_b, self.covishield)
        r = self.post(session=other.pk)
        self.assertEqual(r.status_code, 400)
        self.assertEqual(set(r.json()["errors"]), {"session"})

    def test_it_releases_the_persons_place_in_another_session(self):
        from sessions_app.models import Allocation, Session
        from sessions_app.planning.services import allocation_create

        elsewhere = session_at(self.centre_a2, self.covishield)
        allocation_create(session=elsewhere, user=self.hisar_officer, reference_ids=[self.person.reference_id])
        self.assertEqual(Session.objects.get(pk=elsewhere.pk).allocated_count, 1)
        self.assertEqual(self.post().status_code, 201)
        self.assertEqual(Session.objects.get(pk=elsewhere.pk).allocated_count, 0)
        self.assertEqual(Allocation.objects.get(session=elsewhere).status, "cancelled")

    def test_staff_cannot_record_at_another_centre_or_for_people_outside_scope(self):
        self.assertEqual(self.post(centre=self.centre_b.pk, session=None).status_code, 400)
        stranger = people(1, district=self.kurukshetra)[0]
        r = self.post(beneficiary=stranger.reference_id)
        self.assertEqual(r.status_code, 400)
        self.assertIn("beneficiary", r.json()["errors"])

    def test_anonymous_callers_get_401(self):
        self.assertEqual(APIClient().post("/api/v1/vaccinations/", self.body(), format="json").status_code, 401)

    def test_it_voids_with_a_reason_and_allows_a_new_record(self):
        record_id = self.post().json()["id"]
        r = self.api.post(f"/api/v1/vaccinations/{record_id}/void/", {}, format="json")
        self.assertEqual(r.status_code, 400)
        r = self.api.post(f"/api/v1/vaccinations/{record_id}/void/", {"reason": "wrong person"}, format="json")
        self.assertEqual(r.status_code, 200)
        self.assertTrue(r.json()["voided"])
        self.assertEqual(self.post().status_code, 201)

    def test_it_lists_doses_in_scope_with_constant_queries(self):
        for p in people(5, district=self.hisar):
            give(p, dose=1, vaccine=self.covishield, centre=self.centre_a)
        give(people(1, district=self.kurukshetra)[0], dose=1, vaccine=self.covishield, centre=self.centre_b)
        self.api.get("/api/v1/vaccinations/")
        with self.assertNumQueries(3):  # token, count, page
            r = self.api.get("/api/v1/vaccinations/")
        self.assertEqual(r.json()["count"], 5)


@pytest.mark.postgres
class ConcurrentMarkingTestCase(WorldMixin, TransactionTestCase):
    """Fifty devices at once, each a thread with its own PostgreSQL connection."""

    def setUp(self):
        self.setUpTestData()
        self.person = BeneficiaryFactory(district=self.hisar)
        self.session = session_at(self.centre_a, self.covishield)

    def storm(self, bodies):
        barrier = threading.Barrier(len(bodies))
        answers = []
        client_token = self.client_for_token()

        def send(body):
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {client_token}")
            barrier.wait()
            try:
                r = client.post("/api/v1/vaccinations/", body, format="json")
                answers.append((r.status_code, r.json().get("code"), r.json().get("id")))
            finally:
                connection.close()

        threads = [threading.Thread(target=send, args=(b,)) for b in bodies]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return answers

    def client_for_token(self):
        from rest_framework.authtoken.models import Token

        return Token.objects.get_or_create(user=self.staff_a)[0].key

    def body(self, **over):
        return {
            "beneficiary": self.person.reference_id,
            "dose": 1,
            "vaccine": "COVISHIELD",
            "centre": self.centre_a.pk,
            "session": self.session.pk,
            **over,
        }

    def test_fifty_devices_marking_one_person_make_one_record(self):
        answers = self.storm([self.body(client_id=str(uuid.uuid4())) for _ in range(50)])
        statuses = sorted(a[0] for a in answers)
        self.assertEqual(statuses, [201] + [409] * 49)
        self.assertEqual({a[1] for a in answers if a[0] == 409}, {"already_vaccinated"})
        self.assertEqual(Vaccination.objects.filter(beneficiary=self.person).count(), 1)

    def test_fifty_repeats_of_one_client_id_make_one_record(self):
        key = str(uuid.uuid4())
        answers = self.storm([self.body(client_id=key) for _ in range(50)])
        self.assertEqual(sorted(a[0] for a in answers), [200] * 49 + [201])
        self.assertEqual(len({a[2] for a in answers}), 1)
        self.assertEqual(Vaccination.objects.count(), 1)
