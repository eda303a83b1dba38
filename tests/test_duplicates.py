"""Probable duplicates (SPEC §3 guard 2): detection with blocking, review, merge with
conflicts chosen by the officer, exact undo, distinct, scope, audit and concurrency."""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
import threading
import time

import pytest
from django.apps import apps
from django.db import close_old_connections, connection
from django.test import TransactionTestCase
from django.utils import timezone

from beneficiaries import duplicates as dup
from beneficiaries.duplicates import DetectionStats, Person, duplicates_detect, duplicates_find
from beneficiaries.merge import duplicate_mark_distinct, duplicate_merge, duplicate_reopen, duplicate_unmerge
from beneficiaries.models import Beneficiary, CandidateStatus, DuplicateCandidate
from beneficiaries.tasks_duplicates import duplicates_scan_task
from covax.errors import Conflict
from sessions_app.doses.services import vaccination_record, vaccination_void
from sessions_app.models import Allocation, Session, Vaccination
from tests.base import ApiTestCase, WorldMixin
from tests.factories import BeneficiaryFactory, SessionFactory, aadhaar_number

LONG_AGO = timezone.now() - dt.timedelta(days=60)


def person(district, name, *, year=1985, phone=None, gender="F", **kw):
    extra = {"phone": phone} if phone else {}
    return BeneficiaryFactory(district=district, name=name, birth_year=year, gender=gender, **extra, **kw)


def allocate(person_, session):
    """Set-up shortcut (the allocation service is another feature): an active allocation
    with the session's count kept in step, as that service does."""
    Session.objects.filter(pk=session.pk).update(allocated_count=session.allocated_count + 1)
    session.refresh_from_db()
    return Allocation.objects.create(session=session, beneficiary=person_, dose=session.dose)


def dose(person_, n, centre, vaccine, when=LONG_AGO):
    return vaccination_record(
        beneficiary=person_, dose=n, vaccine=vaccine, centre=centre, source="form", administered_at=when
    )[0]


def candidate_for(a, b) -> DuplicateCandidate:
    first, second = sorted([a.pk, b.pk])
    return DuplicateCandidate.objects.get(first_id=first, second_id=second)


def snapshot(*people):
    """Everything a merge may touch, to compare before a merge and after its undo."""
    ids = [p.pk for p in people]
    doses = Vaccination.objects.filter(beneficiary__in=ids) | Vaccination.objects.filter(
        pk__in=Vaccination.objects.filter(beneficiary__merged_into__in=ids).values("pk")
    )
    allocs = Allocation.objects.filter(beneficiary__in=ids)
    return {
        "people": sorted(Beneficiary.objects.filter(pk__in=ids).values_list("pk", "merged_into_id")),
        "doses": sorted(doses.values_list("pk", "beneficiary_id", "dose", "voided_at", "voided_by_id", "void_reason")),
        "allocations": sorted(allocs.values_list("pk", "beneficiary_id", "dose", "status")),
        "sessions": sorted(Session.objects.values_list("pk", "allocated_count")),
    }


class DetectionTestCase(ApiTestCase):
    def test_it_flags_a_devanagari_and_a_latin_spelling_of_one_person(self):
        hindi = person(self.hisar, "सुनीता शर्मा")
        latin = person(self.hisar, "Sunita Sharma")
        person(self.hisar, "Rakesh Yadav")
        self.assertEqual(duplicates_detect(district_id=self.hisar.pk), 1)
        pair = candidate_for(hindi, latin)
        self.assertEqual(pair.reasons, ["similar_name", "same_birth_year"])
        self.assertGreaterEqual(pair.score, 80)
        self.assertEqual(pair.status, CandidateStatus.OPEN)

    def test_it_flags_spelling_variants_and_reordered_names(self):
        pairs = [
            ("Suneeta Sarma", "Sunita Sharma"),
            ("Sharma Sunita", "सुनीता शर्मा"),
            ("Laxmi Devi", "लक्ष्मी देवी"),
            ("Krishna Kumar", "कृष्ण कुमार"),
            ("Mahendra Singh", "महेन्द्र सिंह"),
        ]
        made = [
            (person(self.hisar, a, year=1960 + i), person(self.hisar, b, year=1960 + i))
            for i, (a, b) in enumerate(pairs)
        ]
        self.assertEqual(duplicates_detect(district_id=self.hisar.pk), len(pairs))
        for a, b in made:
            self.assertIn("similar_name", candidate_for(a, b).reasons, (a.name, b.name))

    def test_it_flags_the_same_name_on_the_same_mobile_across_birth_years(self):
        a = person(self.hisar, "Ramesh Kumar", year=1970, phone="+919812345678", gender="M")
        b = person(self.hisar, "रमेश कुमार", year=1971, phone="+919812345678", gender="M")
        duplicates_detect(district_id=self.hisar.pk)
        self.assertEqual(candidate_for(a, b).reasons, ["similar_name", "same_phone"])

    def test_it_does_not_flag_the_same_name_with_another_birth_year_and_mobile(self):
        person(self.hisar, "Sunita Sharma", year=1985)
        person(self.hisar, "सुनीता शर्मा", year=1990)
        self.assertEqual(duplicates_detect(district_id=self.hisar.pk), 0)
        self.assertFalse(DuplicateCandidate.objects.exists())

    def test_it_does_not_flag_a_family_sharing_a_mobile(self):
        person(self.hisar, "Ramesh Kumar", year=1975, phone="+919812345678", gender="M")
        person(self.hisar, "Sita Devi", year=1975, phone="+919812345678", gender="F")
        person(self.hisar, "Ankit Kumar", year=2001, phone="+919812345678", gender="M")
        self.assertEqual(duplicates_detect(district_id=self.hisar.pk), 0)

    def test_it_only_pairs_people_of_the_same_district(self):
        person(self.hisar, "Sunita Sharma")
        person(self.kurukshetra, "Sunita Sharma")
        self.assertEqual(duplicates_detect(district_id=self.hisar.pk), 0)
        self.assertEqual(duplicates_detect(district_id=self.kurukshetra.pk), 0)

    def test_it_flags_a_pair_once_and_never_reopens_a_decision(self):
        a, b = person(self.hisar, "Sunita Sharma"), person(self.hisar, "सुनीता शर्मा")
        self.assertEqual(duplicates_detect(district_id=self.hisar.pk), 1)
        self.assertEqual(duplicates_detect(district_id=self.hisar.pk), 0)
        duplicate_mark_distinct(candidate=candidate_for(a, b), user=self.hisar_officer, note="sisters-in-law")
        self.assertEqual(duplicates_detect(district_id=self.hisar.pk), 0)
        self.assertEqual(DuplicateCandidate.objects.get().status, CandidateStatus.DISTINCT)

    def test_it_leaves_merged_people_out(self):
        a, b = person(self.hisar, "Sunita Sharma"), person(self.hisar, "सुनीता शर्मा")
        duplicates_detect(district_id=self.hisar.pk)
        duplicate_merge(candidate=candidate_for(a, b), keep=a, user=self.hisar_officer)
        c = person(self.hisar, "Sunita Sarma")
        self.assertEqual(duplicates_detect(district_id=self.hisar.pk), 1)
        self.assertTrue(DuplicateCandidate.objects.filter(first=a, second=c).exists())
        self.assertFalse(DuplicateCandidate.objects.filter(second=c).exclude(first=a).exists())

    def test_it_scans_only_the_pairs_of_the_people_named(self):
        a, b = person(self.hisar, "Sunita Sharma"), person(self.hisar, "सुनीता शर्मा")
        _c, d = (
            person(self.hisar, "Anil Chaudhary", year=1970, gender="M"),
            person(self.hisar, "अनिल चौधरी", year=1970, gender="M"),
        )
        self.assertEqual(duplicates_detect(district_id=self.hisar.pk, beneficiary_ids=[d.pk]), 1)
        self.assertEqual(DuplicateCandidate.objects.get().second_id, d.pk)
        self.assertEqual(duplicates_detect(district_id=self.hisar.pk), 1)
        candidate_for(a, b)

    def test_it_runs_as_a_task_queued_on_commit(self):
        a, b = person(self.hisar, "Sunita Sharma"), person(self.hisar, "सुनीता शर्मा")
        with self.captureOnCommitCallbacks() as queued:
            r = self.client_for(self.hisar_officer).post("/api/v1/duplicates/scan/", {}, format="json")
        self.assertEqual(r.status_code, 202, r.content)
        self.assertEqual(r.json(), {"queued": True, "district": self.hisar.pk})
        self.assertEqual(len(queued), 1)
        self.assertEqual(duplicates_scan_task.apply(args=(self.hisar.pk,)).get(), 1)
        candidate_for(a, b)


def synthetic(n: int, seed: int = 1) -> list[Person]:
    """n people with varied Indian names, birth years and mobiles (no duplicates)."""
    rng = random.Random(seed)
    given = [
        f"{a}{b}"
        for a in ("ra", "su", "an", "pri", "ka", "ma", "vi", "de", "sa", "ja")
        for b in ("mesh", "nita", "il", "ya", "mla", "noj", "jay", "epak", "njay", "ya")
    ]
    family = ["kumar", "devi", "singh", "sharma", "yadav", "verma", "gupta", "jain", "rani", "chaudhary"]
    return [
        dup._person(i, f"{rng.choice(given)} {rng.choice(family)}", rng.randint(1940, 2003), f"+9198{i:08d}", "F")
        for i in range(1, n + 1)
    ]


class BlockingTestCase(ApiTestCase):
    def test_it_compares_a_number_of_pairs_that_grows_linearly_not_all_pairs(self):
        per_person = {}
        for n in (2000, 8000, 32000):
            people, stats = synthetic(n), DetectionStats()
            duplicates_find(people=people, stats=stats)
            # Each person is in one phone block, one block per name token and one for the
            # whole name, and costs at most WINDOW comparisons in each.
            blocks_per_person = max(len(p.codes) for p in people) + 2
            self.assertLessEqual(stats.compared, n * blocks_per_person * dup.WINDOW)
            self.assertLess(stats.compared, n * (n - 1) / 2 / 50)
            per_person[n] = stats.compared / n
        # All pairs would cost 4× more per person for 4× the people; blocks reaching their
        # cap keep the growth well below that, and it stops at the bound above.
        self.assertLess(per_person[32000], per_person[8000] * 2, per_person)

    def test_it_compares_a_huge_block_through_a_window(self):
        # A dummy mobile shared by 5,000 people would be 12.5 million pairs.
        people = [dup._person(i, f"Person {i:05d}", 1980, "+919999999999", "F") for i in range(5000)]
        stats = DetectionStats()
        duplicates_find(people=people, stats=stats)
        self.assertLessEqual(stats.compared, 5000 * (dup.WINDOW + 1) * 3)

    def test_it_still_finds_planted_duplicates_among_many(self):
        people = synthetic(5000, seed=3)
        planted = [
            dup._person(10_001, "सुनीता शर्मा", people[0].birth_year, "+919000000001", "F"),
            dup._person(10_002, people[1].latin.title(), people[1].birth_year, "+919000000002", "F"),
        ]
        people[0] = dup._person(1, "Sunita Sharma", people[0].birth_year, people[0].phone, "F")
        found = duplicates_find(people=people + planted)
        self.assertIn((1, 10_001), found)
        self.assertIn((2, 10_002), found)


class MergeTestCase(ApiTestCase):
    def setUp(self):
        self.a = person(self.hisar, "Sunita Sharma")
        self.b = person(self.hisar, "सुनीता शर्मा")
        duplicates_detect(district_id=self.hisar.pk)
        self.pair = candidate_for(self.a, self.b)
        self.api = self.client_for(self.hisar_officer)
        self.url = f"/api/v1/duplicates/{self.pair.pk}/"

    def session(self, dose_=1, centre=None, capacity=10):
        return SessionFactory(centre=centre or self.centre_a, vaccine=self.covishield, dose=dose_, capacity=capacity)

    def merge(self, keep, **body):
        return self.api.post(self.url + "merge/", {"keep": keep.reference_id, **body}, format="json")

    def test_it_moves_doses_and_allocations_to_the_person_kept(self):
        first = dose(self.b, 1, self.centre_a, self.covishield)
        s2 = self.session(dose_=2)
        allocation = allocate(self.b, s2)
        r = self.merge(self.a, note="same Aadhaar holder, two registrations")
        self.assertEqual(r.status_code, 200, r.content)
        self.assertEqual(r.json()["status"], "merged")
        first.refresh_from_db()
        allocation.refresh_from_db()
        self.assertEqual((first.beneficiary_id, first.voided_at), (self.a.pk, None))
        self.assertEqual((allocation.beneficiary_id, allocation.status), (self.a.pk, "active"))
        self.b.refresh_from_db()
        self.assertEqual(self.b.merged_into_id, self.a.pk)
        s2.refresh_from_db()
        self.assertEqual(s2.allocated_count, 1)
        self.pair.refresh_from_db()
        self.assertEqual(self.pair.decided_by, self.hisar_officer)
        self.assertEqual(self.pair.merge_record["vaccinations_moved"], [first.pk])
        # The merged person stays (the identity key stays taken) but takes no new dose.
        with self.assertRaises(Exception) as refused:
            dose(self.b, 2, self.centre_a, self.covishield, when=timezone.now())
        self.assertEqual(refused.exception.code, "beneficiary_merged")

    def test_it_shows_two_dose_1_records_and_merges_only_with_the_officers_choice(self):
        mine = dose(self.a, 1, self.centre_a, self.covishield)
        theirs = dose(self.b, 1, self.centre_a2, self.covishield, when=LONG_AGO + dt.timedelta(hours=3))
        r = self.merge(self.a)
        self.assertEqual(r.status_code, 409, r.content)
        body = r.json()
        self.assertEqual(body["code"], "merge_conflict")
        [conflict] = body["conflicts"]
        self.assertEqual((conflict["kind"], conflict["dose"]), ("vaccination", 1))
        self.assertEqual({rec["id"] for rec in conflict["records"]}, {mine.pk, theirs.pk})
        self.assertEqual(
            {rec["centre_name"] for rec in conflict["records"]}, {"Jindal Hospital", "Sevak Sabha Hospital"}
        )
        self.assertIsNone(Beneficiary.objects.get(pk=self.b.pk).merged_into_id, "nothing moved")

        r = self.merge(self.a, resolutions={"vaccinations": {"1": {"void": theirs.pk, "reason": ""}}})
        self.assertEqual((r.status_code, r.json()["code"]), (400, "reason_required"))
        r = self.merge(self.a, resolutions={"vaccinations": {"1": {"void": 999999, "reason": "x"}}})
        self.assertEqual((r.status_code, r.json()["code"]), (400, "invalid_resolution"))

        reason = "registered twice, vaccinated once; Sevak Sabha entry is the copy"
        r = self.merge(self.a, resolutions={"vaccinations": {"1": {"void": theirs.pk, "reason": reason}}})
        self.assertEqual(r.status_code, 200, r.content)
        theirs.refresh_from_db()
        self.assertEqual(theirs.void_reason, reason)
        self.assertIsNotNone(theirs.voided_at)
        self.assertEqual(
            list(Vaccination.objects.live().values_list("pk", "beneficiary")),
            [(mine.pk, self.a.pk)],
        )
        self.assertTrue(Vaccination.objects.filter(pk=theirs.pk).exists(), "never dropped")

    def test_it_shows_two_allocations_for_one_dose_and_cancels_the_chosen_one(self):
        s1, s1b = self.session(), self.session(centre=self.centre_a2)
        mine, theirs = allocate(self.a, s1), allocate(self.b, s1b)
        r = self.merge(self.b)
        self.assertEqual(r.status_code, 409)
        [conflict] = r.json()["conflicts"]
        self.assertEqual(conflict["kind"], "allocation")
        self.assertEqual({rec["id"] for rec in conflict["records"]}, {mine.pk, theirs.pk})
        r = self.merge(self.b, resolutions={"allocations": {"1": {"cancel": mine.pk}}})
        self.assertEqual(r.status_code, 200, r.content)
        mine.refresh_from_db()
        theirs.refresh_from_db()
        self.assertEqual((mine.status, theirs.status, theirs.beneficiary_id), ("cancelled", "active", self.b.pk))
        s1.refresh_from_db()
        self.assertEqual(s1.allocated_count, 0, "the freed place can be allocated again")

    def test_it_never_leaves_the_kept_person_on_a_list_for_a_dose_the_merged_one_had(self):
        s1 = self.session()
        allocate(self.a, s1)
        dose(self.b, 1, self.centre_b, self.covishield)
        r = self.merge(self.a)
        self.assertEqual(r.status_code, 200, r.content)
        on_list = Allocation.objects.filter(session=s1, status="active").values_list("beneficiary", flat=True)
        self.assertNotIn(self.a.pk, list(on_list))
        self.assertTrue(Vaccination.objects.live().filter(beneficiary=self.a, dose=1).exists())
        s1.refresh_from_db()
        self.assertEqual(s1.allocated_count, 0)
        self.assertEqual(len(r.json()["merge_record"]["allocations_already_given"]), 1)

    def test_it_undoes_a_merge_exactly(self):
        mine = dose(self.a, 1, self.centre_a, self.covishield)
        theirs = dose(self.b, 1, self.centre_a2, self.covishield)
        dose(self.b, 2, self.centre_a2, self.covishield, when=LONG_AGO + dt.timedelta(days=30))
        s2, s2b = self.session(dose_=2), self.session(dose_=2, centre=self.centre_a2)
        mine_alloc = allocate(self.a, s2)
        allocate(self.b, s2b)
        before = snapshot(self.a, self.b)
        r = self.merge(
            self.a,
            resolutions={
                "vaccinations": {"1": {"void": mine.pk, "reason": "the Sevak Sabha record is the real one"}},
                "allocations": {"2": {"cancel": mine_alloc.pk}},
            },
        )
        self.assertEqual(r.status_code, 200, r.content)
        self.assertNotEqual(snapshot(self.a, self.b), before)
        theirs.refresh_from_db()
        self.assertEqual(theirs.beneficiary_id, self.a.pk)
        r = self.api.post(self.url + "unmerge/", {"reason": "officer merged the wrong pair"}, format="json")
        self.assertEqual(r.status_code, 200, r.content)
        self.assertEqual(r.json()["status"], "open")
        self.assertEqual(snapshot(self.a, self.b), before)
        # and the pair can be decided again
        self.assertEqual(self.api.post(self.url + "distinct/", {"note": "father and daughter"}).status_code, 200)

    def test_it_refuses_to_undo_over_a_dose_recorded_since(self):
        mine = dose(self.a, 1, self.centre_a, self.covishield)
        theirs = dose(self.b, 1, self.centre_a2, self.covishield)
        resolutions = {"vaccinations": {"1": {"void": mine.pk, "reason": "copy"}}}
        self.assertEqual(self.merge(self.a, resolutions=resolutions).status_code, 200)
        vaccination_void(vaccination=theirs, reason="wrong vaccine entered", user=self.staff_a)
        newer = dose(self.a, 1, self.centre_a, self.covishield, when=timezone.now())
        before = snapshot(self.a, self.b)
        r = self.api.post(self.url + "unmerge/", {}, format="json")
        self.assertEqual((r.status_code, r.json()["code"]), (409, "unmerge_blocked"))
        self.assertEqual(snapshot(self.a, self.b), before, "nothing half-undone")
        newer.refresh_from_db()
        self.assertIsNone(newer.voided_at)

    def test_it_marks_a_pair_distinct_once_and_can_take_it_back(self):
        r = self.api.post(self.url + "distinct/", {"note": "twins, different Aadhaar photos"}, format="json")
        self.assertEqual(r.status_code, 200, r.content)
        self.assertEqual((r.json()["status"], r.json()["decided_by"]), ("distinct", "hisar_officer"))
        self.assertEqual(r.json()["note"], "twins, different Aadhaar photos")
        r = self.merge(self.a)
        self.assertEqual((r.status_code, r.json()["code"]), (409, "already_decided"))
        self.assertIsNone(Beneficiary.objects.get(pk=self.b.pk).merged_into_id)
        r = self.api.post(self.url + "reopen/", {}, format="json")
        self.assertEqual(r.json()["status"], "open")

    def test_it_refuses_a_person_merged_in_another_pair(self):
        c = person(self.hisar, "Sunita Sarma")
        duplicates_detect(district_id=self.hisar.pk)
        duplicate_merge(candidate=candidate_for(self.b, c), keep=c, user=self.hisar_officer)
        r = self.merge(self.a)
        self.assertEqual((r.status_code, r.json()["code"]), (409, "already_merged"))
        listed = self.api.get("/api/v1/duplicates/", {"status": "open"}).json()["results"]
        self.assertNotIn(self.pair.pk, [p["id"] for p in listed], "not decidable, so not in the open queue")

    def test_it_refuses_to_keep_someone_outside_the_pair(self):
        other = person(self.hisar, "Rakesh Yadav", gender="M")
        r = self.merge(other)
        self.assertEqual((r.status_code, r.json()["code"]), (400, "invalid_keep"))
        with self.assertRaises(Conflict):
            duplicate_unmerge(candidate=self.pair, user=self.hisar_officer)
        with self.assertRaises(Conflict):
            duplicate_reopen(candidate=self.pair, user=self.hisar_officer)


class ApiScopeTestCase(ApiTestCase):
    def make_pairs(self, district, n, start=0):
        # A different birth year per pair keeps the pairs apart from each other.
        for year in range(1920 + start, 1920 + start + n):
            person(district, "Kamla Devi", year=year)
            person(district, "कमला देवी", year=year)
        duplicates_detect(district_id=district.pk)

    def test_it_lists_the_queue_in_a_constant_number_of_queries(self):
        self.make_pairs(self.hisar, 3)
        api = self.client_for(self.hisar_officer)
        api.get("/api/v1/duplicates/")  # warm the token and session caches
        with self.assertNumQueries(3):
            small = api.get("/api/v1/duplicates/")
        self.make_pairs(self.hisar, 30, start=3)
        DuplicateCandidate.objects.filter(pk=DuplicateCandidate.objects.first().pk).update(
            decided_by=self.hisar_officer, status="distinct"
        )
        with self.assertNumQueries(3):
            big = api.get("/api/v1/duplicates/")
        self.assertEqual((small.json()["count"], big.json()["count"]), (3, 33))

    def test_it_filters_by_status_and_district(self):
        self.make_pairs(self.hisar, 2)
        self.make_pairs(self.kurukshetra, 1, start=2)
        duplicate_mark_distinct(candidate=DuplicateCandidate.objects.filter(district=self.hisar).first(), user=None)
        api = self.client_for(self.haryana_admin)
        self.assertEqual(api.get("/api/v1/duplicates/").json()["count"], 3)
        self.assertEqual(api.get("/api/v1/duplicates/", {"district": self.hisar.pk}).json()["count"], 2)
        self.assertEqual(api.get("/api/v1/duplicates/", {"status": "open"}).json()["count"], 2)
        self.assertEqual(
            api.get("/api/v1/duplicates/", {"status": "distinct", "district": self.hisar.pk}).json()["count"], 1
        )
        self.assertEqual(api.get("/api/v1/duplicates/", {"status": "bogus"}).status_code, 400)

    def test_it_shows_both_people_side_by_side_with_doses_and_last4_only(self):
        n1, n2 = aadhaar_number(seed=101), aadhaar_number(seed=102)
        a = person(self.hisar, "Sunita Sharma", id_number=n1)
        b = person(self.hisar, "सुनीता शर्मा", id_number=n2)
        dose(b, 1, self.centre_a, self.covishield)
        duplicates_detect(district_id=self.hisar.pk)
        r = self.client_for(self.hisar_officer).get(f"/api/v1/duplicates/{candidate_for(a, b).pk}/")
        self.assertEqual(r.status_code, 200)
        body = r.json()
        left, right = body["people"]
        self.assertEqual((left["reference_id"], right["reference_id"]), (a.reference_id, b.reference_id))
        self.assertEqual((left["id_last4"], right["id_last4"]), (n1[-4:], n2[-4:]))
        self.assertEqual([d["dose"] for d in right["doses"]], [1])
        self.assertEqual(left["doses"], [])
        self.assertTrue(body["decidable"])
        for number in (n1, n2):
            self.assertNotIn(number, r.content.decode())

    def test_it_keeps_pairs_inside_the_users_scope(self):
        a, b = person(self.hisar, "Sunita Sharma"), person(self.hisar, "सुनीता शर्मा")
        duplicates_detect(district_id=self.hisar.pk)
        url = f"/api/v1/duplicates/{candidate_for(a, b).pk}/"
        kkr = self.client_for(self.kkr_officer)
        self.assertEqual(kkr.get(url).status_code, 404)
        self.assertEqual(kkr.post(url + "merge/", {"keep": a.reference_id}, format="json").status_code, 404)
        self.assertEqual(kkr.post(url + "distinct/", {}, format="json").status_code, 404)
        self.assertEqual(kkr.get("/api/v1/duplicates/").json()["count"], 0)
        self.assertEqual(self.client_for(self.bihar_admin).get(url).status_code, 404)
        self.assertEqual(self.client_for(self.staff_a).get("/api/v1/duplicates/").status_code, 403)
        self.assertEqual(self.client_for(self.staff_a).post(url + "distinct/", {}).status_code, 403)
        self.assertEqual(self.client_for(None).get("/api/v1/duplicates/").status_code, 401)
        self.assertEqual(self.client_for(self.haryana_admin).get(url).status_code, 200)
        r = kkr.post("/api/v1/duplicates/scan/", {"district": self.hisar.pk}, format="json")
        self.assertEqual(r.status_code, 400)
        self.assertEqual(DuplicateCandidate.objects.get().status, "open")


@pytest.mark.postgres
class AuditTestCase(ApiTestCase):
    def test_it_records_a_merge_and_its_undo_with_who_and_why(self):
        a, b = person(self.hisar, "Sunita Sharma"), person(self.hisar, "सुनीता शर्मा")
        given = dose(b, 1, self.centre_a, self.covishield)
        duplicates_detect(district_id=self.hisar.pk)
        pair = candidate_for(a, b)
        api = self.client_for(self.hisar_officer)
        api.post(f"/api/v1/duplicates/{pair.pk}/merge/", {"keep": a.reference_id, "note": "one woman"}, format="json")
        api.post(f"/api/v1/duplicates/{pair.pk}/unmerge/", {"reason": "wrong pair"}, format="json")
        people = apps.get_model("beneficiaries", "BeneficiaryEvent").objects.filter(pgh_obj_id=b.pk, pgh_label="update")
        self.assertEqual([e.merged_into_id for e in people.order_by("pgh_id")], [a.pk, None])
        meta = [e.pgh_context.metadata for e in people.order_by("pgh_id")]
        self.assertEqual([m["action"] for m in meta], ["duplicate_merge", "duplicate_unmerge"])
        self.assertEqual([m["reason"] for m in meta], ["one woman", "wrong pair"])
        self.assertEqual(meta[0]["user"], self.hisar_officer.pk)
        moves = apps.get_model("sessions_app", "VaccinationEvent").objects.filter(
            pgh_obj_id=given.pk, pgh_label="update"
        )
        self.assertEqual([e.beneficiary_id for e in moves.order_by("pgh_id")], [a.pk, b.pk])
        decisions = apps.get_model("beneficiaries", "DuplicateCandidateEvent").objects.filter(pgh_obj_id=pair.pk)
        self.assertEqual([e.status for e in decisions.order_by("pgh_id")], ["open", "merged", "open"])


class WorldTransactionTestCase(WorldMixin, TransactionTestCase):
    """Threads need committed data: the world is created per test and flushed after."""

    def setUp(self):
        self.setUpTestData()  # TransactionTestCase does not call it
        self.a = person(self.hisar, "Sunita Sharma")
        self.b = person(self.hisar, "सुनीता शर्मा")
        duplicates_detect(district_id=self.hisar.pk)

    def run_together(self, *jobs):
        barrier = threading.Barrier(len(jobs))
        results: list = [None] * len(jobs)

        def run(i, job):
            try:
                barrier.wait()
                results[i] = job()
            except Exception as exc:  # the outcome of each job is what the test reads
                results[i] = exc
            finally:
                close_old_connections()
                connection.close()

        threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        return results


@pytest.mark.postgres
class ConcurrencyTestCase(WorldTransactionTestCase):
    def test_it_lets_only_one_of_two_simultaneous_decisions_win(self):
        pair = candidate_for(self.a, self.b)
        results = self.run_together(
            lambda: duplicate_merge(candidate=pair, keep=self.a, user=self.hisar_officer),
            lambda: duplicate_merge(candidate=pair, keep=self.b, user=self.hisar_officer),
            lambda: duplicate_mark_distinct(candidate=pair, user=self.hisar_officer),
        )
        won = [r for r in results if isinstance(r, DuplicateCandidate)]
        lost = [r for r in results if isinstance(r, Conflict)]
        self.assertEqual((len(won), len(lost)), (1, 2), results)
        self.assertEqual({e.code for e in lost}, {"already_decided"})
        merged = Beneficiary.objects.filter(merged_into__isnull=False).count()
        self.assertEqual(merged, 1 if won[0].status == "merged" else 0)

    def test_it_never_leaves_a_dose_on_a_person_merged_at_the_same_moment(self):
        pair = candidate_for(self.a, self.b)
        for _round in range(3):
            results = self.run_together(
                lambda: duplicate_merge(candidate=pair, keep=self.a, user=self.hisar_officer),
                lambda: dose(self.b, 1, self.centre_a, self.covishield, when=timezone.now()),
            )
            self.assertIsInstance(results[0], DuplicateCandidate, results)
            self.assertFalse(Vaccination.objects.live().filter(beneficiary=self.b).exists())
            if isinstance(results[1], Vaccination):  # recorded before the merge: it moved with her
                self.assertEqual(Vaccination.objects.get(pk=results[1].pk).beneficiary_id, self.a.pk)
            else:
                self.assertEqual(results[1].code, "beneficiary_merged")
            duplicate_unmerge(candidate=pair, user=self.hisar_officer)
            Vaccination.objects.all().delete()

    def test_it_lets_one_of_two_merges_sharing_a_person_win(self):
        c = person(self.hisar, "Sunita Sarma")
        duplicates_detect(district_id=self.hisar.pk)
        results = self.run_together(
            lambda: duplicate_merge(candidate=candidate_for(self.a, self.b), keep=self.a, user=self.hisar_officer),
            lambda: duplicate_merge(candidate=candidate_for(self.b, c), keep=c, user=self.hisar_officer),
        )
        self.assertEqual(sum(isinstance(r, DuplicateCandidate) for r in results), 1, results)
        self.assertEqual([r.code for r in results if isinstance(r, Conflict)], ["already_merged"])
        self.assertEqual(Beneficiary.objects.filter(merged_into__isnull=False).count(), 1)


@pytest.mark.postgres
@pytest.mark.redis
class CeleryWorkerTestCase(WorldTransactionTestCase):
    def test_it_scans_on_a_real_celery_worker(self):
        env = {**os.environ, "DATABASE_URL": _database_url(), "DJANGO_SECRET_KEY": "test-secret-key-not-for-production"}
        env.setdefault("COVAX_ID_HASH_KEY", "test-id-hash-key")
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "covax",
                "worker",
                "--pool=solo",
                "--concurrency=1",
                "-Q",
                "covax-dup-test",
                "--loglevel=WARNING",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            duplicates_scan_task.apply_async(args=(self.hisar.pk,), queue="covax-dup-test")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not DuplicateCandidate.objects.exists():
                time.sleep(0.5)
            self.assertEqual(DuplicateCandidate.objects.count(), 1)
        finally:
            worker.terminate()
            worker.wait(30)


def _database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
