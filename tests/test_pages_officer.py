"""District officer pages: dashboard, centres, week planning, allocation with skip
reasons and "why (not) on this list?", reports with a formula-safe CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from unittest import mock

from django.test import TestCase
from django.utils import timezone

from sessions_app.models import Allocation, Centre, Session
from sessions_app.planning import services
from sessions_app.planning.services import allocation_create
from tests.base import WorldMixin
from tests.factories import BeneficiaryFactory, SessionFactory
from tests.guard import give


class OfficerPagesTestCase(WorldMixin, TestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.today = timezone.localdate()
        cls.session = SessionFactory(centre=cls.centre_a, vaccine=cls.covishield, capacity=24)
        cls.people = BeneficiaryFactory.create_batch(4, district=cls.hisar)
        allocation_create(session=cls.session, reference_ids=[p.reference_id for p in cls.people])
        give(cls.people[0], dose=1, vaccine=cls.covishield, centre=cls.centre_a, session=cls.session)
        give(cls.people[1], dose=1, vaccine=cls.covishield, centre=cls.centre_a, session=cls.session)
        cls.session_b = SessionFactory(centre=cls.centre_b, vaccine=cls.covishield)

    def setUp(self):
        self.client.force_login(self.hisar_officer)

    def test_it_sends_an_officer_home_to_the_dashboard(self):
        r = self.client.get("/", follow=True)
        self.assertEqual(r.redirect_chain[-1][0], "/officer/")

    def test_it_shows_planned_against_vaccinated_per_centre(self):
        r = self.client.get("/officer/")
        self.assertContains(r, "2 of 4")
        self.assertContains(r, "Jindal Hospital")
        self.assertNotContains(r, "LNJP Hospital")  # Kurukshetra is another district
        self.assertContains(r, 'id="turnout-data"')
        self.assertContains(r, 'href="/uploads/"')
        self.assertContains(r, 'href="/duplicates/"')
        chart = r.context["chart"]
        self.assertEqual(len(chart["labels"]), 14)
        self.assertEqual(chart["vaccinated"][-1], 2)
        self.assertEqual(chart["planned"][-1], 4)

    def test_it_keeps_the_dashboard_from_centre_staff(self):
        self.client.force_login(self.staff_a)
        self.assertEqual(self.client.get("/officer/").status_code, 403)

    def test_it_lists_creates_and_edits_centres(self):
        r = self.client.get("/officer/centres/")
        self.assertContains(r, "Sevak Sabha Hospital")
        self.assertNotContains(r, "LNJP Hospital")
        data = {
            "district": self.hisar.pk,
            "name": "PHC Mangali",
            "name_hi": "पीएचसी मंगाली",
            "pincode": "125052",
            "fee_type": "Free",
            "opens": "09:00",
            "closes": "17:00",
        }
        r = self.client.post("/officer/centres/new/", data)
        self.assertRedirects(r, "/officer/centres/")
        centre = Centre.objects.get(name="PHC Mangali")
        r = self.client.post(f"/officer/centres/{centre.pk}/edit/", {**data, "opens": "18:00"})
        self.assertContains(r, "The centre must open before it closes.", status_code=400)
        r = self.client.post(f"/officer/centres/{centre.pk}/edit/", {**data, "block": "Hisar-II"})
        self.assertRedirects(r, "/officer/centres/")
        centre.refresh_from_db()
        self.assertEqual(centre.block, "Hisar-II")

    def test_it_refuses_a_centre_in_another_district(self):
        r = self.client.post(
            "/officer/centres/new/",
            {
                "district": self.kurukshetra.pk,
                "name": "X",
                "pincode": "136118",
                "fee_type": "Free",
                "opens": "09:00",
                "closes": "17:00",
            },
        )
        self.assertEqual(r.status_code, 400)
        self.assertFalse(Centre.objects.filter(name="X").exists())
        self.assertEqual(self.client.get(f"/officer/centres/{self.centre_b.pk}/edit/").status_code, 404)

    def test_it_shows_a_paid_centre_fee_error_next_to_the_field(self):
        r = self.client.post(
            "/officer/centres/new/",
            {
                "district": self.hisar.pk,
                "name": "Paid One",
                "pincode": "125001",
                "fee_type": "Paid",
                "opens": "09:00",
                "closes": "17:00",
            },
        )
        self.assertContains(r, "A paid centre needs its fee per vaccine", status_code=400)

    def test_it_plans_sessions_for_several_centres_and_days_at_once(self):
        first = self.today + dt.timedelta(days=1)
        r = self.client.post(
            "/officer/sessions/new/",
            {
                "centres": [self.centre_a.pk, self.centre_a2.pk],
                "date": first.isoformat(),
                "days": "3",
                "vaccine": "COVAXIN",
                "dose": "1",
                "capacity": "80",
                "min_age": "18",
                "categories": ["HCW", "FLW"],
            },
        )
        self.assertEqual(r.status_code, 302)
        planned = Session.objects.filter(vaccine=self.covaxin)
        self.assertEqual(planned.count(), 6)
        self.assertEqual({s.centre_id for s in planned}, {self.centre_a.pk, self.centre_a2.pk})
        self.assertEqual(planned.first().slots[0], "09:00AM-11:00AM")
        week = self.client.get(r["Location"])
        self.assertContains(week, "COVAXIN", count=6)

    def test_it_plans_nothing_when_one_session_is_refused(self):
        r = self.client.post(
            "/officer/sessions/new/",
            {
                "centres": [self.centre_a.pk],
                "date": self.today.isoformat(),
                "days": "1",
                "vaccine": "COVISHIELD",
                "dose": "3",
                "capacity": "10",
                "min_age": "18",
            },
        )
        self.assertContains(r, "COVISHIELD has 2 doses; there is no dose 3.", status_code=400)

    def test_it_plans_nothing_and_names_the_centre_when_a_day_is_refused(self):
        before = Session.objects.count()
        r = self.client.post(
            "/officer/sessions/new/",
            {
                "centres": [self.centre_a.pk, self.centre_a2.pk],
                "date": (self.today - dt.timedelta(days=1)).isoformat(),  # the first day is past
                "days": "3",
                "vaccine": "COVAXIN",
                "dose": "1",
                "capacity": "80",
                "min_age": "18",
            },
        )
        self.assertContains(r, "Jindal Hospital: A session cannot be planned in the past.", status_code=400)
        self.assertEqual(Session.objects.count(), before)

    def test_it_cuts_each_centres_day_into_slots_over_its_own_hours(self):
        Centre.objects.filter(pk=self.centre_a2.pk).update(opens=dt.time(8), closes=dt.time(12))
        r = self.client.post(
            "/officer/sessions/new/",
            {
                "centres": [self.centre_a.pk, self.centre_a2.pk],
                "date": (self.today + dt.timedelta(days=1)).isoformat(),
                "days": "2",
                "vaccine": "COVAXIN",
                "dose": "1",
                "capacity": "80",
                "min_age": "18",
            },
        )
        self.assertEqual(r.status_code, 302)
        slots = {(s.centre_id, s.date): s.slots for s in Session.objects.filter(vaccine=self.covaxin)}
        self.assertEqual(len(slots), 4)
        for (centre, _day), got in slots.items():
            if centre == self.centre_a2.pk:
                self.assertEqual(got, ["08:00AM-10:00AM", "10:00AM-12:00PM"])
            else:
                self.assertEqual(got[0], "09:00AM-11:00AM")
                self.assertEqual(got[-1], "03:00PM-05:00PM")

    def test_it_cannot_plan_at_a_centre_outside_the_district(self):
        r = self.client.post(
            "/officer/sessions/new/",
            {
                "centres": [self.centre_b.pk],
                "date": self.today.isoformat(),
                "days": "1",
                "vaccine": "COVISHIELD",
                "dose": "1",
                "capacity": "10",
                "min_age": "18",
            },
        )
        self.assertEqual(r.status_code, 400)
        self.assertEqual(Session.objects.filter(centre=self.centre_b).count(), 1)

    def test_it_allocates_and_shows_every_skip_reason(self):
        session = SessionFactory(centre=self.centre_a2, vaccine=self.covishield, capacity=10)
        fresh = BeneficiaryFactory(district=self.hisar)
        vaccinated = self.people[0]
        r = self.client.post(
            f"/sessions/{session.pk}/allocate/",
            {"action": "list", "reference_ids": f"{fresh.reference_id}, {vaccinated.reference_id}\n99999999999999"},
        )
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, "1 person allocated")
        self.assertContains(r, 'data-reason="already_vaccinated"')
        self.assertContains(r, 'data-reason="not_found"')
        self.assertContains(r, "Jindal Hospital")  # where the dose was given
        self.assertTrue(Allocation.objects.filter(session=session, beneficiary=fresh).exists())
        self.assertEqual(r.context["skip_counts"][0]["count"], 1)
        self.assertContains(r, "2 skipped, and why")
        self.assertContains(r, "Each of them")  # a list names every one skipped

    def allocate_auto_beyond_the_places(self):
        """One place, 25 people due: 11 read, 3 more counted before the count stops; 2 named."""
        session = SessionFactory(centre=self.centre_a2, vaccine=self.covishield, capacity=1)
        BeneficiaryFactory.create_batch(25, district=self.hisar)
        with mock.patch.object(services, "AUTO_NAMED_SKIPS", 2), mock.patch.object(services, "AUTO_COUNT_BOUND", 3):
            return self.client.post(f"/sessions/{session.pk}/allocate/", {"action": "auto"})

    def test_it_shows_skips_counted_per_reason_and_names_the_first_few(self):
        r = self.allocate_auto_beyond_the_places()
        self.assertContains(r, "1 person allocated")
        self.assertContains(r, "13 or more skipped, and why")
        self.assertContains(
            r, '<tr data-reason="capacity_full"><td>No place left</td><td>13 or more</td></tr>', html=True
        )
        self.assertContains(r, "<caption>The first 2 of them</caption>", html=True)
        self.assertEqual(len(r.context["result"].skipped), 2)
        self.assertContains(r, 'data-reason="capacity_full"', count=3)  # one count, two named

    def test_it_shows_skip_counts_in_hindi(self):
        self.client.cookies["django_language"] = "hi"
        r = self.allocate_auto_beyond_the_places()
        self.assertContains(r, "13 या अधिक छूटे, और क्यों")
        self.assertContains(r, "कोई स्थान ख़ाली नहीं")
        self.assertContains(r, "उनमें से पहले 2")
        self.assertContains(r, "पहले वे जिन्होंने यह केंद्र चुना")

    def test_it_allocates_automatically(self):
        session = SessionFactory(centre=self.centre_a2, vaccine=self.covishield, capacity=10)
        extra = BeneficiaryFactory.create_batch(3, district=self.hisar)
        r = self.client.post(f"/sessions/{session.pk}/allocate/", {"action": "auto"})
        self.assertContains(r, "3 people allocated")
        self.assertEqual(set(session.allocations.values_list("beneficiary", flat=True)), {p.pk for p in extra})

    def test_it_explains_why_a_person_is_not_on_the_list(self):
        r = self.client.post(
            f"/sessions/{self.session_for_why().pk}/allocate/",
            {"action": "why", "reference_id": self.people[0].reference_id},
        )
        self.assertContains(r, 'data-code="already_vaccinated"')
        self.assertContains(r, "Not on the list: dose 1 recorded")

    def session_for_why(self):
        return SessionFactory(centre=self.centre_a2, vaccine=self.covishield)

    def test_it_gives_404_for_allocation_outside_the_district(self):
        self.assertEqual(self.client.get(f"/sessions/{self.session_b.pk}/allocate/").status_code, 404)

    def test_it_reports_sessions_with_turnout(self):
        r = self.client.get("/officer/reports/")
        self.assertContains(r, "Jindal Hospital")
        self.assertContains(r, "50%")
        self.assertNotContains(r, "LNJP Hospital")

    def test_it_exports_a_formula_safe_csv(self):
        Centre.objects.filter(pk=self.centre_a.pk).update(name='=HYPERLINK("http://evil","x")')
        r = self.client.get(
            "/officer/reports.csv", {"date_from": self.today.isoformat(), "date_to": self.today.isoformat()}
        )
        self.assertEqual(r["Content-Type"], "text/csv; charset=utf-8")
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        self.assertEqual(rows[0][:3], ["date", "centre", "vaccine"])
        self.assertEqual(rows[1][1], '\'=HYPERLINK("http://evil","x")')
        self.assertEqual(rows[1][5:9], ["24", "4", "2", "50"])
        self.assertEqual(len(rows), 2)  # only the Hisar session

    def test_it_answers_hindi_pages_in_hindi(self):
        self.client.cookies["django_language"] = "hi"
        Centre.objects.filter(pk=self.centre_a.pk).update(name_hi="जिंदल अस्पताल")
        r = self.client.get("/officer/")
        self.assertContains(r, '<html lang="hi">')
        self.assertContains(r, "जिंदल अस्पताल")
