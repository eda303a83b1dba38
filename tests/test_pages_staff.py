"""Centre staff pages: today's sessions, the session list and its search, verify by ID,
one-step dose marking, walk-ins, adverse events and undo — through the same services
as the API."""

from __future__ import annotations

import datetime as dt
import uuid

from django.test import TestCase
from django.utils import timezone

from beneficiaries.models import Beneficiary
from covax.errors import RuleBroken
from sessions_app.doses.services import walk_in_record
from sessions_app.models import AdverseEvent, Vaccination
from sessions_app.planning.services import allocation_create
from tests.base import WorldMixin
from tests.factories import BeneficiaryFactory, SessionFactory, aadhaar_number
from tests.guard import give


class StaffPagesTestCase(WorldMixin, TestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.session = SessionFactory(centre=cls.centre_a, vaccine=cls.covishield, capacity=50)
        cls.session_a2 = SessionFactory(centre=cls.centre_a2, vaccine=cls.covishield)
        cls.number = aadhaar_number(11)
        cls.sunita = BeneficiaryFactory(
            district=cls.hisar, name="Sunita Sharma", id_number=cls.number, phone="+919812345678"
        )
        cls.rajesh = BeneficiaryFactory(district=cls.hisar, name="Rajesh Kumar")
        allocation_create(session=cls.session, reference_ids=[cls.sunita.reference_id, cls.rajesh.reference_id])

    def setUp(self):
        self.client.force_login(self.staff_a)

    def list_url(self, session=None):
        return f"/sessions/{(session or self.session).pk}/"

    def mark(self, person, **extra):
        return self.client.post(f"{self.list_url()}mark/{person.reference_id}/", {"lot_number": "4121Z001", **extra})

    def test_it_sends_staff_home_to_todays_sessions_at_their_centre(self):
        r = self.client.get("/", follow=True)
        self.assertEqual(r.redirect_chain[-1][0], "/staff/")
        self.assertContains(r, "Jindal Hospital")
        self.assertNotContains(r, "Sevak Sabha Hospital")

    def test_it_shows_the_session_list_with_due_people(self):
        r = self.client.get(self.list_url())
        self.assertContains(r, "Sunita Sharma")
        self.assertContains(r, "Rajesh Kumar")
        self.assertContains(r, f'id="row-{self.sunita.reference_id}"')
        self.assertContains(r, "Mark dose 1")

    def test_it_lists_in_constant_queries(self):
        self.client.get(self.list_url())  # warm the session and user caches
        with self.assertNumQueries(6):
            self.client.get(self.list_url())
        more = BeneficiaryFactory.create_batch(30, district=self.hisar)
        allocation_create(session=self.session, reference_ids=[p.reference_id for p in more])
        with self.assertNumQueries(6):
            r = self.client.get(self.list_url())
        self.assertEqual(r.content.decode().count('class="person person-due"'), 32)

    def test_it_searches_without_javascript_by_name_mobile_and_last4(self):
        for q in ("sunita", "9812345678", self.number[-4:], self.sunita.reference_id):
            r = self.client.get(self.list_url(), {"q": q})
            self.assertContains(r, "Sunita Sharma", msg_prefix=q)
            self.assertNotContains(r, "Rajesh Kumar", msg_prefix=q)

    def test_it_marks_a_dose_in_one_step_and_moves_the_person_to_vaccinated(self):
        r = self.mark(self.sunita)
        self.assertRedirects(r, self.list_url())
        dose = Vaccination.objects.get(beneficiary=self.sunita)
        self.assertEqual(
            (dose.dose, dose.vaccine, dose.centre, dose.session), (1, self.covishield, self.centre_a, self.session)
        )
        self.assertEqual((dose.source, dose.lot_number, dose.given_by), ("form", "4121Z001", self.staff_a))
        page = self.client.get(self.list_url()).content.decode()
        due, done = page.split('id="done-body"')
        self.assertNotIn("Sunita Sharma", due)
        self.assertIn("Sunita Sharma", done)

    def test_it_answers_htmx_with_the_row_moved_to_vaccinated(self):
        r = self.client.post(
            f"{self.list_url()}mark/{self.sunita.reference_id}/", {"lot_number": "L1"}, HTTP_HX_REQUEST="true"
        )
        self.assertEqual(r.status_code, 200)
        body = r.content.decode()
        self.assertIn('hx-swap-oob="afterbegin:#done-body"', body)
        self.assertIn('data-status="vaccinated"', body)

    def test_it_remembers_the_lot_number_for_the_next_dose(self):
        self.mark(self.sunita)
        self.client.post(f"{self.list_url()}mark/{self.rajesh.reference_id}/", {"lot_number": ""})
        self.assertEqual(Vaccination.objects.get(beneficiary=self.rajesh).lot_number, "4121Z001")
        self.assertContains(self.client.get(self.list_url()), 'value="4121Z001"')

    def test_it_refuses_a_second_dose_with_the_existing_record(self):
        self.mark(self.sunita)
        r = self.client.post(
            f"{self.list_url()}mark/{self.sunita.reference_id}/", {"lot_number": "L2"}, HTTP_HX_REQUEST="true"
        )
        self.assertEqual(r.status_code, 409)
        today = timezone.localdate().strftime("%d-%m-%Y")
        self.assertContains(r, f"Dose 1 was already recorded on {today} at Jindal Hospital.", status_code=409)
        self.assertEqual(Vaccination.objects.filter(beneficiary=self.sunita).count(), 1)

    def test_it_replays_a_double_tap_with_the_same_client_id(self):
        key = str(uuid.uuid4())
        self.mark(self.sunita, client_id=key)
        r = self.mark(self.sunita, client_id=key)
        self.assertRedirects(r, self.list_url())
        self.assertEqual(Vaccination.objects.filter(beneficiary=self.sunita).count(), 1)

    def test_it_verifies_by_id_number_without_echoing_it(self):
        r = self.client.post(f"{self.list_url()}verify/", {"id_type": "aadhaar", "id_number": self.number})
        self.assertContains(r, "Sunita Sharma")
        self.assertContains(r, "On the list")
        self.assertNotContains(r, self.number)
        self.assertNotContains(r, self.number[:8])

    def test_it_reports_an_unknown_id_and_offers_a_walk_in(self):
        r = self.client.post(f"{self.list_url()}verify/", {"id_type": "aadhaar", "id_number": aadhaar_number(99)})
        self.assertContains(r, "No one is registered with this ID")
        self.assertContains(r, "/walk-in/")

    def test_it_rejects_an_invalid_id_without_echoing_it(self):
        bad = self.number[:-1] + str((int(self.number[-1]) + 1) % 10)
        r = self.client.post(f"{self.list_url()}verify/", {"id_type": "aadhaar", "id_number": bad})
        self.assertEqual(r.status_code, 400)
        self.assertNotContains(r, bad, status_code=400)
        self.assertContains(r, 'class="errorlist"', status_code=400)

    def test_it_warns_at_verify_when_the_dose_was_already_given(self):
        give(self.sunita, dose=1, vaccine=self.covishield, centre=self.centre_a2, days=2)
        r = self.client.post(f"{self.list_url()}verify/", {"id_type": "aadhaar", "id_number": self.number})
        self.assertContains(r, "Do not vaccinate again")
        self.assertContains(r, "Sevak Sabha Hospital")
        self.assertNotContains(r, "/mark/")

    def walk_in(self, **fields):
        data = {
            "name": "Meena Devi",
            "gender": "F",
            "birth_year": "1975",
            "phone": "98123 00001",
            "id_type": "aadhaar",
            "id_number": aadhaar_number(42),
            "category": "45+",
            "lot_number": "WALK1",
            **fields,
        }
        return self.client.post(f"{self.list_url()}walk-in/", data)

    def test_it_registers_and_vaccinates_a_walk_in_in_one_step(self):
        r = self.walk_in()
        self.assertRedirects(r, self.list_url())
        person = Beneficiary.objects.get(name="Meena Devi")
        self.assertEqual(
            (person.district, person.preferred_centre, person.phone), (self.hisar, self.centre_a, "+919812300001")
        )
        dose = Vaccination.objects.get(beneficiary=person)
        self.assertEqual((dose.session, dose.lot_number), (self.session, "WALK1"))
        self.assertContains(self.client.get(self.list_url()), "Meena Devi")

    def test_it_refuses_a_walk_in_already_registered_and_saves_nothing(self):
        r = self.walk_in(id_number=self.number, name="Sunita S.")
        self.assertEqual(r.status_code, 400)
        self.assertContains(r, self.sunita.reference_id, status_code=400)
        self.assertNotContains(r, self.number, status_code=400)
        self.assertFalse(Beneficiary.objects.filter(name="Sunita S.").exists())

    def test_it_keeps_no_half_registration_when_the_dose_is_refused(self):
        dose2 = SessionFactory(centre=self.centre_a, vaccine=self.covishield, dose=2)
        data = {"name": "New Person", "gender": "M", "birth_year": "1990", "phone": "9812300002"}
        r = self.client.post(
            f"/sessions/{dose2.pk}/walk-in/",
            {**data, "id_type": "aadhaar", "id_number": aadhaar_number(43), "category": "18+"},
        )
        self.assertContains(r, "Dose 1 is not recorded", status_code=400)
        self.assertFalse(Beneficiary.objects.filter(name="New Person").exists())

    def test_it_walks_in_through_one_service_both_or_neither(self):
        person, dose = walk_in_record(
            session=self.session,
            given_by=self.staff_a,
            name="Kamla Devi",
            gender="F",
            birth_year=1960,
            phone="9812300003",
            id_type="aadhaar",
            id_number=aadhaar_number(44),
            category="60+",
            lot_number="LOT9",
        )
        self.assertEqual((person.district, person.preferred_centre), (self.hisar, self.centre_a))
        self.assertEqual(
            (dose.beneficiary, dose.session, dose.source, dose.given_by, dose.lot_number),
            (person, self.session, "form", self.staff_a, "LOT9"),
        )
        dose2 = SessionFactory(centre=self.centre_a, vaccine=self.covishield, dose=2)
        with self.assertRaises(RuleBroken):
            walk_in_record(
                session=dose2,
                given_by=self.staff_a,
                name="Ramesh Lal",
                gender="M",
                birth_year=1980,
                phone="9812300004",
                id_type="aadhaar",
                id_number=aadhaar_number(45),
                category="18+",
            )
        self.assertFalse(Beneficiary.objects.filter(name="Ramesh Lal").exists())

    def test_it_records_an_adverse_event(self):
        self.mark(self.sunita)
        dose = Vaccination.objects.get(beneficiary=self.sunita)
        url = f"/vaccinations/{dose.pk}/aefi/"
        self.assertContains(self.client.get(url), "Serious")
        r = self.client.post(
            url, {"severity": "minor", "notes": "Pain at the injection site", "client_id": str(uuid.uuid4())}
        )
        self.assertRedirects(r, self.list_url())
        event = AdverseEvent.objects.get(vaccination=dose)
        self.assertEqual(
            (event.severity, event.notes, event.recorded_by), ("minor", "Pain at the injection site", self.staff_a)
        )

    def test_it_requires_a_severity_for_an_adverse_event(self):
        self.mark(self.sunita)
        dose = Vaccination.objects.get(beneficiary=self.sunita)
        r = self.client.post(f"/vaccinations/{dose.pk}/aefi/", {"notes": "?"})
        self.assertContains(r, "This field is required", status_code=400)
        self.assertFalse(AdverseEvent.objects.exists())

    def test_it_undoes_a_dose_with_a_reason_and_the_person_is_due_again(self):
        self.mark(self.sunita)
        dose = Vaccination.objects.get(beneficiary=self.sunita)
        self.assertContains(self.client.get(self.list_url()), f"/vaccinations/{dose.pk}/undo/")
        r = self.client.post(f"/vaccinations/{dose.pk}/undo/", {"reason": ""})
        self.assertEqual(r.status_code, 400)
        r = self.client.post(f"/vaccinations/{dose.pk}/undo/", {"reason": "Wrong person marked"})
        self.assertRedirects(r, self.list_url())
        dose.refresh_from_db()
        self.assertEqual((dose.void_reason, dose.voided_by), ("Wrong person marked", self.staff_a))
        page = self.client.get(self.list_url()).content.decode()
        self.assertIn("Sunita Sharma", page.split('id="done-body"')[0])

    def test_it_refuses_to_undo_after_the_window(self):
        self.mark(self.sunita)
        dose = Vaccination.objects.get(beneficiary=self.sunita)
        Vaccination.objects.filter(pk=dose.pk).update(received_at=timezone.now() - dt.timedelta(minutes=16))
        r = self.client.post(f"/vaccinations/{dose.pk}/undo/", {"reason": "Too late"})
        self.assertContains(r, "within 15 minutes", status_code=400)
        dose.refresh_from_db()
        self.assertIsNone(dose.voided_at)
