"""Centres through the API: what CoWIN publishes about them, paid centres' fees, and
changes by the admins of their district or state (SPEC §3 Places, §4)."""

from __future__ import annotations

from unittest import mock

from django.db.models import QuerySet

from covax.errors import Conflict
from sessions_app.models import Centre
from sessions_app.places import services
from tests.base import ApiTestCase


class CentreApiTestCase(ApiTestCase):
    def setUp(self):
        self.officer = self.client_for(self.hisar_officer)

    def create(self, **over):
        body = {
            "district": self.hisar.pk,
            "name": "CHC Barwala",
            "name_hi": "सीएचसी बरवाला",
            "address": "Hisar Road",
            "block": "Barwala",
            "pincode": "125121",
            "lat": 29.3667,
            "long": 75.9,
            "fee_type": "Free",
            "opens": "09:00",
            "closes": "17:00",
            **over,
        }
        return self.officer.post("/api/v1/centres/", body, format="json")

    def test_it_creates_a_paid_centre_with_its_fees_and_answers_numbers_on_the_map(self):
        r = self.create(fee_type="Paid", fees={"COVISHIELD": 780, "COVAXIN": 1410})
        self.assertEqual(r.status_code, 201, r.content)
        body = r.json()
        self.assertEqual(
            (body["fees"], body["lat"], body["long"]), ({"COVISHIELD": 780, "COVAXIN": 1410}, 29.3667, 75.9)
        )
        self.assertEqual((body["opens"], body["closes"]), ("09:00:00", "17:00:00"))

    def test_it_names_the_field_of_wrong_fees_and_places(self):
        cases = [
            ({"fee_type": "Paid"}, "fees"),  # a paid centre without its fees
            ({"fees": {"COVISHIELD": 780}}, "fees"),  # a free centre that charges
            ({"fee_type": "Paid", "fees": {"SPUTNIK": 1145}}, "fees"),  # no such vaccine
            ({"lat": 91}, "lat"),
            ({"long": -181}, "long"),
            ({"pincode": "012345"}, "pincode"),
            ({"opens": "18:00", "closes": "09:00"}, "closes"),
        ]
        for over, field in cases:
            r = self.create(**over)
            self.assertEqual(r.status_code, 400, (over, r.content))
            body = r.json()
            self.assertEqual(body.get("field") or next(iter(body["errors"])), field, over)
        self.assertFalse(Centre.objects.filter(name="CHC Barwala").exists())

    def test_it_refuses_a_second_centre_of_the_same_name_in_a_district(self):
        self.create()
        r = self.create()
        self.assertEqual((r.status_code, r.json()["code"]), (400, "invalid"))
        self.assertIn("name", r.json()["errors"]["non_field_errors"][0])

    def test_an_officer_changes_hours_and_fees_of_their_centre(self):
        url = f"/api/v1/centres/{self.centre_a.pk}/"
        r = self.officer.patch(url, {"fee_type": "Paid", "fees": {"COVISHIELD": 780}, "closes": "18:00"}, format="json")
        self.assertEqual(r.status_code, 200, r.content)
        self.assertEqual(
            (r.json()["fee_type"], r.json()["closes"], r.json()["name"]), ("Paid", "18:00:00", "Jindal Hospital")
        )
        r = self.officer.patch(url, {"fee_type": "Free"}, format="json")
        self.assertEqual((r.status_code, r.json()["field"]), (400, "fees"))
        r = self.officer.patch(url, {"name": "Sevak Sabha Hospital"}, format="json")
        self.assertEqual((r.status_code, r.json()["code"]), (409, "already_exists"))
        r = self.officer.patch(url, {"district": self.kurukshetra.pk}, format="json")
        self.assertEqual(r.json()["district"], self.hisar.pk)  # a centre never moves district

    def test_only_admins_of_its_place_change_a_centre(self):
        url = f"/api/v1/centres/{self.centre_a.pk}/"
        r = self.client_for(self.kkr_officer).patch(url, {"closes": "18:00"}, format="json")
        self.assertEqual((r.status_code, r.json()["code"]), (404, "not_found"))
        r = self.client_for(self.staff_a).patch(url, {"closes": "18:00"}, format="json")
        self.assertEqual((r.status_code, r.json()["code"]), (403, "permission_denied"))
        r = self.client_for(self.haryana_admin).patch(url, {"closes": "18:00"}, format="json")
        self.assertEqual(r.status_code, 200)
        r = self.client_for(self.haryana_admin).put(url, {"closes": "18:00"}, format="json")
        self.assertEqual(r.status_code, 405)

    def test_it_tells_a_rename_the_unique_index_refused_as_already_exists(self):
        # Two officers renaming two centres to the same name at once: both looked before
        # either wrote; the unique index refuses the second, and the service says why.
        clash = self.centre_a2.name
        real_exists = QuerySet.exists
        looks = [False]  # the service's first look, made before the other rename landed

        def exists(qs):
            return looks.pop() if looks else real_exists(qs)

        with mock.patch.object(QuerySet, "exists", exists):
            with self.assertRaises(Conflict) as refused:
                services.centre_update(centre=Centre.objects.get(pk=self.centre_a.pk), name=clash)
        self.assertEqual((refused.exception.code, refused.exception.extra["field"]), ("already_exists", "name"))
        self.assertEqual(Centre.objects.get(pk=self.centre_a.pk).name, "Jindal Hospital")
