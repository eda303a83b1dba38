"""Helpers for the guard tests: people with doses given some days ago."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from sessions_app.models import Vaccination
from tests.factories import BeneficiaryFactory, SessionFactory


def days_ago(days: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


def give(person, *, dose, vaccine, centre, days: int = 0, session=None, source="form") -> Vaccination:
    return Vaccination.objects.create(
        beneficiary=person,
        dose=dose,
        vaccine=vaccine,
        centre=centre,
        session=session,
        administered_at=days_ago(days),
        source=source,
    )


def people(n: int, **fields):
    return BeneficiaryFactory.create_batch(n, **fields)


def session_at(centre, vaccine, **fields):
    return SessionFactory(centre=centre, vaccine=vaccine, **fields)


def dose_body(person, session, /, **over) -> dict:
    """A POST /api/v1/vaccinations/ body: dose 1 of the session's vaccine at its centre."""
    body = {
        "beneficiary": person.reference_id,
        "dose": 1,
        "vaccine": session.vaccine.code,
        "centre": session.centre_id,
        "session": session.pk,
    }
    return {**body, **over}
