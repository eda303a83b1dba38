"""The quick lane of POST /api/v1/vaccinations/ (sessions_app/api_dose_lane.py) answers
what DRF answers: the same status, body and headers for the requests it takes, and it
leaves every other request to DRF before writing anything."""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import RequestFactory
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework import viewsets
from rest_framework.authtoken.models import Token
from rest_framework.fields import SkipField
from rest_framework.serializers import ValidationError

from sessions_app import api_dose_lane
from sessions_app.api_doses import VaccinationInSerializer, VaccinationViewSet
from sessions_app.models import Vaccination
from tests.base import ApiTestCase
from tests.guard import dose_body, give, people, session_at


class DrfOnly(VaccinationViewSet):
    """The same endpoint without the quick lane: what DRF alone answers."""

    def dispatch(self, request, *args, **kwargs):
        return viewsets.GenericViewSet.dispatch(self, request, *args, **kwargs)


LANE = VaccinationViewSet.as_view({"get": "list", "post": "create"})
DRF = DrfOnly.as_view({"get": "list", "post": "create"})
VOLATILE = {"id", "beneficiary", "received_at", "administered_at", "client_id"}


def _steady(data):
    """An answer without what differs from one person and record to the next."""
    if isinstance(data, dict):
        return {k: _steady(v) for k, v in data.items() if k not in VOLATILE}
    return data


class DoseLaneTestCase(ApiTestCase):
    def setUp(self):
        self.session = session_at(self.centre_a, self.covishield)
        self.token = Token.objects.create(user=self.staff_a).key
        self.factory = RequestFactory()

    def request(self, body, *, token=None, content_type="application/json", **headers):
        raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
        auth = {"HTTP_AUTHORIZATION": f"Token {token or self.token}"} if token != "" else {}
        return self.factory.post("/api/v1/vaccinations/", raw, content_type=content_type, **auth, **headers)

    def body(self, person, **over):
        return dose_body(person, self.session, **{"lot_number": "4121Z025", "client_id": str(uuid.uuid4()), **over})

    def both(self, body_for, **headers):
        """The quick lane's answer and DRF's, each for a fresh copy of the situation."""
        answers = []
        for view in (LANE, DRF):
            person = people(1, district=self.hisar)[0]
            answer = view(self.request(body_for(person), **headers))
            answers.append(answer.render() if hasattr(answer, "render") else answer)  # DRF renders late
        return answers

    def assertSameAnswer(self, lane, drf):
        self.assertEqual(lane.status_code, drf.status_code, (lane.content, drf.content))
        self.assertEqual(lane["Content-Type"], drf["Content-Type"])
        self.assertEqual(lane.get("Allow"), drf.get("Allow"))
        self.assertEqual(lane.get("Vary"), drf.get("Vary"))
        self.assertEqual(_steady(json.loads(lane.content)), _steady(json.loads(drf.content)))

    def test_it_takes_a_well_formed_request_and_answers_as_drf_does(self):
        request = self.request(self.body(people(1, district=self.hisar)[0]))
        view = VaccinationViewSet(action_map={"post": "create"})
        view.get, view.post = view.list, view.create
        self.assertIsNotNone(api_dose_lane.answer(view, request))
        lane, drf = self.both(self.body)
        self.assertEqual(lane.status_code, 201)
        self.assertSameAnswer(lane, drf)
        records = Vaccination.objects.order_by("pk")
        self.assertEqual(
            [(r.source, r.given_by_id) for r in records], [("api", self.staff_a.pk)] * 3
        )  # the first answer() recorded one too

    def test_it_answers_a_repeated_client_id_with_the_same_record(self):
        body = self.body(people(1, district=self.hisar)[0])
        first = LANE(self.request(body))
        again = LANE(self.request(body))
        self.assertEqual((first.status_code, again.status_code), (201, 200))
        self.assertEqual(json.loads(first.content)["id"], json.loads(again.content)["id"])
        self.assertEqual(Vaccination.objects.count(), 1)

    def test_it_answers_each_broken_rule_with_drfs_body(self):
        dose2 = session_at(self.centre_a, self.covishield, dose=2)
        cases = {
            "already_vaccinated": lambda p: (
                give(p, dose=1, vaccine=self.covishield, centre=self.centre_a2, days=2) and self.body(p)
            ),
            "previous_dose_missing": lambda p: self.body(p, dose=2, session=dose2.pk),
            "session_mismatch": lambda p: self.body(p, session=session_at(self.centre_a, self.covaxin).pk),
        }
        for code, body_for in cases.items():
            with self.subTest(code), translation.override("hi"):
                lane, drf = self.both(body_for)
                self.assertEqual(json.loads(lane.content)["code"], code)
                self.assertSameAnswer(lane, drf)
        self.assertIn("पहले ही", self.hindi_conflict())

    def hindi_conflict(self) -> str:
        """Through the whole stack (LocaleMiddleware): the lane answers in the caller's language."""
        person = people(1, district=self.hisar)[0]
        give(person, dose=1, vaccine=self.covishield, centre=self.centre_a2, days=2)
        r = self.client_for(self.staff_a).post(
            "/api/v1/vaccinations/", self.body(person), format="json", HTTP_ACCEPT_LANGUAGE="hi"
        )
        self.assertEqual(r.status_code, 409)
        return r.json()["detail"]

    @pytest.mark.postgres
    def test_it_records_the_signed_in_user_in_the_audit_context(self):
        from pghistory.models import Context

        r = self.client_for(self.staff_a).post(
            "/api/v1/vaccinations/", self.body(people(1, district=self.hisar)[0]), format="json"
        )
        self.assertEqual(r.status_code, 201)
        self.assertIn(self.staff_a.pk, [c.metadata.get("user") for c in Context.objects.all()])

    def test_it_leaves_every_other_request_to_drf_before_writing(self):
        person = people(1, district=self.hisar)[0]
        other = Token.objects.create(user=self.staff_b).key
        declined = {
            "a dose as text": self.request(self.body(person, dose="1")),
            "a dose as true": self.request(self.body(person, dose=True)),
            "spaces to trim": self.request(self.body(person, lot_number=" 4121Z025 ")),
            "a device time": self.request(self.body(person, administered_at="2021-01-16T10:00:00+05:30")),
            "no such person": self.request(self.body(person, beneficiary="00000000000000")),
            "a centre outside scope": self.request(self.body(person), token=other),
            "an unknown token": self.request(self.body(person), token="0" * 40),
            "no token": self.request(self.body(person), token=""),
            "NaN": self.request(json.dumps(self.body(person)).replace('"dose": 1', '"dose": NaN')),
            "not an object": self.request([self.body(person)]),
            "not UTF-8": self.request(json.dumps(self.body(person)).encode("utf-16")),
            "a form": self.request("dose=1", content_type="application/x-www-form-urlencoded"),
            "indented answer": self.request(self.body(person), HTTP_ACCEPT="application/json; indent=4"),
            "an integer client_id": self.request(self.body(person, client_id=7)),
            "a large body": self.request(self.body(person, note="x" * 5000)),
        }
        for name, request in declined.items():
            with self.subTest(name):
                view = VaccinationViewSet(action_map={"post": "create"})
                view.get, view.post = view.list, view.create
                self.assertIsNone(api_dose_lane.answer(view, request))
        self.assertEqual(Vaccination.objects.count(), 0)
        # ...and DRF answers them as it always did.
        self.assertEqual(LANE(self.request(self.body(person, dose="two"))).status_code, 400)
        self.assertEqual(LANE(self.request(self.body(person), token="0" * 40)).status_code, 401)
        self.assertEqual(LANE(self.request(self.body(person, dose="1"))).status_code, 201)


# Values a client may send for each field: the lane must take only what DRF takes unchanged.
_ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=60),
    st.sampled_from(["1", " 12", "COVISHIELD", "12345678901234", "١٢٣", "api", "offline", str(uuid.uuid4())]),
)
_FIELDS = ["beneficiary", "dose", "vaccine", "centre", "session", "lot_number", "source", "client_id"]


def _drf(name: str, value):
    field = VaccinationInSerializer().fields[name]
    try:
        return field.run_validation(value)
    except (ValidationError, SkipField):
        return ValidationError


def test_it_knows_every_field_the_serializer_declares():
    # A field added to VaccinationInSerializer must be taught to the lane (or make it
    # decline): otherwise the lane would let through what DRF refuses.
    assert set(VaccinationInSerializer().fields) == {*_FIELDS, "administered_at"}
    assert set(api_dose_lane.FIELDS) == {*_FIELDS, "administered_at"}


@pytest.mark.parametrize("name", _FIELDS)
@settings(max_examples=300, deadline=None)
@given(value=_ANY)
def test_it_takes_a_value_only_as_drf_would_give_it(name, value):
    body = {"beneficiary": "12345678901234", "dose": 1, "vaccine": "COVISHIELD", "centre": 1, name: value}
    try:
        taken = api_dose_lane._fields(json.dumps(body).encode(), VaccinationInSerializer._declared_fields)[name]
    except api_dose_lane._Declined:
        return  # DRF answers it, whatever it is
    assert _drf(name, value) == taken
