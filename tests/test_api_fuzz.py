"""Schema-driven fuzzing: schemathesis generates requests from /api/schema/ for every
v1 operation, as a state admin and as an anonymous caller. No answer may be a 5xx, every
status code must be one the schema documents for that operation, and every documented
answer (successes and errors alike) must match its schema (SPEC §4, §6, issue 6).

Each generated request runs inside a savepoint that is rolled back afterwards, so every
case meets the same small world and a database error in one case cannot leak into the
next one.
"""

from __future__ import annotations

import io
from urllib.parse import unquote, urlsplit

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections, transaction
from django.test import override_settings
from django.urls import Resolver404, resolve
from django.utils import timezone
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.test import Client

from covax.wsgi import application
from tests.base import WorldMixin
from tests.factories import BeneficiaryFactory, SessionFactory, aadhaar_number

# The schema is fetched while this module is collected, where the database is off
# limits. On the embedded default (background work on a thread) a web process's first
# request looks for uploads to resume (beneficiaries.tasks), which needs the database:
# fetch it as a process with a broker does, which looks for nothing.
with override_settings(COVAX_BACKGROUND="celery"):
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    # An anonymous caller meets 401 whatever the body: a few cases per operation are enough.
    anonymous_schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
# Requests with methods a path does not have only meet the router's 405: not worth the time.
schema.config.phases.coverage.unexpected_methods = set()
anonymous_schema.config.phases.coverage.enabled = False
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
FUZZ = settings(
    max_examples=8,
    deadline=None,
    derandomize=True,  # the same cases every run: a red CI is reproducible
    suppress_health_check=list(HealthCheck),
)


class _World(WorldMixin):
    pass


@pytest.fixture
def fast(db, settings):
    # PBKDF2 for the world's nine users and every sign-in attempt would cost minutes.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.COVAX_TOKEN_RATE_LIMIT = "off"


@pytest.fixture
def world(fast):
    _World.setUpTestData()
    # Something behind the ids schemathesis likes to try (1, 2, …), so detail routes,
    # allocation and dose recording get past "not found" now and then.
    BeneficiaryFactory.create_batch(2, district=_World.hisar)
    SessionFactory(centre=_World.centre_a, vaccine=_World.covishield)
    return _World


def _call(case, headers=None):
    # As Django's test client does: the test's transaction must outlive the request, so
    # the end of a request may not close the connection.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    point = transaction.savepoint()
    try:
        return case.call_and_validate(headers=headers, checks=CHECKS, excluded_checks=[])
    finally:
        transaction.savepoint_rollback(point)
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@FUZZ
def test_it_never_answers_5xx_or_off_schema_to_a_state_admin(case, world):
    token = Token.objects.get_or_create(user=world.haryana_admin)[0].key
    _call(case, headers={"Authorization": f"Token {token}"})


@anonymous_schema.parametrize()
@FUZZ
def test_it_never_answers_5xx_or_off_schema_to_an_anonymous_caller(case, fast):
    response = _call(case)
    if case.operation.path == "/api/v1/auth/token/":
        return
    if response.status_code == 404:
        # Only a path that matches no route at all (an id with a dot or a slash in it)
        # may answer before authentication.
        with pytest.raises(Resolver404):
            resolve(unquote(urlsplit(response.request.url).path))
    else:
        assert response.status_code == 401, (case.operation.label, response.status_code)


def test_it_answers_a_state_admins_day_within_the_schema(world):
    """Fuzzing rarely hits real ids, so walk a day's work with real data: every success
    (and the expected refusals) must match its documented status and schema."""
    headers = {"Authorization": f"Token {Token.objects.get_or_create(user=world.haryana_admin)[0].key}"}
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        _day(_Caller(headers), world)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


class _Caller:
    def __init__(self, headers):
        self.headers = headers

    def __call__(self, method, path, expect, *, body=None, query=None, media_type=None, headers=None, **params):
        given = {"query": query, "path_parameters": params or None}
        if body is not None:
            given |= {"body": body, "media_type": media_type or "application/json"}
        case = schema[path][method].Case(**given)
        response = case.call_and_validate(headers=self.headers if headers is None else headers, checks=CHECKS)
        assert response.status_code == expect, (method, path, response.status_code, response.text[:500])
        return response.json() if "json" in response.headers.get("content-type", [""])[0] else response.text

    def upload(self, expect, **form):
        # A file part needs a file name, which a generated case cannot give: send it
        # with werkzeug and validate the answer against the same schema.
        response = Client(application).post("/api/v1/uploads/", data=form, headers=self.headers)
        assert response.status_code == expect, (response.status_code, response.text[:500])
        schema["/api/v1/uploads/"]["POST"].validate_response(response)
        return response.json


def _day(call, w):
    today = timezone.localdate().isoformat()
    number = aadhaar_number(seed=2021)
    call(
        "POST",
        "/api/v1/auth/token/",
        200,
        body={"username": "hisar_officer", "password": "pw-hisar_officer"},
        headers={},
    )
    sirsa = call("POST", "/api/v1/districts/", 201, body={"state": w.haryana.pk, "name": "Sirsa", "name_hi": "सिरसा"})
    centre = call(
        "POST",
        "/api/v1/centres/",
        201,
        body={
            "district": sirsa["id"],
            "name": "CHC Sirsa",
            "pincode": "125055",
            "fee_type": "Paid",
            "fees": {"COVISHIELD": 780},
            "lat": "29.533",
            "long": "75.017",
            "opens": "09:00",
            "closes": "17:00",
        },
    )
    officer = call(
        "POST",
        "/api/v1/users/",
        201,
        body={
            "username": "sirsa_officer",
            "password": "a-long-pass-phrase-9",
            "role": "district_officer",
            "district": sirsa["id"],
        },
    )
    call("PATCH", "/api/v1/users/{id}/", 200, body={"is_active": False}, id=officer["id"])
    call("GET", "/api/v1/vaccines/{code}/", 200, code="COVISHIELD")
    person_in = {
        "name": "Sunita Sharma",
        "gender": "F",
        "birth_year": 1985,
        "phone": "9876543210",
        "id_type": "aadhaar",
        "id_number": number,
        "category": "HCW",
        "district": sirsa["id"],
    }
    ref = call("POST", "/api/v1/beneficiaries/", 201, body=person_in)["reference_id"]
    assert call("POST", "/api/v1/beneficiaries/", 409, body=person_in)["reference_id"] == ref
    found = call("GET", "/api/v1/beneficiaries/", 200, query={"id_type": "aadhaar", "id_number": number})
    assert [p["reference_id"] for p in found["results"]] == [ref]
    call("GET", "/api/v1/beneficiaries/{reference_id}/", 200, reference_id=ref)
    session_in = {"centre": centre["id"], "date": today, "vaccine": "COVISHIELD", "dose": 1, "capacity": 10}
    session = call("POST", "/api/v1/sessions/", 201, body={**session_in, "slots": ["09:00AM-11:00AM"]})
    call("POST", "/api/v1/sessions/bulk/", 201, body={**session_in, "centres": [w.centre_a.pk, w.centre_b.pk]})
    call("PATCH", "/api/v1/sessions/{id}/", 200, body={"capacity": 20, "status": "open"}, id=session["id"])
    allocated = call(
        "POST",
        "/api/v1/sessions/{id}/allocate/",
        200,
        body={"beneficiaries": [ref, "99999999999999"]},
        id=session["id"],
    )
    assert allocated["allocated"] == [ref] and allocated["skipped"][0]["reason"] == "not_found"
    call("GET", "/api/v1/sessions/{id}/list/", 200, id=session["id"])
    call("GET", "/api/v1/sessions/{id}/why/", 200, query={"beneficiary": ref}, id=session["id"])
    dose = {
        "beneficiary": ref,
        "dose": 1,
        "vaccine": "COVISHIELD",
        "centre": centre["id"],
        "session": session["id"],
        "lot_number": "4121Z025",
        "client_id": "0b6a3b0e-6f0c-4a55-9b0e-7d6f1f1f2a01",
    }
    record = call("POST", "/api/v1/vaccinations/", 201, body=dose)
    assert call("POST", "/api/v1/vaccinations/", 200, body=dose)["id"] == record["id"]
    again = call("POST", "/api/v1/vaccinations/", 409, body={**dose, "client_id": None})
    assert again["code"] == "already_vaccinated" and again["existing"]["id"] == record["id"]
    early = call("POST", "/api/v1/vaccinations/", 422, body={**dose, "dose": 2, "session": None, "client_id": None})
    assert early["code"] == "dose_not_due"
    call("GET", "/api/v1/vaccinations/{id}/", 200, id=record["id"])
    call("POST", "/api/v1/vaccinations/{id}/void/", 200, body={"reason": "Wrong person"}, id=record["id"])
    call("GET", "/api/v1/reports/sessions/", 200, query={"district": sirsa["id"], "date": today})
    call("GET", "/api/v1/reports/coverage/", 200, query={"state": w.haryana.pk})
    csv = b"name,gender,birth_year,phone,id_type,id_number,category\nAsha,F,1980,9876500000,aadhaar,123,HCW\n"
    upload = call.upload(202, file=(io.BytesIO(csv), "hcw.csv"), kind="beneficiaries", district=sirsa["id"])
    same = call.upload(200, file=(io.BytesIO(csv), "again.csv"), kind="beneficiaries", district=sirsa["id"])
    assert same["duplicate_of"] == upload["id"]
    call("GET", "/api/v1/uploads/{id}/", 200, id=upload["id"])
    call("GET", "/api/v1/uploads/{id}/errors/", 200, id=upload["id"])
    assert call("POST", "/api/v1/uploads/{id}/rollback/", 409, id=upload["id"])["code"] == "running"
    call("POST", "/api/v1/duplicates/scan/", 202, body={"district": sirsa["id"]})
    call("GET", "/api/v1/duplicates/", 200, query={"status": "open"})
