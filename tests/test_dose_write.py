"""The dose's checked write on PostgreSQL (sessions_app/dose_sql.py, services.vaccination_record).

The rules decide on facts read without a lock; the write is one statement that writes
only if those facts still hold. These tests change the facts between the read and the
write, for real, and check that nothing wrong is written and the answer is the one the
new facts give.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test import TransactionTestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from beneficiaries.models import Beneficiary
from covax.errors import Conflict, RuleBroken
from sessions_app import dose_sql, selectors
from sessions_app.models import Allocation, Session, Vaccination
from sessions_app.services import allocation_create, vaccination_record
from tests.base import ApiTestCase, WorldMixin
from tests.factories import BeneficiaryFactory
from tests.guard import dose_body, give, session_at


def _record(person, session, **over) -> Vaccination:
    fields = {
        "beneficiary": person,
        "dose": 1,
        "vaccine": session.vaccine,
        "centre": session.centre,
        "session": session,
        "administered_at": timezone.now(),
        "source": "api",
        **over,
    }
    return Vaccination(**fields)


@pytest.mark.postgres
class CheckedWriteTestCase(ApiTestCase):
    def setUp(self):
        self.person = BeneficiaryFactory(district=self.hisar)
        self.session = session_at(self.centre_a, self.covishield)

    def test_it_writes_nothing_for_a_person_merged_since_the_read(self):
        keep = BeneficiaryFactory(district=self.hisar)
        Beneficiary.objects.filter(pk=self.person.pk).update(merged_into=keep)
        self.assertIsNone(dose_sql.record_insert(_record(self.person, self.session), previous_id=None))
        self.assertFalse(Vaccination.objects.exists())

    def test_it_writes_nothing_when_the_previous_dose_was_voided_since_the_read(self):
        first = give(self.person, dose=1, vaccine=self.covishield, centre=self.centre_a, days=40)
        Vaccination.objects.filter(pk=first.pk).update(voided_at=timezone.now(), void_reason="wrong person")
        second = session_at(self.centre_a, self.covishield, dose=2)
        self.assertIsNone(dose_sql.record_insert(_record(self.person, second, dose=2), previous_id=first.pk))
        self.assertEqual(Vaccination.objects.filter(dose=2).count(), 0)

    def test_it_writes_the_dose_and_moves_the_seats_it_frees_in_one_statement(self):
        elsewhere = session_at(self.centre_a2, self.covishield)
        allocation_create(session=elsewhere, reference_ids=[self.person.reference_id])
        record = _record(self.person, self.session)
        with CaptureQueriesContext(connection) as statements:
            districts = dose_sql.record_insert(record, previous_id=None)
        self.assertEqual(len(statements), 1)
        self.assertEqual(districts, [self.hisar.pk])  # the freed session's, for the public cache
        self.assertEqual(Vaccination.objects.get().pk, record.pk)
        self.assertEqual(Allocation.objects.get(session=elsewhere).status, "cancelled")
        self.assertEqual(Session.objects.get(pk=elsewhere.pk).allocated_count, 0)

    def test_it_reads_the_facts_with_the_target(self):
        give(self.person, dose=1, vaccine=self.covishield, centre=self.centre_a, days=40)
        key = uuid.uuid4()
        target = selectors.dose_target(
            user=self.staff_a,
            reference_id=self.person.reference_id,
            centre_id=self.centre_a.pk,
            vaccine_code="COVISHIELD",
            session_id=self.session.pk,
            dose=2,
            client_id=key,
        )
        read = dose_sql.facts_read(person_id=self.person.pk, dose=2, client_id=key)
        self.assertEqual([r.pk for r in target.facts.records], [r.pk for r in read.records])
        self.assertEqual([r.dose for r in target.facts.records], [1])
        self.assertIsNone(target.facts.merged_into_id)


@pytest.mark.postgres
class DecideAgainTestCase(WorldMixin, TransactionTestCase):
    """Outside a transaction, as the API runs: the facts given are used, then re-read."""

    def setUp(self):
        self.setUpTestData()
        self.person = BeneficiaryFactory(district=self.hisar)
        self.session = session_at(self.centre_a, self.covishield)

    def facts_now(self, dose: int = 1) -> dose_sql.Facts:
        return dose_sql.facts_read(person_id=self.person.pk, dose=dose, client_id=None)

    def record(self, facts, **over):
        fields = {"dose": 1, "vaccine": self.covishield, "centre": self.centre_a, "session": self.session, **over}
        return vaccination_record(beneficiary=self.person, source="api", facts=facts, **fields)

    def test_it_refuses_a_person_merged_after_the_facts_were_read(self):
        stale = self.facts_now()
        keep = BeneficiaryFactory(district=self.hisar)
        Beneficiary.objects.filter(pk=self.person.pk).update(merged_into=keep)
        with self.assertRaises(RuleBroken) as caught:
            self.record(stale)
        self.assertEqual(caught.exception.code, "beneficiary_merged")
        self.assertFalse(Vaccination.objects.exists())

    def test_it_refuses_a_second_dose_whose_first_was_voided_after_the_read(self):
        first = give(self.person, dose=1, vaccine=self.covishield, centre=self.centre_a, days=40)
        stale = self.facts_now(dose=2)
        Vaccination.objects.filter(pk=first.pk).update(voided_at=timezone.now(), void_reason="wrong person")
        second = session_at(self.centre_a, self.covishield, dose=2)
        with self.assertRaises(RuleBroken) as caught:
            self.record(stale, dose=2, session=second)
        self.assertEqual(caught.exception.code, "previous_dose_missing")
        self.assertFalse(Vaccination.objects.filter(dose=2).exists())

    def test_it_answers_409_for_a_dose_recorded_after_the_read(self):
        stale = self.facts_now()
        give(self.person, dose=1, vaccine=self.covishield, centre=self.centre_a2)
        with self.assertRaises(Conflict) as caught:
            self.record(stale)
        self.assertEqual(caught.exception.code, "already_vaccinated")
        self.assertEqual(Vaccination.objects.count(), 1)

    def test_it_marks_a_dose_through_the_api_in_two_statements(self):
        # The token's user with the references and the person's facts; the checked
        # write. No BEGIN, no COMMIT, no savepoint (each costs a round trip).
        client = self.client_for(self.staff_a)
        with CaptureQueriesContext(connection) as statements:
            r = client.post("/api/v1/vaccinations/", dose_body(self.person, self.session), format="json")
        self.assertEqual(r.status_code, 201, r.content)
        self.assertEqual(len(statements), 2, "\n\n".join(q["sql"] for q in statements))
        self.assertEqual(Vaccination.objects.get().pk, r.json()["id"])
