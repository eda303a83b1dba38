"""Full ID numbers appear nowhere: not in the database, API answers, pages or logs."""

from __future__ import annotations

import json
import logging

from django.db import connection

from tests.base import ApiTestCase
from tests.factories import aadhaar_number


class PrivacyTestCase(ApiTestCase):
    def setUp(self):
        self.numbers = [aadhaar_number(seed=100 + i) for i in range(3)]
        client = self.client_for(self.hisar_officer)
        for i, number in enumerate(self.numbers):
            r = client.post(
                "/api/v1/beneficiaries/",
                {
                    "name": f"Person {i}",
                    "gender": "M",
                    "birth_year": 1970,
                    "phone": f"98123450{i:02d}",
                    "id_type": "aadhaar",
                    "id_number": number,
                    "category": "HCW",
                    "district": self.hisar.pk,
                },
                format="json",
            )
            self.assertEqual(r.status_code, 201, r.content)
        # the same number again (409) and a wrong one (400) must not echo it either
        client.post("/api/v1/beneficiaries/", {"id_type": "aadhaar", "id_number": self.numbers[0]}, format="json")

    def assertNoNumber(self, text: str, where: str):
        for number in self.numbers:
            for form in (number, f"{number[:4]} {number[4:8]} {number[8:]}"):
                self.assertNotIn(form, text, f"full ID number found in {where}")

    def test_it_keeps_full_numbers_out_of_every_table(self):
        with connection.cursor() as cursor:
            tables = connection.introspection.table_names(cursor)
            for table in tables:
                cursor.execute(f'SELECT * FROM "{table}"')
                self.assertNoNumber(json.dumps(cursor.fetchall(), default=str), f"table {table}")

    def test_it_keeps_full_numbers_out_of_every_api_answer(self):
        client = self.client_for(self.superuser)
        schema = json.loads(client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content)
        lists = [p for p, ops in schema["paths"].items() if "get" in ops and "{" not in p]
        self.assertIn("/api/v1/beneficiaries/", lists)
        for path in lists:
            self.assertNoNumber(client.get(path).content.decode(), path)
        for number in self.numbers:
            r = client.get("/api/v1/beneficiaries/", {"id_type": "aadhaar", "id_number": number})
            self.assertEqual(r.json()["count"], 1)
            self.assertNoNumber(r.content.decode(), "lookup by id_number")
            ref = r.json()["results"][0]["reference_id"]
            self.assertNoNumber(client.get(f"/api/v1/beneficiaries/{ref}/").content.decode(), "detail")

    def test_it_keeps_full_numbers_out_of_logs_and_errors(self):
        client = self.client_for(self.hisar_officer)
        with self.assertLogs(level=logging.DEBUG) as logs:
            logging.getLogger("covax").debug("marker")
            r = client.post(
                "/api/v1/beneficiaries/",
                {
                    "name": "X",
                    "gender": "M",
                    "birth_year": 1970,
                    "phone": "9812345099",
                    "id_type": "aadhaar",
                    "id_number": self.numbers[1],
                    "category": "HCW",
                    "district": self.hisar.pk,
                },
                format="json",
            )
            self.assertEqual(r.status_code, 409)
            wrong = self.numbers[2][:-1] + str((int(self.numbers[2][-1]) + 1) % 10)
            r = client.post(
                "/api/v1/beneficiaries/",
                {
                    "name": "Y",
                    "gender": "M",
                    "birth_year": 1970,
                    "phone": "9812345098",
                    "id_type": "aadhaar",
                    "id_number": wrong,
                    "category": "HCW",
                    "district": self.hisar.pk,
                },
                format="json",
            )
            self.assertEqual(r.status_code, 400)
            self.assertNotIn(wrong, r.content.decode())
        self.assertNoNumber("\n".join(logs.output), "logs")
