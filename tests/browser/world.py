"""The small Haryana world of tests/base.py, for browser tests (which run outside a
TestCase, against the live server), with known passwords."""

from __future__ import annotations

from types import SimpleNamespace

from covax.accounts.models import Role, User
from tests.browser.conftest import PASSWORD
from tests.factories import BeneficiaryFactory, CentreFactory, DistrictFactory, StateFactory, VaccineFactory


def build_world() -> SimpleNamespace:
    w = SimpleNamespace()
    w.haryana = StateFactory(name="Haryana", name_hi="हरियाणा", code="HR")
    w.hisar = DistrictFactory(state=w.haryana, name="Hisar", name_hi="हिसार")
    w.kurukshetra = DistrictFactory(state=w.haryana, name="Kurukshetra", name_hi="कुरुक्षेत्र")
    w.centre_a = CentreFactory(district=w.hisar, name="Jindal Hospital", name_hi="जिंदल अस्पताल", pincode="125005")
    w.centre_a2 = CentreFactory(district=w.hisar, name="Sevak Sabha Hospital", name_hi="सेवक सभा अस्पताल")
    w.centre_a3 = CentreFactory(district=w.hisar, name="Civil Hospital Hisar", name_hi="नागरिक अस्पताल हिसार")
    w.centre_b = CentreFactory(district=w.kurukshetra, name="LNJP Hospital", name_hi="एलएनजेपी अस्पताल")
    w.covishield = VaccineFactory(code="COVISHIELD", name="Covishield", min_interval_days=28)
    w.covaxin = VaccineFactory(code="COVAXIN", name="Covaxin", min_interval_days=28, max_interval_days=42)
    w.hisar_officer = _user("hisar_officer", Role.DISTRICT_OFFICER, district=w.hisar)
    w.staff_a = _user("staff_a", Role.CENTRE_STAFF, centre=w.centre_a)
    return w


def _user(username: str, role: str, **place) -> User:
    user = User(username=username, role=role, **place)
    user.set_password(PASSWORD)
    user.save()
    return user


NAMES = [
    "Sunita Sharma",
    "Rajesh Kumar",
    "Priya Verma",
    "Amit Yadav",
    "Pooja Jangra",
    "Suresh Malik",
    "Anita Saini",
    "Vikas Bishnoi",
    "Kavita Gupta",
    "Manoj Dahiya",
    "Neha Punia",
    "Sanjay Singh",
]


def health_workers(w, n: int = 12, **fields):
    return [
        BeneficiaryFactory(district=w.hisar, name=NAMES[i % len(NAMES)], category="HCW", **fields) for i in range(n)
    ]
