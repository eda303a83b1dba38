"""Every v1 list: paginated (count, next, previous, results), filtered with django-filter,
ordered with ?ordering=, inside the caller's scope, in a constant number of queries."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from beneficiaries.models import DuplicateCandidate, Upload
from sessions_app.models import Centre, FeeType
from tests.base import ApiTestCase
from tests.factories import BeneficiaryFactory, CentreFactory, DistrictFactory
from tests.guard import give, session_at


def _pair(district):
    first, second = BeneficiaryFactory.create_batch(2, district=district)
    return DuplicateCandidate.objects.create(district=district, first=first, second=second, score=90)


def _upload(district, kind="beneficiaries", status="succeeded", n=0):
    return Upload.objects.create(
        kind=kind,
        district=district,
        file="uploads/x.csv",
        original_name=f"list-{n}.csv",
        sha256=f"{n:064d}",
        status=status,
    )


class ListApiTestCase(ApiTestCase):
    def setUp(self):
        self.admin = self.client_for(self.haryana_admin)
        self.officer = self.client_for(self.hisar_officer)

    def ids(self, client, url, **query):
        r = client.get(url, query)
        self.assertEqual(r.status_code, 200, r.content)
        self.assertEqual(set(r.json()), {"count", "next", "previous", "results"})
        return [row.get("id", row.get("reference_id", row.get("code"))) for row in r.json()["results"]]

    def test_it_filters_districts_by_state_and_refuses_a_state_outside_scope(self):
        self.assertEqual(
            self.ids(self.admin, "/api/v1/districts/", state=self.haryana.pk, ordering="-name"),
            [self.kurukshetra.pk, self.hisar.pk],
        )
        r = self.admin.get("/api/v1/districts/", {"state": self.bihar.pk})
        self.assertEqual((r.status_code, r.json()["code"], list(r.json()["errors"])), (400, "invalid", ["state"]))
        self.assertNotIn("Muzaffarpur", r.content.decode())

    def test_it_filters_centres_by_district_pincode_fee_type_and_state(self):
        Centre.objects.filter(pk=self.centre_a2.pk).update(fee_type=FeeType.PAID, fees={"COVISHIELD": 780})
        self.assertEqual(
            self.ids(self.admin, "/api/v1/centres/", district=self.hisar.pk, ordering="pincode"),
            [self.centre_a2.pk, self.centre_a.pk],
        )
        self.assertEqual(self.ids(self.admin, "/api/v1/centres/", pincode="136118"), [self.centre_b.pk])
        self.assertEqual(self.ids(self.admin, "/api/v1/centres/", fee_type="Paid"), [self.centre_a2.pk])
        self.assertEqual(len(self.ids(self.admin, "/api/v1/centres/", state=self.haryana.pk)), 3)
        r = self.officer.get("/api/v1/centres/", {"district": self.kurukshetra.pk})
        self.assertEqual((r.status_code, list(r.json()["errors"])), (400, ["district"]))

    def test_it_filters_sessions_by_centre_date_vaccine_dose_status_and_district(self):
        today = timezone.localdate()
        first = session_at(self.centre_a, self.covishield, date=today)
        second = session_at(self.centre_a2, self.covaxin, date=today + dt.timedelta(days=1), dose=2, status="planned")
        other = session_at(self.centre_b, self.covishield, date=today)
        url = "/api/v1/sessions/"
        self.assertEqual(self.ids(self.admin, url, centre=self.centre_a.pk), [first.pk])
        self.assertEqual(self.ids(self.admin, url, date=today.isoformat(), ordering="-id"), [other.pk, first.pk])
        self.assertEqual(self.ids(self.admin, url, vaccine="COVAXIN"), [second.pk])
        self.assertEqual(self.ids(self.admin, url, dose=2, status="planned"), [second.pk])
        self.assertEqual(self.ids(self.admin, url, district=self.kurukshetra.pk), [other.pk])
        self.assertEqual(self.ids(self.admin, url, date_from=(today + dt.timedelta(days=1)).isoformat()), [second.pk])
        self.assertEqual(self.ids(self.officer, url), [first.pk, second.pk])
        r = self.officer.get(url, {"date": "16-01-2021"})
        self.assertEqual((r.status_code, list(r.json()["errors"])), (400, ["date"]))

    def test_it_filters_people_by_district_category_and_reference_id(self):
        hcw = BeneficiaryFactory(district=self.hisar, category="HCW", name="Asha Devi")
        flw = BeneficiaryFactory(district=self.kurukshetra, category="FLW", name="Bimla Rani")
        url = "/api/v1/beneficiaries/"
        self.assertEqual(self.ids(self.admin, url, category="FLW"), [flw.reference_id])
        self.assertEqual(self.ids(self.admin, url, district=self.hisar.pk), [hcw.reference_id])
        self.assertEqual(self.ids(self.admin, url, reference_id=flw.reference_id), [flw.reference_id])
        self.assertEqual(self.ids(self.admin, url, ordering="-name"), [flw.reference_id, hcw.reference_id])
        self.assertEqual(self.ids(self.officer, url, reference_id=flw.reference_id), [])

    def test_it_filters_uploads_by_status_and_kind(self):
        done = _upload(self.hisar, n=1)
        failed = _upload(self.hisar, kind="vaccinations", status="failed", n=2)
        elsewhere = _upload(self.kurukshetra, n=3)
        url = "/api/v1/uploads/"
        self.assertEqual(self.ids(self.admin, url, status="failed"), [failed.pk])
        self.assertEqual(self.ids(self.admin, url, kind="beneficiaries", ordering="id"), [done.pk, elsewhere.pk])
        self.assertEqual(self.ids(self.officer, url, ordering="-id"), [failed.pk, done.pk])

    def test_it_filters_doses_by_person_centre_and_voided(self):
        person, other = BeneficiaryFactory(district=self.hisar), BeneficiaryFactory(district=self.hisar)
        kept = give(person, dose=1, vaccine=self.covishield, centre=self.centre_a)
        voided = give(other, dose=1, vaccine=self.covishield, centre=self.centre_a2)
        voided.voided_at, voided.void_reason = timezone.now(), "wrong person"
        voided.save()
        url = "/api/v1/vaccinations/"
        self.assertEqual(self.ids(self.officer, url, beneficiary=person.reference_id), [kept.pk])
        self.assertEqual(self.ids(self.officer, url, centre=self.centre_a2.pk), [voided.pk])
        self.assertEqual(self.ids(self.officer, url, voided="false"), [kept.pk])
        self.assertEqual(self.ids(self.client_for(self.kkr_officer), url), [])

    def test_it_pages_with_next_and_previous_and_a_page_past_the_end_is_json_404(self):
        for n in range(5):
            CentreFactory(district=self.hisar, name=f"PHC {n}")
        r = self.officer.get("/api/v1/centres/", {"page_size": 2, "page": 2}).json()
        self.assertEqual((r["count"], len(r["results"])), (7, 2))
        self.assertIn("page=3", r["next"])
        self.assertIn("page_size=2", r["previous"])
        r = self.officer.get("/api/v1/centres/", {"page": 99})
        self.assertEqual((r.status_code, r.json()["code"]), (404, "not_found"))

    def test_every_list_costs_the_same_queries_for_one_row_as_for_many(self):
        urls = [
            "/api/v1/states/",
            "/api/v1/districts/",
            "/api/v1/centres/",
            "/api/v1/vaccines/",
            "/api/v1/sessions/",
            "/api/v1/beneficiaries/",
            "/api/v1/vaccinations/",
            "/api/v1/uploads/",
            "/api/v1/users/",
            "/api/v1/duplicates/",
            "/api/v1/reports/sessions/",
        ]
        session = session_at(self.centre_a, self.covishield)
        give(BeneficiaryFactory(district=self.hisar), dose=1, vaccine=self.covishield, centre=self.centre_a)
        _upload(self.hisar)
        _pair(self.hisar)
        self.admin.get("/api/v1/states/")  # the token, content types: warm
        cost = {}
        for url in urls:
            with self.assertNumQueries(3 if url != "/api/v1/beneficiaries/" else 4) as context:
                self.assertEqual(self.admin.get(url).status_code, 200, url)
            cost[url] = len(context.captured_queries)
        district = DistrictFactory(state=self.haryana, name="Sirsa")
        for n in range(6):
            centre = CentreFactory(district=district, name=f"CHC {n}")
            session = session_at(centre, self.covishield)
            give(BeneficiaryFactory(district=district), dose=1, vaccine=self.covishield, centre=centre, session=session)
            _upload(district, n=10 + n)
            _pair(district)
            self.make_user(f"staff_sirsa_{n}", "centre_staff", centre=centre)
        for url in urls:
            with self.assertNumQueries(cost[url]):
                count = self.admin.get(url).json()["count"]
            if url != "/api/v1/states/":  # a state admin has one state
                self.assertGreater(count, 1, url)
