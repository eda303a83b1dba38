"""A base test case with a small world and named users for permission checks.

Haryana: Hisar (centres A "Jindal" and A2 "Sevak Sabha") and Kurukshetra (centre B
"LNJP"). Bihar: Muzaffarpur (centre C "SKMCH"). One user per role and place.
"""

from __future__ import annotations

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient, APITestCase

from covax.accounts.models import Role, User
from tests.factories import CentreFactory, DistrictFactory, StateFactory, VaccineFactory


class WorldMixin:
    @classmethod
    def setUpTestData(cls):
        cls.haryana = StateFactory(name="Haryana", name_hi="हरियाणा", code="HR")
        cls.bihar = StateFactory(name="Bihar", name_hi="बिहार", code="BR")
        cls.hisar = DistrictFactory(state=cls.haryana, name="Hisar", name_hi="हिसार")
        cls.kurukshetra = DistrictFactory(state=cls.haryana, name="Kurukshetra", name_hi="कुरुक्षेत्र")
        cls.muzaffarpur = DistrictFactory(state=cls.bihar, name="Muzaffarpur", name_hi="मुज़फ़्फ़रपुर")
        cls.centre_a = CentreFactory(district=cls.hisar, name="Jindal Hospital", pincode="125005")
        cls.centre_a2 = CentreFactory(district=cls.hisar, name="Sevak Sabha Hospital", pincode="125001")
        cls.centre_b = CentreFactory(district=cls.kurukshetra, name="LNJP Hospital", pincode="136118")
        cls.centre_c = CentreFactory(district=cls.muzaffarpur, name="SKMCH", pincode="842004")
        cls.covishield = VaccineFactory(code="COVISHIELD", name="Covishield", min_interval_days=28)
        cls.covaxin = VaccineFactory(code="COVAXIN", name="Covaxin", min_interval_days=28, max_interval_days=42)

        cls.superuser = User.objects.create_superuser("root", password="pw-root-1234")
        cls.haryana_admin = cls.make_user("haryana_admin", Role.STATE_ADMIN, state=cls.haryana)
        cls.bihar_admin = cls.make_user("bihar_admin", Role.STATE_ADMIN, state=cls.bihar)
        cls.hisar_officer = cls.make_user("hisar_officer", Role.DISTRICT_OFFICER, district=cls.hisar)
        cls.kkr_officer = cls.make_user("kkr_officer", Role.DISTRICT_OFFICER, district=cls.kurukshetra)
        cls.staff_a = cls.make_user("staff_a", Role.CENTRE_STAFF, centre=cls.centre_a)
        cls.staff_a2 = cls.make_user("staff_a2", Role.CENTRE_STAFF, centre=cls.centre_a2)
        cls.staff_b = cls.make_user("staff_b", Role.CENTRE_STAFF, centre=cls.centre_b)

    def client_for(self, user: User | None) -> APIClient:
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    @staticmethod
    def make_user(username: str, role: str, **place) -> User:
        user = User(username=username, role=role, **place)
        user.set_password("pw-" + username)
        user.save()
        return user


class ApiTestCase(WorldMixin, APITestCase):
    """The world, in a transaction rolled back after each test."""
