"""The database holds the invariants even when a service check is bypassed."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import TestCase, TransactionTestCase
from django.utils import timezone

from beneficiaries.models import Beneficiary
from covax.accounts.models import Role, User
from sessions_app.models import Allocation, Centre, Session, Vaccination
from tests.factories import BeneficiaryFactory, CentreFactory, SessionFactory, VaccineFactory


def dose_row(person, centre, vaccine, **over) -> Vaccination:
    fields = dict(
        beneficiary=person, dose=1, vaccine=vaccine, centre=centre, administered_at=timezone.now(), source="api"
    )
    fields.update(over)
    return Vaccination(**fields)


class ConstraintTestCase(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.centre = CentreFactory()
        cls.vaccine = VaccineFactory()
        cls.person = BeneficiaryFactory(district=cls.centre.district)

    def assertRefused(self, make):
        with self.assertRaises(IntegrityError), transaction.atomic():
            make()

    def test_it_allows_one_beneficiary_per_identity(self):
        twin = Beneficiary(**{f.attname: getattr(self.person, f.attname) for f in Beneficiary._meta.concrete_fields})
        twin.pk, twin.reference_id = None, "12345678901234"
        self.assertRefused(twin.save)

    def test_it_allows_one_live_dose_per_person_and_dose_number(self):
        dose_row(self.person, self.centre, self.vaccine).save()
        self.assertRefused(lambda: dose_row(self.person, self.centre, self.vaccine).save())

    def test_it_allows_a_new_dose_once_the_old_one_is_voided(self):
        first = dose_row(self.person, self.centre, self.vaccine)
        first.save()
        first.voided_at, first.void_reason = timezone.now(), "wrong person"
        first.save()
        dose_row(self.person, self.centre, self.vaccine).save()
        self.assertEqual(Vaccination.objects.filter(beneficiary=self.person).count(), 2)

    def test_it_needs_a_reason_to_void(self):
        row = dose_row(self.person, self.centre, self.vaccine)
        row.save()
        row.voided_at = timezone.now()
        self.assertRefused(row.save)

    def test_it_refuses_a_reused_idempotency_key(self):
        import uuid

        key = uuid.uuid4()
        dose_row(self.person, self.centre, self.vaccine, client_id=key).save()
        other = BeneficiaryFactory(district=self.centre.district)
        self.assertRefused(lambda: dose_row(other, self.centre, self.vaccine, client_id=key).save())

    def test_it_never_oversells_a_session(self):
        session = SessionFactory(centre=self.centre, vaccine=self.vaccine, capacity=1)
        Session.objects.filter(pk=session.pk).update(allocated_count=1)
        self.assertRefused(lambda: Session.objects.filter(pk=session.pk).update(allocated_count=2))

    def test_it_allows_one_active_allocation_per_dose(self):
        s1 = SessionFactory(centre=self.centre, vaccine=self.vaccine)
        s2 = SessionFactory(centre=self.centre, vaccine=self.vaccine, date=timezone.localdate() + dt.timedelta(days=1))
        Allocation.objects.create(session=s1, beneficiary=self.person, dose=1)
        self.assertRefused(lambda: Allocation.objects.create(session=s2, beneficiary=self.person, dose=1))
        Allocation.objects.filter(session=s1).update(status="cancelled")
        Allocation.objects.create(session=s2, beneficiary=self.person, dose=1)

    def test_it_refuses_a_bad_pincode_and_opening_hours(self):
        self.assertRefused(lambda: CentreFactory(district=self.centre.district, pincode="12345"))
        self.assertRefused(lambda: CentreFactory(district=self.centre.district, opens=dt.time(17), closes=dt.time(9)))
        self.assertEqual(Centre.objects.count(), 1)

    def test_it_ties_each_role_to_its_place(self):
        self.assertRefused(lambda: User.objects.create(username="x", role=Role.CENTRE_STAFF))
        self.assertRefused(lambda: User.objects.create(username="y", role=Role.DISTRICT_OFFICER, centre=self.centre))


@pytest.mark.postgres
class ConcurrentDoseTestCase(TransactionTestCase):
    """Two connections insert dose 1 for one person at the same moment, with no service
    in between: PostgreSQL's unique index lets exactly one through."""

    def test_it_keeps_exactly_one_of_two_concurrent_inserts(self):
        centre = CentreFactory()
        vaccine = VaccineFactory()
        person = BeneficiaryFactory(district=centre.district)
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def insert():
            try:
                with transaction.atomic():
                    row = dose_row(person, centre, vaccine)
                    barrier.wait(timeout=10)
                    row.save()
                outcomes.append("ok")
            except IntegrityError:
                outcomes.append("refused")
            finally:
                connection.close()

        threads = [threading.Thread(target=insert) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(outcomes), ["ok", "refused"])
        self.assertEqual(Vaccination.objects.filter(beneficiary=person).count(), 1)
