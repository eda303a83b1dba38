""" "Why is this person (not) on this list?" in words an officer understands (guard 3)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from sessions_app.planning.services import allocation_create
from tests.base import ApiTestCase
from tests.guard import give, people, session_at


class WhyOnListTestCase(ApiTestCase):
    def setUp(self):
        self.session = session_at(self.centre_a2, self.covishield)
        self.api = self.client_for(self.hisar_officer)

    def why(self, person, session=None):
        session = session or self.session
        r = self.api.get(f"/api/v1/sessions/{session.pk}/why/", {"beneficiary": person.reference_id})
        self.assertEqual(r.status_code, 200, r.content)
        return r.json()

    def test_it_names_the_date_and_centre_of_an_earlier_dose(self):
        person = people(1, district=self.hisar)[0]
        allocation_create(session=self.session, reference_ids=[person.reference_id])
        record = give(person, dose=1, vaccine=self.covishield, centre=self.centre_a)
        record.administered_at = timezone.make_aware(dt.datetime(2021, 1, 16, 11, 0))
        record.save()
        answer = self.why(person)
        self.assertEqual((answer["on_list"], answer["code"]), (False, "already_vaccinated"))
        self.assertEqual(answer["detail"], "Not on the list: dose 1 recorded on 16-01-2021 at Jindal Hospital.")

    def test_it_says_when_a_person_is_due_and_allocated(self):
        person = people(1, district=self.hisar)[0]
        allocation_create(session=self.session, reference_ids=[person.reference_id])
        answer = self.why(person)
        self.assertEqual((answer["on_list"], answer["code"]), (True, "due"))
        self.assertIn("due for dose 1", answer["detail"])

    def test_it_names_the_other_session(self):
        person = people(1, district=self.hisar)[0]
        other = session_at(self.centre_a, self.covishield)
        allocation_create(session=other, reference_ids=[person.reference_id])
        answer = self.why(person)
        self.assertEqual(answer["code"], "allocated_elsewhere")
        self.assertIn("Jindal Hospital", answer["detail"])

    def test_it_says_not_allocated(self):
        self.assertEqual(self.why(people(1, district=self.hisar)[0])["code"], "not_allocated")

    def test_it_says_when_dose_two_becomes_due(self):
        session = session_at(self.centre_a2, self.covishield, dose=2)
        person = people(1, district=self.hisar)[0]
        give(person, dose=1, vaccine=self.covishield, centre=self.centre_a, days=40)
        allocation_create(session=session, reference_ids=[person.reference_id])
        give_date = timezone.now() - dt.timedelta(days=5)
        person.vaccinations.update(administered_at=give_date)
        answer = self.why(person, session)
        self.assertEqual(answer["code"], "not_due")
        due = (timezone.localtime(give_date).date() + dt.timedelta(days=28)).strftime("%d-%m-%Y")
        self.assertIn(due, answer["detail"])

    def test_it_answers_in_hindi(self):
        person = people(1, district=self.hisar)[0]
        r = self.api.get(
            f"/api/v1/sessions/{self.session.pk}/why/", {"beneficiary": person.reference_id}, HTTP_ACCEPT_LANGUAGE="hi"
        )
        self.assertEqual(r.json()["code"], "not_allocated")
        self.assertRegex(r.json()["detail"], "[\u0900-\u097f]")

    def test_it_needs_a_person_in_scope(self):
        stranger = people(1, district=self.kurukshetra)[0]
        r = self.api.get(f"/api/v1/sessions/{self.session.pk}/why/", {"beneficiary": stranger.reference_id})
        self.assertEqual(r.status_code, 404)
        r = self.api.get(f"/api/v1/sessions/{self.session.pk}/why/")
        self.assertEqual((r.status_code, r.json()["code"]), (400, "invalid"))
