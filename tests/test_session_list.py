"""The session list never holds anyone who already has the dose, nor anyone not yet due
(SPEC §3 guard 3), and costs a constant number of queries."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sessions_app.doses.services import vaccination_record, vaccination_void
from sessions_app.models import Allocation, Vaccination
from sessions_app.planning.services import allocation_create
from tests.base import ApiTestCase
from tests.factories import BeneficiaryFactory
from tests.guard import give, people, session_at


class SessionListTestCase(ApiTestCase):
    def setUp(self):
        self.session = session_at(self.centre_a, self.covishield, capacity=50)
        self.api = self.client_for(self.staff_a)

    def listed(self, session=None, **params):
        session = session or self.session
        r = self.api.get(f"/api/v1/sessions/{session.pk}/list/", params)
        self.assertEqual(r.status_code, 200, r.content)
        return {row["reference_id"]: row for row in r.json()["results"]}

    def allocate(self, *persons, session=None):
        return allocation_create(session=session or self.session, reference_ids=[p.reference_id for p in persons])

    def test_it_lists_the_spec_fields_and_never_the_full_id(self):
        person = people(1, district=self.hisar)[0]
        self.allocate(person)
        row = self.listed()[person.reference_id]
        self.assertEqual(
            set(row),
            {
                "reference_id",
                "name",
                "gender",
                "birth_year",
                "id_type",
                "id_last4",
                "category",
                "status",
                "vaccinated_at",
            },
        )
        self.assertEqual(row["status"], "due")

    def test_it_marks_people_vaccinated_here(self):
        person = people(1, district=self.hisar)[0]
        self.allocate(person)
        vaccination_record(
            beneficiary=person,
            dose=1,
            vaccine=self.covishield,
            centre=self.centre_a,
            session=self.session,
            source="form",
        )
        self.assertEqual(self.listed()[person.reference_id]["status"], "vaccinated")

    def test_it_shows_a_walk_in_vaccinated_here(self):
        walk_in = people(1, district=self.hisar)[0]
        vaccination_record(
            beneficiary=walk_in,
            dose=1,
            vaccine=self.covishield,
            centre=self.centre_a,
            session=self.session,
            source="form",
        )
        self.assertEqual(self.listed()[walk_in.reference_id]["status"], "vaccinated")

    def test_it_drops_people_vaccinated_anywhere_else_however_recorded(self):
        batch = people(4, district=self.hisar)
        self.allocate(*batch)
        # Written straight to the table (as a back-fill or another writer might), so the
        # allocation stays active: the list itself must still leave them off.
        for person, source in zip(batch[:3], ["form", "offline", "upload"], strict=True):
            give(person, dose=1, vaccine=self.covishield, centre=self.centre_a2, days=0, source=source)
        self.assertEqual(set(self.listed()), {batch[3].reference_id})

    def test_it_brings_a_person_back_when_the_other_dose_is_voided(self):
        person = people(1, district=self.hisar)[0]
        self.allocate(person)
        record = give(person, dose=1, vaccine=self.covishield, centre=self.centre_a2)
        self.assertNotIn(person.reference_id, self.listed())
        vaccination_void(vaccination=record, reason="entered for the wrong person")
        self.assertIn(person.reference_id, self.listed())

    def test_dose_two_lists_only_the_same_vaccine_after_the_interval(self):
        session = session_at(self.centre_a, self.covaxin, dose=2, capacity=10)
        on_time, early, other = people(3, district=self.hisar)
        give(on_time, dose=1, vaccine=self.covaxin, centre=self.centre_a, days=28)
        give(early, dose=1, vaccine=self.covaxin, centre=self.centre_a, days=30)
        give(other, dose=1, vaccine=self.covaxin, centre=self.centre_a, days=30)
        allocation_create(session=session, reference_ids=[p.reference_id for p in (on_time, early, other)])
        # After allocation the facts change: one dose 1 is corrected to a later date,
        # one to another vaccine (as an upload correcting paper records would).
        Vaccination.objects.filter(beneficiary=early).update(administered_at=timezone.now() - dt.timedelta(days=27))
        Vaccination.objects.filter(beneficiary=other).update(vaccine=self.covishield)
        self.assertEqual(set(self.listed(session)), {on_time.reference_id})

    def test_it_never_lists_merged_records(self):
        keep, gone = people(2, district=self.hisar)
        self.allocate(gone)
        gone.merged_into = keep
        gone.save()
        self.assertEqual(self.listed(), {})

    def test_it_searches_by_name_reference_last4_and_mobile(self):
        a = BeneficiaryFactory(district=self.hisar, name="Sunita Sharma", phone="+919812345678")
        b = BeneficiaryFactory(district=self.hisar, name="Ramesh Kumar")
        self.allocate(a, b)
        self.assertEqual(set(self.listed(search="sunita")), {a.reference_id})
        self.assertEqual(set(self.listed(search=a.reference_id)), {a.reference_id})
        self.assertEqual(set(self.listed(search=b.id_last4)), {b.reference_id})
        self.assertEqual(set(self.listed(search="98123 45678")), {a.reference_id})

    def test_it_costs_a_constant_number_of_queries(self):
        def cost(n):
            batch = BeneficiaryFactory.create_batch(n, district=self.hisar)
            session = session_at(self.centre_a, self.covishield, capacity=n)
            Allocation.objects.bulk_create(Allocation(session=session, beneficiary=p, dose=1) for p in batch)
            with CaptureQueriesContext(connection) as ctx:
                rows = self.listed(session, page_size=1000)
            self.assertEqual(len(rows), min(n, 1000))
            return len(ctx.captured_queries)

        self.assertEqual(cost(3), cost(300))

    def test_a_5000_person_list_is_two_queries_after_auth(self):
        batch = BeneficiaryFactory.build_batch(5000, district=self.hisar)
        from beneficiaries.models import Beneficiary

        for i, p in enumerate(batch):
            p.reference_id = f"{20**10 + i:014d}"
            p.phone = f"+9197{i:08d}"
        Beneficiary.objects.bulk_create(batch)
        session = session_at(self.centre_a, self.covishield, capacity=5000)
        Allocation.objects.bulk_create(
            Allocation(session=session, beneficiary_id=pk, dose=1)
            for pk in Beneficiary.objects.filter(district=self.hisar).values_list("pk", flat=True)
        )
        self.api.get(f"/api/v1/sessions/{session.pk}/list/")  # warm the token and session caches
        # token auth, the session (scoped), the list itself
        with self.assertNumQueries(3):
            r = self.api.get(f"/api/v1/sessions/{session.pk}/list/", {"page_size": 1000})
        self.assertEqual(r.json()["count"], 5000)

    def test_staff_of_another_centre_get_404(self):
        r = self.client_for(self.staff_b).get(f"/api/v1/sessions/{self.session.pk}/list/")
        self.assertEqual(r.status_code, 404)
