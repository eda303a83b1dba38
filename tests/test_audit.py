"""Every change is audited on PostgreSQL (django-pghistory triggers), with reasons."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.utils import timezone

from sessions_app.doses.services import vaccination_record, vaccination_void
from sessions_app.models import Allocation, Centre, Vaccination
from sessions_app.planning.services import allocation_create
from tests.base import ApiTestCase
from tests.factories import BeneficiaryFactory, SessionFactory
from tests.guard import dose_body


@pytest.mark.postgres
class AuditTestCase(ApiTestCase):
    def test_it_records_a_void_with_its_reason_and_the_old_values(self):
        person = BeneficiaryFactory(district=self.hisar)
        record, _ = vaccination_record(
            beneficiary=person,
            dose=1,
            vaccine=self.covishield,
            centre=self.centre_a,
            source="api",
            administered_at=timezone.now(),
        )
        vaccination_void(vaccination=record, reason="recorded against the wrong person", user=self.staff_a)
        Event = apps.get_model("sessions_app", "VaccinationEvent")
        events = Event.objects.filter(pgh_obj_id=record.pk).order_by("pgh_id")
        self.assertEqual([e.pgh_label for e in events], ["insert", "update"])
        self.assertIsNone(events[0].voided_at)
        self.assertEqual(events[1].pgh_context.metadata["reason"], "recorded against the wrong person")
        self.assertTrue(Vaccination.objects.filter(pk=record.pk).exists(), "a void never deletes")

    def test_it_records_api_changes_with_the_user(self):
        client = self.client_for(self.hisar_officer)
        r = client.post("/api/v1/centres/", {"district": self.hisar.pk, "name": "PHC Agroha", "pincode": "125047"})
        self.assertEqual(r.status_code, 201, r.content)
        Event = apps.get_model("sessions_app", "CentreEvent")
        event = Event.objects.get(pgh_obj_id=r.json()["id"], pgh_label="insert")
        self.assertEqual(event.name, "PHC Agroha")
        self.assertIn("/api/v1/centres/", event.pgh_context.metadata["url"])
        self.assertEqual(event.pgh_context.metadata["user"], self.hisar_officer.pk)
        self.assertTrue(Centre.objects.filter(name="PHC Agroha").exists())

    def test_it_records_a_dose_marked_through_the_api_with_the_user(self):
        # The dose's checked write is hand-written SQL, sent through Django's cursor:
        # pghistory adds who and which URL as to any write.
        person = BeneficiaryFactory(district=self.hisar)
        elsewhere = SessionFactory(centre=self.centre_a2, vaccine=self.covishield)
        allocation_create(session=elsewhere, reference_ids=[person.reference_id])
        session = SessionFactory(centre=self.centre_a, vaccine=self.covishield)
        r = self.client_for(self.staff_a).post("/api/v1/vaccinations/", dose_body(person, session), format="json")
        self.assertEqual(r.status_code, 201, r.content)
        Event = apps.get_model("sessions_app", "VaccinationEvent")
        event = Event.objects.get(pgh_obj_id=r.json()["id"], pgh_label="insert")
        self.assertEqual(event.pgh_context.metadata["user"], self.staff_a.pk)
        self.assertIn("/api/v1/vaccinations/", event.pgh_context.metadata["url"])
        # The place it freed in the other session: the same request, the same context.
        released = apps.get_model("sessions_app", "AllocationEvent").objects.get(
            pgh_obj_id=Allocation.objects.get(session=elsewhere).pk, pgh_label="update"
        )
        self.assertEqual(released.status, "cancelled")
        self.assertEqual(released.pgh_context_id, event.pgh_context_id)

    def test_it_records_a_dose_outside_any_request_without_a_context(self):
        person = BeneficiaryFactory(district=self.hisar)
        self.client_for(self.staff_a).get("/api/v1/vaccinations/")  # a request's context ended before
        record, _ = vaccination_record(
            beneficiary=person, dose=1, vaccine=self.covishield, centre=self.centre_a, source="upload"
        )
        Event = apps.get_model("sessions_app", "VaccinationEvent")
        self.assertIsNone(Event.objects.get(pgh_obj_id=record.pk, pgh_label="insert").pgh_context_id)
