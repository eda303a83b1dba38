"""factory-boy factories. People get valid synthetic Aadhaar numbers; pass `id_number=`
to know a person's number in a test (it is hashed, never saved)."""

from __future__ import annotations

import datetime as dt
import itertools
import random

import factory
from django.utils import timezone

from beneficiaries.identity import identify, verhoeff_check_digit
from beneficiaries.models import Beneficiary
from sessions_app.models import Centre, District, Session, State, Vaccine

_rng = random.Random(7)
_serial = itertools.count(1)


def aadhaar_number(seed: int | None = None) -> str:
    rng = random.Random(seed) if seed is not None else _rng
    body = str(rng.randint(2, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(10))
    return body + verhoeff_check_digit(body)


class StateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = State

    name = factory.Sequence(lambda n: f"State {n}")
    name_hi = factory.Sequence(lambda n: f"राज्य {n}")
    code = factory.Sequence(lambda n: f"S{n}")


class DistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = District

    state = factory.SubFactory(StateFactory)
    name = factory.Sequence(lambda n: f"District {n}")
    name_hi = factory.Sequence(lambda n: f"ज़िला {n}")


class CentreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Centre

    district = factory.SubFactory(DistrictFactory)
    name = factory.Sequence(lambda n: f"Centre {n}")
    name_hi = factory.Sequence(lambda n: f"केंद्र {n}")
    address = "Main Road"
    block = "Block I"
    pincode = "125001"
    lat = 29.15
    long = 75.72
    opens = dt.time(9)
    closes = dt.time(17)


class VaccineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vaccine
        django_get_or_create = ["code"]

    code = "COVISHIELD"
    name = "Covishield"
    doses = 2
    min_interval_days = 28
    max_interval_days = 84


class SessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Session

    centre = factory.SubFactory(CentreFactory)
    date = factory.LazyFunction(timezone.localdate)
    vaccine = factory.SubFactory(VaccineFactory)
    dose = 1
    capacity = 100
    slots = ["09:00AM-11:00AM", "11:00AM-01:00PM"]
    categories = []
    status = "open"


class BeneficiaryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Beneficiary
        exclude = ["id_number"]

    id_number = factory.LazyFunction(aadhaar_number)
    reference_id = factory.LazyFunction(lambda: f"{10**13 + next(_serial) * 7919:014d}")
    name = factory.Faker("name", locale="en_IN")
    gender = "F"
    birth_year = 1980
    phone = factory.LazyFunction(lambda: f"+9198{next(_serial):08d}")
    id_type = "aadhaar"
    id_hash = factory.LazyAttribute(lambda o: identify(o.id_type, o.id_number).id_hash)
    id_last4 = factory.LazyAttribute(lambda o: o.id_number[-4:])
    category = "HCW"
    district = factory.SubFactory(DistrictFactory)
