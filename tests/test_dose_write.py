"""The dose's checked write (services._record_insert: one statement on PostgreSQL,
doses/sql.py record_insert; the ORM in an IMMEDIATE transaction on SQLite) and
services.vaccination_record deciding again when the facts changed.

The rules decide on facts read without a lock; the write writes only if those facts
still hold. These tests change the facts between the read and the write, for real, on
both databases, and check that nothing wrong is written and the answer is the one the
new facts give.
"""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test import TransactionTestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from beneficiaries.models import Beneficiary
from covax.errors import Conflict, RuleBroken
from sessions_app.doses import services
from sessions_app.doses.services import vaccination_record
from sessions_app.models import Allocation, Session, Vaccination
from sessions_app.planning.services import allocation_create
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


def _insert(record: Vaccination, previous: Vaccination | None = None) -> bool:
    with transaction.atomic():  # as services._dose_transaction() on SQLite; PostgreSQL needs none
        return services._record_insert(record, previous=previous)


class CheckedWriteTestCase(ApiTestCase):
    def setUp(self):
        self.person = BeneficiaryFactory(district=self.hisar)
        self.session = session_at(self.centre_a, self.covishield)

    def test_it_writes_nothing_for_a_person_merged_since_the_read(self):
        keep = BeneficiaryFactory(district=self.hisar)
        Beneficiary.objects.filter(pk=self.person.pk).update(merged_into=keep)
        self.assertFalse(_insert(_record(self.person, self.session)))
        self.assertFalse(Vaccination.objects.exists())

    def test_it_writes_nothing_when_the_previous_dose_was_voided_since_the_read(self):
        first = give(self.person, dose=1, vaccine=self.covishield, centre=self.centre_a, days=40)
        Vaccination.objects.filter(pk=first.pk).update(voided_at=timezone.now(), void_reason="wrong person")
        second = session_at(self.centre_a, self.covishield, dose=2)
        self.assertFalse(_insert(_record(self.person, second, dose=2), previous=first))
        self.assertEqual(Vaccination.objects.filter(dose=2).count(), 0)

    def test_it_writes_the_dose_and_moves_the_seats_it_frees(self):
        elsewhere = session_at(self.centre_a2, self.covishield)
        allocation_create(session=elsewhere, reference_ids=[self.person.reference_id])
        record = _record(self.person, self.session)
        self.assertTrue(_insert(record))
        self.assertEqual(Vaccination.objects.get().pk, record.pk)
        self.assertEqual(Allocation.objects.get(session=elsewhere).status, "cancelled")
        self.assertEqual(Session.objects.get(pk=elsewhere.pk).allocated_count, 0)


class DecideAgainTestCase(WorldMixin, TransactionTestCase):
    """Outside a transaction, as the API runs: a person object read before a merge is
    refused by the write, then read again and decided on again."""

    def setUp(self):
        self.setUpTestData()
        self.person = BeneficiaryFactory(district=self.hisar)
        self.session = session_at(self.centre_a, self.covishield)

    def record(self, person, **over):
        fields = {"dose": 1, "vaccine": self.covishield, "centre": self.centre_a, "session": self.session, **over}
        return vaccination_record(beneficiary=person, source="api", **fields)

    def test_it_refuses_a_person_merged_after_they_were_read(self):
        stale = Beneficiary.objects.get(pk=self.person.pk)
        keep = BeneficiaryFactory(district=self.hisar)
        Beneficiary.objects.filter(pk=self.person.pk).update(merged_into=keep)
        with self.assertRaises(RuleBroken) as caught:
            self.record(stale)
        self.assertEqual(caught.exception.code, "beneficiary_merged")
        self.assertIn(keep.reference_id, str(caught.exception.detail))
        self.assertFalse(Vaccination.objects.exists())

    def test_it_answers_409_for_a_dose_recorded_by_another_device(self):
        give(self.person, dose=1, vaccine=self.covishield, centre=self.centre_a2)
        with self.assertRaises(Conflict) as caught:
            self.record(self.person)
        self.assertEqual(caught.exception.code, "already_vaccinated")
        self.assertEqual(Vaccination.objects.count(), 1)

    def test_it_marks_a_dose_through_the_api_in_four_statements(self):
        # The token's user; the references; the person's records; the checked write.
        # On PostgreSQL no BEGIN, no COMMIT, no savepoint (each costs a round trip).
        client = self.client_for(self.staff_a)
        warm = BeneficiaryFactory(district=self.hisar)  # the process's first request does more
        warmed = client.post("/api/v1/vaccinations/", dose_body(warm, self.session), format="json")
        self.assertEqual(warmed.status_code, 201)
        with CaptureQueriesContext(connection) as statements:
            r = client.post("/api/v1/vaccinations/", dose_body(self.person, self.session), format="json")
        self.assertEqual(r.status_code, 201, r.content)
        sql = [q["sql"] for q in statements if not q["sql"].startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"))]
        expected = 4 if connection.vendor == "postgresql" else 7  # SQLite: the ORM's check, insert, release
        self.assertEqual(len(sql), expected, "\n\n".join(sql))
        self.assertEqual(Vaccination.objects.get(beneficiary=self.person).pk, r.json()["id"])


@pytest.mark.postgres
class PlannedReadsTestCase(ApiTestCase):
    """covax/db.py: the dose's reads are parsed and planned once per connection."""

    def test_it_prepares_the_dose_reads_and_nothing_that_writes(self):
        session = session_at(self.centre_a, self.covishield)
        client = self.client_for(self.staff_a)
        for person in [BeneficiaryFactory(district=self.hisar) for _ in range(3)]:
            r = client.post("/api/v1/vaccinations/", dose_body(person, session), format="json")
            self.assertEqual(r.status_code, 201, r.content)
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            prepared = [row[0] for row in cursor.fetchall()]
        self.assertTrue(any("AS staff_district" in s for s in prepared), prepared)  # what a request names
        self.assertTrue(any("authtoken_token" in s for s in prepared), prepared)  # the token's user
        self.assertTrue(any("UNION ALL" in s for s in prepared), prepared)  # the person's records
        self.assertFalse([s for s in prepared if "INSERT" in s or "UPDATE" in s], prepared)
