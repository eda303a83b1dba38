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

    def test_it_looks_a_person_up_by_any_spelling_of_the_id_type_the_create_accepts(self):
        ref = self.client.post("/api/v1/beneficiaries/", self.person(id_type="AADHAAR"), format="json").json()
        spellings = ["AADHAAR", "aadhaar", "Aadhaar", "aadhar", "Aadhaar Card", "AADHAR_CARD", " uid ", "UIDAI", "आधार"]
        for spelling in spellings:
            r = self.client.get("/api/v1/beneficiaries/", {"id_type": spelling, "id_number": self.number})
            self.assertEqual(r.status_code, 200, (spelling, r.content))
            self.assertEqual([p["reference_id"] for p in r.json()["results"]], [ref["reference_id"]], spelling)
        # The spelling names the type: the same number as another type is nobody.
        r = self.client.get("/api/v1/beneficiaries/", {"id_type": "Voter ID", "id_number": self.number})
        self.assertEqual((r.status_code, r.json()["results"]), (200, []))

    def test_it_filters_by_id_type_alone_in_any_spelling(self):
        aadhaar = self.client.post("/api/v1/beneficiaries/", self.person(), format="json").json()["reference_id"]
        pan = self.person(id_type="PAN Card", id_number="ABCDE1234F", phone="98765 43211")
        pan = self.client.post("/api/v1/beneficiaries/", pan, format="json").json()["reference_id"]
        voter = self.person(id_type="voter_id", id_number="ABC1234567", phone="98765 43212")
        voter = self.client.post("/api/v1/beneficiaries/", voter, format="json").json()["reference_id"]
        for spelling, expected in [
            ("AADHAAR", [aadhaar]),
            ("Aadhar Card", [aadhaar]),
            ("pan", [pan]),
            ("PANCARD", [pan]),
            ("पैन कार्ड", [pan]),
            ("EPIC", [voter]),
            ("Voter ID", [voter]),
            ("VOTER_ID", [voter]),
            ("Driving License", []),
            ("DL", []),
            ("", [aadhaar, pan, voter]),
        ]:
            r = self.client.get("/api/v1/beneficiaries/", {"id_type": spelling})
            self.assertEqual(r.status_code, 200, (spelling, r.content))
            self.assertCountEqual([p["reference_id"] for p in r.json()["results"]], expected, spelling)

    def test_it_refuses_an_unknown_id_type_in_a_filter_naming_the_parameter(self):
        for query in [{"id_type": "ration card"}, {"id_type": "%d-%m"}, {"id_type": "bogus", "id_number": self.number}]:
            r = self.client.get("/api/v1/beneficiaries/", query)
            self.assertEqual(r.status_code, 400, query)
            body = r.json()
            self.assertEqual(body["code"], "invalid")
            self.assertEqual(list(body["errors"]), ["id_type"])
            self.assertIn("Unknown ID type", body["errors"]["id_type"][0])
            self.assertIn("aadhaar", body["errors"]["id_type"][0])
            self.assertTrue(body["detail"].startswith("id_type:"), body["detail"])
            self.assertNotIn(self.number, r.content.decode())
        r = self.client.get("/api/v1/beneficiaries/", {"id_type": "bogus"}, HTTP_ACCEPT_LANGUAGE="hi")
        self.assertIn("अज्ञात पहचान पत्र प्रकार", r.json()["errors"]["id_type"][0])

    def test_it_documents_id_type_as_a_string_of_any_accepted_spelling(self):
        r = self.client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
        parameters = json.loads(r.content)["paths"]["/api/v1/beneficiaries/"]["get"]["parameters"]
        (id_type,) = [p for p in parameters if p["name"] == "id_type"]
        self.assertEqual(id_type["schema"]["type"], "string")
        self.assertNotIn("enum", id_type["schema"])  # an enum of codes would refuse "AADHAAR"
        for code in ["aadhaar", "pan", "epic", "passport", "driving_licence", "other"]:
            self.assertIn(f"`{code}`", id_type["description"])
        self.assertIn("any case", id_type["description"])

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
