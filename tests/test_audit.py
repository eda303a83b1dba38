"""Every change is audited on PostgreSQL (django-pghistory triggers), with reasons."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.utils import timezone

from sessions_app.models import Centre, Vaccination
from sessions_app.services import vaccination_record, vaccination_void
from tests.base import ApiTestCase
from tests.factories import BeneficiaryFactory


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
