"""Reports API: per-session capacity/allocated/vaccinated/turnout, and coverage by day
and category, inside the caller's scope."""

from __future__ import annotations

from django.utils import timezone

from sessions_app.doses.services import vaccination_record
from sessions_app.planning.services import allocation_create
from tests.base import ApiTestCase
from tests.guard import give, people, session_at


class ReportsApiTestCase(ApiTestCase):
    def setUp(self):
        self.session = session_at(self.centre_a, self.covishield, capacity=24)
        group = people(24, district=self.hisar)
        allocation_create(session=self.session, reference_ids=[p.reference_id for p in group])
        for p in group[:3]:  # one hospital managed 3 of 24
            vaccination_record(
                beneficiary=p,
                dose=1,
                vaccine=self.covishield,
                centre=self.centre_a,
                session=self.session,
                source="form",
            )
        other = session_at(self.centre_b, self.covishield, capacity=5)
        give(
            people(1, district=self.kurukshetra)[0],
            dose=1,
            vaccine=self.covishield,
            centre=self.centre_b,
            session=other,
        )

    def test_it_reports_each_session_in_scope(self):
        r = self.client_for(self.hisar_officer).get("/api/v1/reports/sessions/", {"district": self.hisar.pk})
        self.assertEqual(r.status_code, 200, r.content)
        (row,) = r.json()["results"]
        self.assertEqual(
            {k: row[k] for k in ("session", "centre", "centre_name", "capacity", "allocated", "vaccinated", "turnout")},
            {
                "session": self.session.pk,
                "centre": self.centre_a.pk,
                "centre_name": "Jindal Hospital",
                "capacity": 24,
                "allocated": 24,
                "vaccinated": 3,
                "turnout": 12,
            },
        )

    def test_a_state_admin_sees_every_district_and_can_filter(self):
        api = self.client_for(self.haryana_admin)
        self.assertEqual(api.get("/api/v1/reports/sessions/").json()["count"], 2)
        only = api.get("/api/v1/reports/sessions/", {"district": self.kurukshetra.pk}).json()["results"]
        self.assertEqual([r["centre_name"] for r in only], ["LNJP Hospital"])
        self.assertEqual(self.client_for(self.bihar_admin).get("/api/v1/reports/sessions/").json()["count"], 0)

    def test_it_refuses_a_district_or_state_outside_scope_without_numbers(self):
        r = self.client_for(self.hisar_officer).get("/api/v1/reports/sessions/", {"district": self.kurukshetra.pk})
        self.assertEqual((r.status_code, r.json()["code"], list(r.json()["errors"])), (400, "invalid", ["district"]))
        r = self.client_for(self.bihar_admin).get("/api/v1/reports/coverage/", {"state": self.haryana.pk})
        self.assertEqual((r.status_code, list(r.json()["errors"])), (400, ["state"]))
        self.assertNotIn("vaccinated", r.content.decode())

    def test_it_pages_and_orders_the_session_report(self):
        api = self.client_for(self.haryana_admin)
        by_capacity = api.get("/api/v1/reports/sessions/", {"ordering": "-capacity", "page_size": 1}).json()
        self.assertEqual((by_capacity["count"], len(by_capacity["results"])), (2, 1))
        self.assertEqual(by_capacity["results"][0]["capacity"], 24)
        self.assertIsNotNone(by_capacity["next"])
        r = api.get("/api/v1/reports/sessions/", {"ordering": "turnout; DROP TABLE"})
        self.assertEqual((r.status_code, list(r.json()["errors"])), (400, ["ordering"]))

    def test_it_reports_coverage_by_day_and_category(self):
        r = self.client_for(self.haryana_admin).get("/api/v1/reports/coverage/", {"state": self.haryana.pk})
        body = r.json()
        today = timezone.localdate().isoformat()
        self.assertEqual(body["days"], [{"date": today, "category": "HCW", "dose": 1, "vaccinated": 4}])
        self.assertEqual(body["registered"], {"HCW": 25})

    def test_centre_staff_cannot_read_reports_and_bad_dates_are_named(self):
        self.assertEqual(self.client_for(self.staff_a).get("/api/v1/reports/sessions/").status_code, 403)
        r = self.client_for(self.hisar_officer).get(
            "/api/v1/reports/coverage/", {"date_from": "2021-02-01", "date_to": "2021-01-01"}
        )
        self.assertEqual((r.status_code, list(r.json()["errors"])), (400, ["date_to"]))
        r = self.client_for(self.hisar_officer).get("/api/v1/reports/sessions/", {"date": "16-01-2021"})
        self.assertEqual((r.status_code, list(r.json()["errors"])), (400, ["date"]))

    def test_it_costs_a_constant_number_of_queries(self):
        api = self.client_for(self.haryana_admin)
        api.get("/api/v1/reports/sessions/")
        with self.assertNumQueries(3):  # token, count, page
            api.get("/api/v1/reports/sessions/")
        more = [session_at(self.centre_a2, self.covishield, capacity=5) for _ in range(6)]
        allocation_create(session=more[0], reference_ids=[people(1, district=self.hisar)[0].reference_id])
        with self.assertNumQueries(3):  # the same for 8 sessions as for 2
            self.assertEqual(api.get("/api/v1/reports/sessions/").json()["count"], 8)
        with self.assertNumQueries(3):  # token, doses by day, registered
            api.get("/api/v1/reports/coverage/")

    def test_it_explains_a_bad_range_in_hindi_when_asked(self):
        r = self.client_for(self.hisar_officer).get(
            "/api/v1/reports/sessions/",
            {"date_from": "2021-01-01", "date_to": "2022-06-01"},
            HTTP_ACCEPT_LANGUAGE="hi",
        )
        self.assertEqual((r.status_code, r.json()["code"]), (400, "invalid"))
        self.assertIn("एक बार में अधिक से अधिक 366 दिन माँगें", r.json()["detail"])

    def test_it_refuses_a_day_before_the_drive_naming_the_field(self):
        api = self.client_for(self.hisar_officer)
        for path in ("/api/v1/reports/sessions/", "/api/v1/reports/coverage/"):
            r = api.get(path, {"date_from": "0673-06-01", "date_to": "0673-06-02"})
            self.assertEqual(r.status_code, 400, path)
            self.assertIn("date_from", r.json()["errors"])
        r = api.get("/api/v1/reports/coverage/", {"date": "2020-12-31"}, HTTP_ACCEPT_LANGUAGE="hi")
        self.assertIn("रिपोर्ट 2021-01-01 से शुरू होती हैं", r.json()["detail"])
