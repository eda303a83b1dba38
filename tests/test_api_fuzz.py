"""Schema-driven fuzzing: schemathesis generates requests from /api/schema/ for every
v1 operation, as a state admin and as an anonymous caller. No answer may be a 5xx, every
status code must be one the schema documents for that operation, and every documented
answer (successes and errors alike) must match its schema (SPEC §4, §6, issue 6).

Each generated request runs inside a savepoint that is rolled back afterwards, so every
case meets the same small world and a database error in one case cannot leak into the
next one.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections, transaction
from django.urls import Resolver404, resolve
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from covax.wsgi import application
from tests.base import WorldMixin
from tests.factories import BeneficiaryFactory, SessionFactory

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
# Requests with methods a path does not have only meet the router's 405: not worth the time.
schema.config.phases.coverage.unexpected_methods = set()
# An anonymous caller meets 401 whatever the body: a few cases per operation are enough.
anonymous_schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
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
