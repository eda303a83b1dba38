"""Hisar, January 2021, replayed through the real pipeline (SPEC §1.1, §3 guard 1 and 3).

1,019 health workers are uploaded; 452 of them already have dose 1 — recorded through a
back-fill upload of paper records, the API and offline sync. The list is uploaded again
as an exact copy and as a re-verified copy ("verified twice"). Dose-1 sessions at nine
centres are then allocated automatically. The lists must hold exactly the 567 who are
due and none of the 452, each person once.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.test import override_settings
from django.utils import timezone

from beneficiaries.models import Beneficiary
from sessions_app.doses.services import vaccination_record
from sessions_app.models import Allocation, Vaccination
from tests.base import ApiTestCase
from tests.factories import CentreFactory
from tests.uploads import HEADER, as_file, csv_bytes, person_rows

WORKERS, VACCINATED = 1019, 452
DOSE_HEADER = ["id_type", "id_number", "dose", "vaccine", "administered_on", "centre_id", "lot_number"]


def re_verified(rows: list[list[str]]) -> bytes:
    """The same list after another round of verification: reordered, re-cased, re-spaced."""
    copy = []
    for name, gender, year, phone, _type, number, category, employer in reversed(rows):
        copy.append([f" {name.upper()}  ", gender.lower(), year, f"+91-{phone[:5]} {phone[5:]}", "Aadhaar",
                     f"{number[:4]} {number[4:8]} {number[8:]}", category.lower(), employer.upper()])  # fmt: skip
    return csv_bytes(copy, [h.title() for h in HEADER], bom=True)


@override_settings(COVAX_BACKGROUND="eager")
class HisarTestCase(ApiTestCase):
    def upload(self, content: bytes, *, kind: str = "beneficiaries"):
        with self.captureOnCommitCallbacks(execute=True):
            r = self.officer.post(
                "/api/v1/uploads/",
                {"file": as_file(content), "kind": kind, "district": self.hisar.pk},
                format="multipart",
            )
        self.assertIn(r.status_code, (200, 202), r.content)
        return r.json()["id"], self.officer.get(f"/api/v1/uploads/{r.json()['id']}/").json()

    def counts(self, body: dict) -> tuple:
        keys = ("status", "rows_total", "rows_created", "rows_existing", "rows_duplicate_in_file", "rows_invalid")
        return tuple(body[k] for k in keys)

    def record_452_first_doses(self, rows: list[list[str]]) -> set[str]:
        by_last = {row[5]: row for row in rows}
        vaccinated = rows[::2][:VACCINATED]  # every other worker, spread through the list
        paper, api, offline = vaccinated[:200], vaccinated[200:320], vaccinated[320:]
        # 200 doses written on paper on Saturday, back-filled through an upload.
        doses = [["aadhaar", r[5], "1", "COVISHIELD", "16-01-2021", str(self.centre_a.pk), "4121Z025"] for r in paper]
        _, body = self.upload(csv_bytes(doses, DOSE_HEADER), kind="vaccinations")
        self.assertEqual(self.counts(body), ("succeeded", 200, 200, 0, 0, 0))
        # 120 marked by a vaccinator through the API.
        staff = self.client_for(self.staff_a)
        for row in api:
            person = self.person(row)
            r = staff.post(
                "/api/v1/vaccinations/",
                {"beneficiary": person.reference_id, "dose": 1, "vaccine": "COVISHIELD", "centre": self.centre_a.pk,
                 "lot_number": "4121Z025", "client_id": str(uuid.uuid4())},
                format="json",
            )  # fmt: skip
            self.assertEqual(r.status_code, 201, r.content)
        # The rest marked on a phone with no network, synced later.
        for row in offline:
            vaccination_record(beneficiary=self.person(row), dose=1, vaccine=self.covishield, centre=self.centre_a2,
                               source="offline", client_id=uuid.uuid4())  # fmt: skip
        self.assertEqual(len(by_last), WORKERS)
        return {self.person(row).reference_id for row in vaccinated}

    def person(self, row: list[str]) -> Beneficiary:
        return Beneficiary.objects.get(id_last4=row[5][-4:], name=row[0])

    def test_the_lists_hold_exactly_the_567_who_are_due(self):
        self.officer = self.client_for(self.hisar_officer)
        rows = person_rows(WORKERS, seed=7)
        original = csv_bytes(rows)
        first_id, body = self.upload(original)
        self.assertEqual(self.counts(body), ("succeeded", WORKERS, WORKERS, 0, 0, 0))

        vaccinated = self.record_452_first_doses(rows)
        self.assertEqual(Vaccination.objects.filter(dose=1).count(), VACCINATED)

        # Verified twice: the exact file again, then a re-verified copy. Nobody new.
        again = self.officer.post(
            "/api/v1/uploads/", {"file": as_file(original), "kind": "beneficiaries", "district": self.hisar.pk}
        )
        self.assertEqual((again.status_code, again.json()["duplicate_of"]), (200, first_id))
        _, body = self.upload(re_verified(rows))
        self.assertEqual(self.counts(body), ("succeeded", WORKERS, 0, WORKERS, 0, 0))
        self.assertEqual(Beneficiary.objects.count(), WORKERS)

        # Dose-1 sessions at nine centres, 65 places each (585 >= 567), allocated automatically.
        centres = [self.centre_a, self.centre_a2] + [
            CentreFactory(district=self.hisar, name=name, pincode="125001")
            for name in ("Sarvodaya", "CMC", "Sukhda", "Aadhar", "Geetanjali", "Civil Hospital", "ESI Hospital")
        ]
        sessions, tomorrow = [], (timezone.localdate() + dt.timedelta(days=1)).isoformat()
        for centre in centres:
            r = self.officer.post(
                "/api/v1/sessions/",
                {"centre": centre.pk, "date": tomorrow, "vaccine": "COVISHIELD", "dose": 1, "capacity": 65,
                 "min_age": 18, "slots": ["09:00AM-01:00PM"], "categories": ["HCW"]},
                format="json",
            )  # fmt: skip
            self.assertEqual(r.status_code, 201, r.content)
            sessions.append(r.json()["id"])
            self.assertEqual(self.officer.post(f"/api/v1/sessions/{r.json()['id']}/allocate/", {"auto": True},
                                               format="json").status_code, 200)  # fmt: skip

        # The list is verified once more after allocation: still nobody new, lists unchanged.
        _, body = self.upload(re_verified(rows[::-1]))
        self.assertEqual(body["rows_created"], 0)

        listed: list[str] = []
        for pk in sessions:
            page = self.officer.get(f"/api/v1/sessions/{pk}/list/", {"page_size": 1000}).json()
            self.assertTrue(all(row["status"] == "due" for row in page["results"]))
            listed += [row["reference_id"] for row in page["results"]]
        due = set(Beneficiary.objects.values_list("reference_id", flat=True)) - vaccinated
        self.assertEqual(len(due), WORKERS - VACCINATED)
        self.assertEqual(len(listed), len(set(listed)), "someone is on two lists")
        self.assertEqual(set(listed), due)
        self.assertFalse(set(listed) & vaccinated)
        self.assertEqual(Allocation.objects.filter(status="active").count(), WORKERS - VACCINATED)
