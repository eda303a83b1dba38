"""Sessions through the API: change, cancel (releases the list), bulk planning."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from sessions_app.models import Allocation, Session
from sessions_app.planning.services import allocation_create
from tests.base import ApiTestCase
from tests.guard import people, session_at


class SessionApiTestCase(ApiTestCase):
    def setUp(self):
        self.api = self.client_for(self.hisar_officer)
        self.session = session_at(self.centre_a, self.covishield, capacity=10, status="planned")

    def patch(self, **body):
        return self.api.patch(f"/api/v1/sessions/{self.session.pk}/", body, format="json")

    def test_it_changes_capacity_but_never_below_the_allocated(self):
        allocation_create(session=self.session, reference_ids=[p.reference_id for p in people(4, district=self.hisar)])
        self.assertEqual(self.patch(capacity=20).json()["capacity"], 20)
        r = self.patch(capacity=3)
        self.assertEqual((r.status_code, r.json()["code"]), (422, "capacity_below_allocated"))
        self.assertIn("4 people", r.json()["detail"])

    def test_cancelling_releases_every_allocation(self):
        person = people(1, district=self.hisar)[0]
        allocation_create(session=self.session, reference_ids=[person.reference_id])
        self.assertEqual(self.patch(status="cancelled").json()["status"], "cancelled")
        self.assertEqual(Allocation.objects.get().status, "cancelled")
        self.assertEqual(Session.objects.get(pk=self.session.pk).allocated_count, 0)
        other = session_at(self.centre_a2, self.covishield)
        self.assertEqual(
            allocation_create(session=other, reference_ids=[person.reference_id]).allocated, [person.reference_id]
        )

    def test_it_refuses_a_status_that_cannot_follow(self):
        self.patch(status="cancelled")
        r = self.patch(status="open")
        self.assertEqual((r.status_code, r.json()["code"]), (422, "invalid_status_change"))

    def test_staff_cannot_change_sessions_and_other_districts_get_404(self):
        self.assertEqual(
            self.client_for(self.staff_a).patch(f"/api/v1/sessions/{self.session.pk}/", {}).status_code, 403
        )
        r = self.client_for(self.kkr_officer).patch(f"/api/v1/sessions/{self.session.pk}/", {"capacity": 1})
        self.assertEqual(r.status_code, 404)

    def bulk(self, client=None, **over):
        body = {
            "centres": [self.centre_a.pk, self.centre_a2.pk],
            "date": (timezone.localdate() + dt.timedelta(days=2)).isoformat(),
            "vaccine": "COVISHIELD",
            "dose": 1,
            "capacity": 100,
            "slots": ["09:00AM-11:00AM"],
            **over,
        }
        return (client or self.api).post("/api/v1/sessions/bulk/", body, format="json")

    def test_it_plans_sessions_at_several_centres_at_once(self):
        r = self.bulk()
        self.assertEqual(r.status_code, 201, r.content)
        self.assertEqual(sorted(s["centre"] for s in r.json()), sorted([self.centre_a.pk, self.centre_a2.pk]))

    def test_bulk_planning_is_all_or_none_and_names_the_problem(self):
        before = Session.objects.count()
        r = self.bulk(date="2020-01-01")
        self.assertEqual(r.status_code, 400)
        self.assertIn("Jindal Hospital", r.json()["detail"])
        self.assertEqual(Session.objects.count(), before)

    def test_bulk_planning_only_in_scope(self):
        r = self.bulk(client=self.client_for(self.kkr_officer))
        self.assertEqual(r.status_code, 400)
        self.assertIn("centres", r.json()["errors"])
