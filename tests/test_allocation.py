"""Allocation to a session: by list or automatically; every skip has a reason; capacity
is never oversold (SPEC §3 Sessions, guard 3)."""

from __future__ import annotations

import threading
from unittest import mock

import pytest
from django.db import connection
from django.test import TransactionTestCase
from django.test.utils import CaptureQueriesContext

from beneficiaries.models import Beneficiary
from sessions_app.models import Allocation, Session
from sessions_app.planning import services
from sessions_app.planning.services import allocation_create, session_update
from tests.base import ApiTestCase, WorldMixin
from tests.factories import BeneficiaryFactory, CentreFactory, DistrictFactory, SessionFactory, VaccineFactory
from tests.guard import give, people, session_at


def crowd(n: int, **fields) -> list[Beneficiary]:
    """n people in one statement, in registration (id) order."""
    return Beneficiary.objects.bulk_create(BeneficiaryFactory.build_batch(n, **fields))


class AllocationTestCase(ApiTestCase):
    def setUp(self):
        self.session = session_at(self.centre_a, self.covishield, capacity=5, categories=["HCW"])
        self.api = self.client_for(self.hisar_officer)
        self.url = f"/api/v1/sessions/{self.session.pk}/allocate/"

    def allocate(self, body, user=None):
        client = self.client_for(user) if user else self.api
        return client.post(self.url, body, format="json")

    def test_it_allocates_by_reference_id(self):
        a, b = people(2, district=self.hisar)
        r = self.allocate({"beneficiaries": [a.reference_id, b.reference_id]})
        self.assertEqual(r.status_code, 200, r.content)
        self.assertEqual(sorted(r.json()["allocated"]), sorted([a.reference_id, b.reference_id]))
        self.session.refresh_from_db()
        self.assertEqual(self.session.allocated_count, 2)

    def test_it_explains_every_skip(self):
        done, elsewhere, flw, old_enough = people(4, district=self.hisar)
        flw.category = "FLW"
        flw.save()
        give(done, dose=1, vaccine=self.covishield, centre=self.centre_a2, days=3)
        other = session_at(self.centre_a2, self.covishield)
        allocation_create(session=other, reference_ids=[elsewhere.reference_id])
        r = self.allocate(
            {"beneficiaries": [done.reference_id, elsewhere.reference_id, flw.reference_id, "99999999999999"]}
        )
        reasons = {s["reference_id"]: s["reason"] for s in r.json()["skipped"]}
        self.assertEqual(
            reasons,
            {
                done.reference_id: "already_vaccinated",
                elsewhere.reference_id: "allocated_elsewhere",
                flw.reference_id: "ineligible",
                "99999999999999": "not_found",
            },
        )
        detail = {s["reference_id"]: s["detail"] for s in r.json()["skipped"]}[done.reference_id]
        self.assertIn("Sevak Sabha Hospital", detail)
        self.assertEqual(r.json()["allocated"], [])
        self.assertEqual(
            r.json()["skipped_count"],
            {"already_vaccinated": 1, "allocated_elsewhere": 1, "ineligible": 1, "not_found": 1},
        )
        self.assertTrue(r.json()["skipped_count_exact"])

    def test_it_skips_people_not_yet_due_for_dose_two(self):
        session = session_at(self.centre_a, self.covishield, dose=2, capacity=5)
        early, due, other_vaccine, none = people(4, district=self.hisar)
        give(early, dose=1, vaccine=self.covishield, centre=self.centre_a, days=10)
        give(due, dose=1, vaccine=self.covishield, centre=self.centre_a, days=28)
        give(other_vaccine, dose=1, vaccine=self.covaxin, centre=self.centre_a, days=40)
        refs = [p.reference_id for p in (early, due, other_vaccine, none)]
        r = self.api.post(f"/api/v1/sessions/{session.pk}/allocate/", {"beneficiaries": refs}, format="json")
        self.assertEqual(r.json()["allocated"], [due.reference_id])
        self.assertEqual({s["reason"] for s in r.json()["skipped"]}, {"not_due"})
        details = " ".join(s["detail"] for s in r.json()["skipped"])
        self.assertIn("is due from", details)
        self.assertIn("must be the same vaccine", details)
        self.assertIn("not recorded", details)

    def test_it_stops_at_capacity_and_says_so(self):
        batch = people(7, district=self.hisar)
        r = self.allocate({"beneficiaries": [p.reference_id for p in batch]})
        self.assertEqual(len(r.json()["allocated"]), 5)
        self.assertEqual([s["reason"] for s in r.json()["skipped"]], ["capacity_full", "capacity_full"])
        self.assertEqual(r.json()["skipped_count"], {"capacity_full": 2})

    def test_it_allocates_automatically_preferred_centre_first(self):
        plain = people(4, district=self.hisar)
        preferred = people(2, district=self.hisar, preferred_centre=self.centre_a)
        people(3, district=self.hisar, category="FLW")  # not in the session's categories
        people(3, district=self.kurukshetra)  # another district
        vaccinated = people(1, district=self.hisar)[0]
        give(vaccinated, dose=1, vaccine=self.covishield, centre=self.centre_a2, days=1)
        r = self.allocate({"auto": True})
        allocated = r.json()["allocated"]
        self.assertEqual(allocated[:2], [p.reference_id for p in preferred])
        self.assertEqual(len(allocated), 5)
        self.assertNotIn(vaccinated.reference_id, allocated)
        self.assertEqual([s["reason"] for s in r.json()["skipped"]], ["capacity_full"])
        self.assertTrue(set(allocated[2:]) < {p.reference_id for p in plain})

    def test_it_auto_allocates_those_who_chose_the_centre_then_in_registration_order(self):
        plain = people(6, district=self.hisar)
        chose = people(2, district=self.hisar, preferred_centre=self.centre_a)
        chose_another = people(1, district=self.hisar, preferred_centre=self.centre_a2)
        r = self.allocate({"auto": True})  # 5 places
        self.assertEqual(r.json()["allocated"], [p.reference_id for p in chose + plain[:3]])
        next_in_line = [p.reference_id for p in plain[3:] + chose_another]
        self.assertEqual([s["reference_id"] for s in r.json()["skipped"]], next_in_line)
        self.assertEqual(r.json()["skipped_count"], {"capacity_full": 4})

    def test_it_auto_allocates_a_person_whose_earlier_list_for_this_dose_was_cancelled(self):
        person = people(1, district=self.hisar)[0]
        first = session_at(self.centre_a2, self.covishield)
        allocation_create(session=first, reference_ids=[person.reference_id])
        give(person, dose=1, vaccine=self.covishield, centre=self.centre_a2, days=30, session=first)
        cancelled = session_at(self.centre_a2, self.covishield, dose=2)
        allocation_create(session=cancelled, reference_ids=[person.reference_id])
        session_update(session=cancelled, status="cancelled")
        # An active allocation for dose 1 and a cancelled one for dose 2: still due for dose 2.
        again = session_at(self.centre_a, self.covishield, dose=2)
        self.assertEqual(allocation_create(session=again, auto=True).allocated, [person.reference_id])

    def auto_in_a_new_district(self, due: int, capacity: int = 10) -> Session:
        district = DistrictFactory(state=self.haryana)
        session = session_at(CentreFactory(district=district), self.covishield, capacity=capacity)
        crowd(due, district=district)
        return session

    def test_it_auto_allocates_with_the_same_queries_for_50_or_500_due(self):
        few, many = self.auto_in_a_new_district(50), self.auto_in_a_new_district(500)
        api = self.client_for(self.haryana_admin)

        def auto(session):
            r = api.post(f"/api/v1/sessions/{session.pk}/allocate/", {"auto": True}, format="json")
            self.assertEqual(r.status_code, 200, r.content)
            return r.json()

        with CaptureQueriesContext(connection) as queries:
            for_few = auto(few)
        with self.assertNumQueries(len(queries)):
            for_many = auto(many)
        self.assertEqual((for_few["allocated_count"], for_many["allocated_count"]), (10, 10))
        self.assertEqual(for_few["skipped_count"], {"capacity_full": 40})
        self.assertEqual(for_many["skipped_count"], {"capacity_full": 490})
        self.assertTrue(for_many["skipped_count_exact"])

    def test_it_reads_only_the_free_places_and_a_margin_of_those_due(self):
        session = self.auto_in_a_new_district(500)
        crowd_ids = list(Beneficiary.objects.filter(district=session.centre.district).order_by("pk"))
        read = 10 + services.auto_margin(10)  # 21: ten places, eleven more in case some are no longer due
        statements = []

        def record(execute, sql, params, many, context):
            statements.append((sql, params))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(record):
            result = allocation_create(session=session, auto=True)
        people_read = [(sql, params) for sql, params in statements if '"beneficiaries_beneficiary"' in sql]
        self.assertEqual(len(people_read), 3, people_read)
        (ordered, _), (counted, _), (locked, lock_params) = people_read
        self.assertIn("UNION ALL", ordered)
        self.assertTrue(ordered.endswith(f"LIMIT {read}"), ordered)  # the first 21 due, in order
        self.assertIn("COUNT(*)", counted)
        self.assertIn(f"LIMIT {read + services.AUTO_COUNT_BOUND}", counted)  # a bounded count, no rows
        self.assertEqual(len(lock_params), read)  # only those are locked and checked
        self.assertEqual(result.allocated, [p.reference_id for p in crowd_ids[:10]])
        self.assertEqual([s.reference_id for s in result.skipped], [p.reference_id for p in crowd_ids[10:read]])
        self.assertEqual(result.skipped_count, {"capacity_full": 490})

    def test_it_answers_counts_per_reason_and_names_only_the_first_few(self):
        people(30, district=self.hisar)
        with mock.patch.object(services, "AUTO_NAMED_SKIPS", 3), mock.patch.object(services, "AUTO_COUNT_BOUND", 5):
            r = self.allocate({"auto": True})  # 5 places: 15 read, then 5 more counted and the count stops
        body = r.json()
        self.assertEqual(set(body), {"allocated", "allocated_count", "skipped_count", "skipped_count_exact", "skipped"})
        self.assertEqual(body["allocated_count"], 5)
        self.assertEqual(body["skipped_count"], {"capacity_full": 15})
        self.assertFalse(body["skipped_count_exact"])  # 15 or more
        self.assertEqual(len(body["skipped"]), 3)
        self.assertEqual(set(body["skipped"][0]), {"reference_id", "reason", "detail"})
        self.assertEqual(body["skipped"][0]["detail"], "The session is full.")

    def test_it_reports_people_found_no_longer_due_under_the_locks(self):
        due = people(3, district=self.hisar)
        done_meanwhile = people(1, district=self.hisar)[0]
        read = services.next_due

        def read_then_dose_recorded(session, n):
            ids = read(session, n)
            give(done_meanwhile, dose=1, vaccine=self.covishield, centre=self.centre_a2)
            return ids

        with mock.patch.object(services, "next_due", read_then_dose_recorded):
            result = allocation_create(session=self.session, auto=True)
        self.assertEqual(result.allocated, [p.reference_id for p in due])
        self.assertEqual(result.skipped_count, {"already_vaccinated": 1})
        self.assertEqual([s.reference_id for s in result.skipped], [done_meanwhile.reference_id])

    def test_it_is_idempotent_for_the_same_list(self):
        a = people(1, district=self.hisar)[0]
        self.allocate({"beneficiaries": [a.reference_id]})
        r = self.allocate({"beneficiaries": [a.reference_id]})
        self.assertEqual(r.json()["skipped"][0]["reason"], "already_allocated")
        self.assertEqual(Allocation.objects.filter(beneficiary=a).count(), 1)

    def test_it_needs_the_allocate_permission_and_scope(self):
        a = people(1, district=self.hisar)[0]
        self.assertEqual(self.allocate({"beneficiaries": [a.reference_id]}, user=self.staff_a).status_code, 403)
        self.assertEqual(self.allocate({"beneficiaries": [a.reference_id]}, user=self.kkr_officer).status_code, 404)

    def test_it_cannot_allocate_people_outside_the_officers_scope(self):
        stranger = people(1, district=self.kurukshetra)[0]
        r = self.allocate({"beneficiaries": [stranger.reference_id]})
        self.assertEqual(r.json()["skipped"][0]["reason"], "not_found")

    def test_it_refuses_a_bad_body_with_a_clear_error(self):
        r = self.allocate({})
        self.assertEqual(r.status_code, 400)
        self.assertIn("auto", r.json()["detail"])

    def test_it_refuses_a_cancelled_session(self):
        Session.objects.filter(pk=self.session.pk).update(status="cancelled")
        r = self.allocate({"auto": True})
        self.assertEqual((r.status_code, r.json()["code"]), (422, "session_closed"))

    def test_a_dose_elsewhere_frees_the_place(self):
        from sessions_app.doses.services import vaccination_record

        a = people(1, district=self.hisar)[0]
        self.allocate({"beneficiaries": [a.reference_id]})
        vaccination_record(beneficiary=a, dose=1, vaccine=self.covishield, centre=self.centre_a2, source="form")
        self.session.refresh_from_db()
        self.assertEqual(self.session.allocated_count, 0)
        self.assertEqual(Allocation.objects.get(beneficiary=a).status, "cancelled")


@pytest.mark.postgres
class ConcurrentAllocationTestCase(WorldMixin, TransactionTestCase):
    """Races on real PostgreSQL: threads, each with its own connection."""

    def setUp(self):
        self.setUpTestData()

    def race(self, calls):
        barrier = threading.Barrier(len(calls))
        results, errors = [], []

        def run(fn):
            try:
                barrier.wait()
                results.append(fn())
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=run, args=(fn,)) for fn in calls]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results, errors

    def test_it_never_oversells_when_allocations_race(self):
        vaccine = VaccineFactory(code="COVISHIELD")
        session = SessionFactory(centre=CentreFactory(district=self.hisar), vaccine=vaccine, capacity=10)
        groups = [BeneficiaryFactory.create_batch(6, district=self.hisar) for _ in range(4)]
        calls = [
            (
                lambda g=g: allocation_create(
                    session=Session.objects.get(pk=session.pk), reference_ids=[p.reference_id for p in g]
                )
            )
            for g in groups
        ]
        results, errors = self.race(calls)
        self.assertEqual(errors, [])
        session.refresh_from_db()
        self.assertEqual(session.allocated_count, 10)
        self.assertEqual(Allocation.objects.filter(session=session, status="active").count(), 10)
        self.assertEqual(sum(len(r.allocated) for r in results), 10)
        self.assertEqual(sum(1 for r in results for s in r.skipped if s.reason == "capacity_full"), 14)

    def test_it_allocates_a_person_to_one_of_two_racing_sessions(self):
        vaccine = VaccineFactory(code="COVISHIELD")
        district = DistrictFactory(state=self.haryana)
        one = SessionFactory(centre=CentreFactory(district=district), vaccine=vaccine)
        two = SessionFactory(centre=CentreFactory(district=district), vaccine=vaccine)
        person = BeneficiaryFactory(district=district)
        calls = [
            (lambda s=s: allocation_create(session=Session.objects.get(pk=s.pk), reference_ids=[person.reference_id]))
            for s in (one, two) * 5
        ]
        results, errors = self.race(calls)
        self.assertEqual(errors, [])
        self.assertEqual(Allocation.objects.filter(beneficiary=person, status="active").count(), 1)
        self.assertEqual(sum(len(r.allocated) for r in results), 1)
        reasons = sorted(s.reason for r in results for s in r.skipped)
        self.assertEqual(set(reasons), {"allocated_elsewhere", "already_allocated"})
        one.refresh_from_db()
        two.refresh_from_db()
        self.assertEqual(one.allocated_count + two.allocated_count, 1)
