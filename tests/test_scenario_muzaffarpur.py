"""Muzaffarpur, second-dose day: a COVAXIN dose-2 session lists only people whose
COVAXIN dose 1 is at least 28 days old, and a person given dose 2 elsewhere that
morning disappears from it (SPEC §1.3, §3)."""

from __future__ import annotations

from sessions_app.doses.services import vaccination_record
from sessions_app.planning.services import allocation_create
from tests.base import ApiTestCase
from tests.factories import CentreFactory
from tests.guard import give, people, session_at


class MuzaffarpurTestCase(ApiTestCase):
    def test_second_dose_day(self):
        skmch = self.centre_c
        phc = CentreFactory(district=self.muzaffarpur, name="PHC Kanti", pincode="843109")
        session = session_at(skmch, self.covaxin, dose=2, capacity=100)
        due = people(30, district=self.muzaffarpur)
        too_soon = people(10, district=self.muzaffarpur)
        covishield_first = people(5, district=self.muzaffarpur)
        no_first = people(5, district=self.muzaffarpur)
        for p in due:
            give(p, dose=1, vaccine=self.covaxin, centre=skmch, days=28)
        for p in too_soon:
            give(p, dose=1, vaccine=self.covaxin, centre=skmch, days=27)
        for p in covishield_first:
            give(p, dose=1, vaccine=self.covishield, centre=skmch, days=40)

        result = allocation_create(session=session, auto=True)
        self.assertEqual(sorted(result.allocated), sorted(p.reference_id for p in due))
        explicit = allocation_create(
            session=session, reference_ids=[p.reference_id for p in too_soon + covishield_first + no_first]
        )
        self.assertEqual(explicit.allocated, [])
        self.assertEqual({s.reason for s in explicit.skipped}, {"not_due"})

        # That morning, one of them is given dose 2 at the PHC.
        vaccination_record(beneficiary=due[0], dose=2, vaccine=self.covaxin, centre=phc, source="form")

        api = self.client_for(self.superuser)
        rows = api.get(f"/api/v1/sessions/{session.pk}/list/", {"page_size": 1000}).json()["results"]
        self.assertEqual({r["reference_id"] for r in rows}, {p.reference_id for p in due[1:]})
        self.assertTrue(all(r["status"] == "due" for r in rows))
        session.refresh_from_db()
        self.assertEqual(session.allocated_count, 29)
