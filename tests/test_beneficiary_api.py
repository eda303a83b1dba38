"""Registering and finding people through the API; the full ID number never leaves."""

from __future__ import annotations

import json

from beneficiaries.models import Beneficiary
from tests.base import ApiTestCase
from tests.factories import aadhaar_number


class BeneficiaryApiTestCase(ApiTestCase):
    def person(self, **over):
        body = {
            "name": "  sunita   sharma ",
            "gender": "F",
            "birth_year": 1985,
            "phone": "98765 43210",
            "id_type": "aadhaar",
            "id_number": self.number,
            "category": "HCW",
            "district": self.hisar.pk,
        }
        body.update(over)
        return body

    def setUp(self):
        self.number = aadhaar_number(seed=11)
        self.client = self.client_for(self.hisar_officer)

    def test_it_registers_a_person_with_a_reference_id_and_last4_only(self):
        r = self.client.post("/api/v1/beneficiaries/", self.person(), format="json")
        self.assertEqual(r.status_code, 201, r.content)
        body = r.json()
        self.assertRegex(body["reference_id"], r"^\d{14}$")
        self.assertEqual(body["id_last4"], self.number[-4:])
        self.assertEqual(body["name"], "Sunita Sharma")
        self.assertEqual(body["phone"], "+919876543210")
        self.assertEqual(body["doses"], [])
        self.assertNotIn(self.number, r.content.decode())
        stored = Beneficiary.objects.get(reference_id=body["reference_id"])
        self.assertNotIn(self.number, json.dumps([str(v) for v in stored.__dict__.values()]))

    def test_it_answers_409_with_the_existing_reference_id(self):
        first = self.client.post("/api/v1/beneficiaries/", self.person(), format="json").json()
        spaced = f"{self.number[:4]} {self.number[4:8]}-{self.number[8:]}"
        r = self.client.post("/api/v1/beneficiaries/", self.person(id_number=spaced, name="S Sharma"), format="json")
        self.assertEqual(r.status_code, 409)
        self.assertEqual(r.json()["code"], "duplicate_identity")
        self.assertEqual(r.json()["reference_id"], first["reference_id"])
        self.assertEqual(Beneficiary.objects.count(), 1)

    def test_it_finds_a_person_by_id_number_through_the_hash(self):
        ref = self.client.post("/api/v1/beneficiaries/", self.person(), format="json").json()["reference_id"]
        r = self.client.get("/api/v1/beneficiaries/", {"id_type": "aadhaar", "id_number": self.number})
        self.assertEqual([p["reference_id"] for p in r.json()["results"]], [ref])
        r = self.client.get("/api/v1/beneficiaries/", {"id_type": "aadhaar", "id_number": aadhaar_number(seed=12)})
        self.assertEqual(r.json()["results"], [])

    def test_it_names_the_field_of_a_bad_id(self):
        r = self.client.post("/api/v1/beneficiaries/", self.person(id_number="2.34568E+11"), format="json")
        self.assertEqual(r.status_code, 400)
        self.assertEqual(r.json()["field"], "id_number")
        self.assertIn("spreadsheet", r.json()["detail"])

    def test_it_refuses_a_mangled_phone_with_the_field(self):
        r = self.client.post("/api/v1/beneficiaries/", self.person(phone="12"), format="json")
        self.assertEqual(r.status_code, 400)
        self.assertEqual(r.json()["field"], "phone")

    def test_it_refuses_a_district_outside_scope(self):
        r = self.client.post("/api/v1/beneficiaries/", self.person(district=self.kurukshetra.pk), format="json")
        self.assertEqual(r.status_code, 400)
        self.assertIn("district", r.json()["errors"])


class SchemaTestCase(ApiTestCase):
    def test_it_serves_the_openapi_schema_and_docs_without_a_cdn(self):
        r = self.client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
        self.assertEqual(r.status_code, 200)
        paths = json.loads(r.content)["paths"]
        for path in ["/api/v1/auth/token/", "/api/v1/beneficiaries/", "/api/v1/sessions/", "/api/v1/centres/"]:
            self.assertIn(path, paths)
        docs = self.client.get("/api/docs/").content.decode()
        self.assertNotIn("cdn.jsdelivr", docs)
        self.assertNotIn("unpkg.com", docs)

    def test_it_issues_a_token_and_refuses_a_wrong_password_as_json(self):
        r = self.client.post("/api/v1/auth/token/", {"username": "staff_a", "password": "pw-staff_a"}, format="json")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(len(r.json()["token"]), 40)
        r = self.client.post("/api/v1/auth/token/", {"username": "staff_a", "password": "nope"}, format="json")
        self.assertEqual(r.status_code, 400)
        self.assertEqual(r.json()["code"], "invalid_credentials")
