"""Offline at the centre, server side (SPEC §3): the sync endpoint that queued doses and
adverse events are sent to, the service worker's script, the printable session list and
what the session page gives its offline script."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid

from django.test import Client, TestCase
from django.utils import timezone

from sessions_app.doses.services import vaccination_record
from sessions_app.models import AdverseEvent, Vaccination
from sessions_app.planning.services import allocation_create
from tests.base import WorldMixin
from tests.factories import BeneficiaryFactory, SessionFactory, aadhaar_number
from tests.guard import give


def earlier_today(minutes: int) -> dt.datetime:
    """A device time `minutes` ago, but never before today's local midnight (the
    session is today, whatever the hour the tests run at)."""
    midnight = timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time.min))
    return max(timezone.now() - dt.timedelta(minutes=minutes), midnight + dt.timedelta(seconds=1))


class OfflineTestCase(WorldMixin, TestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.session = SessionFactory(centre=cls.centre_a, vaccine=cls.covishield, capacity=50)
        cls.number = aadhaar_number(21)
        cls.sunita = BeneficiaryFactory(district=cls.hisar, name="Sunita Sharma", id_number=cls.number)
        cls.rajesh = BeneficiaryFactory(district=cls.hisar, name="Rajesh Kumar")
        allocation_create(session=cls.session, reference_ids=[cls.sunita.reference_id, cls.rajesh.reference_id])

    def setUp(self):
        self.client.force_login(self.staff_a)

    def sync(self, payload: dict, *, session=None, client=None):
        url = f"/sessions/{(session or self.session).pk}/sync/"
        return (client or self.client).post(url, json.dumps(payload), content_type="application/json")

    def dose(self, person=None, **extra) -> dict:
        return {
            "kind": "dose",
            "client_id": str(uuid.uuid4()),
            "reference_id": (person or self.sunita).reference_id,
            "lot_number": "4121Z001",
            "administered_at": earlier_today(90).isoformat(),
            **extra,
        }


class SyncDoseTests(OfflineTestCase):
    def test_it_records_an_offline_dose_with_the_device_time_and_the_server_time_apart(self):
        given = earlier_today(90)
        before = timezone.now()
        r = self.sync(self.dose(administered_at=given.isoformat()))
        self.assertEqual(r.status_code, 201)
        self.assertEqual(r.json()["status"], "recorded")
        record = Vaccination.objects.get(beneficiary=self.sunita)
        self.assertEqual((record.source, record.session, record.lot_number), ("offline", self.session, "4121Z001"))
        self.assertEqual(record.given_by, self.staff_a)
        self.assertEqual(record.administered_at, given)  # the device's time: when the dose was given
        self.assertGreaterEqual(record.received_at, before)  # the server's: when it learnt of it
        self.assertEqual(r.json()["vaccination"]["id"], record.pk)

    def test_it_accepts_the_device_time_as_javascript_writes_it(self):
        given = earlier_today(5).astimezone(dt.UTC)
        r = self.sync(self.dose(administered_at=given.strftime("%Y-%m-%dT%H:%M:%S.") + "123Z"))
        self.assertEqual(r.status_code, 201)
        self.assertEqual(Vaccination.objects.get().administered_at, given.replace(microsecond=123000))

    def test_it_replays_a_repeated_sync_and_writes_nothing(self):
        payload = self.dose()
        first = self.sync(payload)
        again = self.sync(payload)  # the answer was lost on the way back: the device sends it again
        self.assertEqual(again.status_code, 200)
        self.assertEqual(again.json()["status"], "replayed")
        self.assertEqual(again.json()["vaccination"]["id"], first.json()["vaccination"]["id"])
        self.assertEqual(Vaccination.objects.count(), 1)

    def test_it_replays_a_dose_whose_online_request_did_arrive(self):
        # The page's request got through but its answer did not; the queued copy carries
        # the same client_id and must not become a second dose.
        key = uuid.uuid4()
        self.client.post(f"/sessions/{self.session.pk}/mark/{self.sunita.reference_id}/", {"client_id": str(key)})
        r = self.sync(self.dose(client_id=str(key)))
        self.assertEqual(r.status_code, 200)
        self.assertEqual(Vaccination.objects.filter(beneficiary=self.sunita).count(), 1)
        self.assertEqual(Vaccination.objects.get().source, "form")

    def test_it_refuses_a_dose_given_elsewhere_meanwhile_with_the_reason(self):
        give(self.sunita, dose=1, vaccine=self.covishield, centre=self.centre_a2)
        r = self.sync(self.dose())
        self.assertEqual(r.status_code, 409)
        today = timezone.localdate().strftime("%d-%m-%Y")
        self.assertEqual(r.json()["code"], "already_vaccinated")
        self.assertEqual(r.json()["detail"], f"Dose 1 was already recorded on {today} at Sevak Sabha Hospital.")
        self.assertEqual(Vaccination.objects.filter(beneficiary=self.sunita).count(), 1)

    def test_it_refuses_a_client_id_used_for_another_person(self):
        payload = self.dose()
        self.sync(payload)
        r = self.sync({**payload, "reference_id": self.rajesh.reference_id})
        self.assertEqual((r.status_code, r.json()["code"]), (409, "client_id_reused"))
        self.assertFalse(Vaccination.objects.filter(beneficiary=self.rajesh).exists())

    def test_it_refuses_dose_2_without_dose_1(self):
        second = SessionFactory(centre=self.centre_a, vaccine=self.covishield, dose=2)
        r = self.sync(self.dose(), session=second)
        self.assertEqual((r.status_code, r.json()["code"]), (422, "previous_dose_missing"))
        self.assertIn("Dose 1 is not recorded", r.json()["detail"])

    def test_it_refuses_a_device_clock_on_another_day(self):
        r = self.sync(self.dose(administered_at=(timezone.now() - dt.timedelta(days=400)).isoformat()))
        self.assertEqual((r.status_code, r.json()["code"]), (422, "device_clock_wrong"))
        self.assertIn("Check the date and time on this device", r.json()["detail"])
        r = self.sync(self.dose(administered_at=(timezone.now() + dt.timedelta(hours=1)).isoformat()))
        self.assertEqual(r.status_code, 422)
        self.assertFalse(Vaccination.objects.exists())

    def test_it_replays_a_recorded_dose_whatever_the_clock_says_now(self):
        # The phone's clock was reset after the first send; the resend is the same dose.
        payload = self.dose()
        self.assertEqual(self.sync(payload).status_code, 201)
        later = (timezone.now() - dt.timedelta(days=400)).isoformat()
        again = self.sync({**payload, "administered_at": later})
        self.assertEqual((again.status_code, again.json()["status"]), (200, "replayed"))
        self.assertEqual(Vaccination.objects.count(), 1)

    def test_it_hides_another_centres_session_and_writes_nothing(self):
        self.client.force_login(self.staff_b)
        r = self.sync(self.dose())
        self.assertEqual((r.status_code, r.json()["code"]), (404, "not_found"))
        self.assertNotIn("Sunita", r.content.decode())
        self.assertFalse(Vaccination.objects.exists())
        self.assertEqual(self.client.get(f"/sessions/{self.session.pk}/sync/").status_code, 404)

    def test_it_hides_a_person_outside_the_district(self):
        stranger = BeneficiaryFactory(district=self.kurukshetra)
        r = self.sync(self.dose(stranger))
        self.assertEqual(r.status_code, 404)
        self.assertFalse(Vaccination.objects.exists())

    def test_it_names_the_field_of_bad_input(self):
        cases = [
            ({**self.dose(), "client_id": "not-a-uuid"}, "client_id"),
            ({**self.dose(), "administered_at": "yesterday"}, "administered_at"),
            ({**self.dose(), "administered_at": "2021-02-05T10:00:00\x00"}, "administered_at"),
            ({**self.dose(), "administered_at": "2021-13-45T10:00:00"}, "administered_at"),
            ({**self.dose(), "administered_at": None}, "administered_at"),
            ({**self.dose(), "kind": "walk-in"}, "kind"),
        ]
        for payload, field in cases:
            r = self.sync(payload)
            self.assertEqual(r.status_code, 400, field)
            self.assertEqual(r.json()["field"], field)
            self.assertIn("detail", r.json())
        for body in ("{not json", "[1, 2]", "\xff"):
            r = self.client.post(f"/sessions/{self.session.pk}/sync/", body, content_type="application/json")
            self.assertEqual((r.status_code, r.json()["code"]), (400, "invalid_json"))
        self.assertFalse(Vaccination.objects.exists())

    def test_it_answers_a_signed_out_device_with_json_not_a_login_page(self):
        r = self.sync(self.dose(), client=Client())
        self.assertEqual((r.status_code, r.json()["code"]), (401, "signed_out"))
        self.assertFalse(Vaccination.objects.exists())

    def test_it_needs_the_csrf_token(self):
        browser = Client(enforce_csrf_checks=True)
        browser.force_login(self.staff_a)
        self.assertEqual(self.sync(self.dose(), client=browser).status_code, 403)
        browser.get(f"/sessions/{self.session.pk}/")  # the page sets the token cookie
        token = browser.cookies["csrftoken"].value
        url = f"/sessions/{self.session.pk}/sync/"
        r = browser.post(url, json.dumps(self.dose()), content_type="application/json", HTTP_X_CSRFTOKEN=token)
        self.assertEqual(r.status_code, 201)

    def test_it_tells_the_device_it_is_signed_in(self):
        r = self.client.get(f"/sessions/{self.session.pk}/sync/")
        self.assertEqual(r.json()["session"], self.session.pk)
        self.assertIn("no-cache", r["Cache-Control"])


class SyncAdverseEventTests(OfflineTestCase):
    def event(self, **extra) -> dict:
        return {
            "kind": "aefi",
            "client_id": str(uuid.uuid4()),
            "severity": "minor",
            "notes": "Pain at the injection site",
            "observed_at": earlier_today(30).isoformat(),
            **extra,
        }

    def test_it_records_an_event_after_its_offline_dose_by_the_dose_client_id(self):
        dose = self.dose(administered_at=earlier_today(60).isoformat())
        self.sync(dose)
        event = self.event(dose_client_id=dose["client_id"])
        r = self.sync(event)
        self.assertEqual(r.status_code, 201)
        recorded = AdverseEvent.objects.get()
        self.assertEqual(recorded.vaccination.client_id, uuid.UUID(dose["client_id"]))
        self.assertEqual((recorded.severity, recorded.recorded_by), ("minor", self.staff_a))
        again = self.sync(event)
        self.assertEqual((again.status_code, again.json()["event"]["id"]), (200, recorded.pk))
        self.assertEqual(AdverseEvent.objects.count(), 1)

    def test_it_refuses_an_event_whose_dose_was_not_recorded(self):
        r = self.sync(self.event(dose_client_id=str(uuid.uuid4())))
        self.assertEqual((r.status_code, r.json()["code"]), (422, "dose_not_recorded"))
        self.assertFalse(AdverseEvent.objects.exists())

    def test_it_records_an_event_for_a_dose_marked_online(self):
        record, _ = vaccination_record(
            beneficiary=self.rajesh,
            dose=1,
            vaccine=self.covishield,
            centre=self.centre_a,
            session=self.session,
            source="form",
            administered_at=earlier_today(60),
        )
        r = self.sync(self.event(vaccination=record.pk, severity="severe"))
        self.assertEqual(r.status_code, 201)
        self.assertEqual(AdverseEvent.objects.get().vaccination, record)

    def test_it_hides_another_centres_dose(self):
        other = SessionFactory(centre=self.centre_b, vaccine=self.covishield)
        person = BeneficiaryFactory(district=self.kurukshetra)
        record, _ = vaccination_record(
            beneficiary=person, dose=1, vaccine=self.covishield, centre=self.centre_b, session=other, source="form"
        )
        self.assertEqual(self.sync(self.event(vaccination=record.pk)).status_code, 404)
        self.assertEqual(self.sync(self.event(vaccination=record.pk), session=other).status_code, 404)
        self.assertFalse(AdverseEvent.objects.exists())

    def test_it_names_a_missing_severity_and_dose(self):
        self.assertEqual(self.sync(self.event(vaccination="x")).json()["field"], "vaccination")
        dose = self.dose()
        self.sync(dose)
        r = self.sync(self.event(dose_client_id=dose["client_id"], severity="mild"))
        self.assertEqual(r.status_code, 400)
        self.assertIn("severity", r.json()["detail"])


class ServiceWorkerTests(OfflineTestCase):
    def test_it_serves_the_service_worker_from_the_root_never_cached(self):
        r = Client().get("/sw.js")  # also signed out: the browser checks for updates at any time
        self.assertEqual(r.status_code, 200)
        self.assertTrue(r["Content-Type"].startswith("application/javascript"))
        self.assertIn("no-cache", r["Cache-Control"])
        self.assertEqual(r["Service-Worker-Allowed"], "/")
        body = r.content.decode()
        config = json.loads(re.match(r"self\.COVAX_SW = (.*);\n", body).group(1))
        for asset in (
            "/static/vendor/fonts/noto-sans-devanagari-5.3.0-devanagari-400.woff2",
            "/static/vendor/idb-8.0.4.umd.js",
            "/static/js/offline.js",
            "/static/css/covax.css",
        ):
            self.assertIn(asset, config["shell"])
        self.assertRegex(config["version"], r"^[0-9a-f]{16}$")
        self.assertIn('addEventListener("fetch"', body)


class SessionPageOfflineTests(OfflineTestCase):
    def test_it_gives_the_page_script_the_list_without_any_full_id_number(self):
        r = self.client.get(f"/sessions/{self.session.pk}/")
        page = r.content.decode()
        self.assertIn('id="net-banner"', page)
        self.assertIn(f'data-sync-url="/sessions/{self.session.pk}/sync/"', page)
        self.assertIn('id="offline-strings"', page)
        self.assertIn(f'data-last4="{self.number[-4:]}"', page)
        self.assertIn(f'data-birth-year="{self.sunita.birth_year}"', page)
        self.assertIn('data-id-type="aadhaar"', page)
        self.assertNotIn(self.number, page)
        self.assertNotIn(self.sunita.id_hash, page)
        self.assertIn('src="/static/js/offline.js"', page)

    def test_it_translates_the_offline_strings(self):
        r = self.client.get(f"/sessions/{self.session.pk}/", HTTP_ACCEPT_LANGUAGE="hi")
        strings = json.loads(re.search(r'id="offline-strings"[^>]*>(.*?)</script>', r.content.decode()).group(1))
        self.assertTrue(all(re.search("[\u0900-\u097f]", text) for text in strings.values()), strings)

    def test_it_translates_a_refusal_for_the_device(self):
        give(self.sunita, dose=1, vaccine=self.covishield, centre=self.centre_a2)
        url = f"/sessions/{self.session.pk}/sync/"
        r = self.client.post(url, json.dumps(self.dose()), content_type="application/json", HTTP_ACCEPT_LANGUAGE="hi")
        self.assertRegex(r.json()["detail"], "[\u0900-\u097f]")

    def test_it_lists_the_staff_pages_to_keep_offline(self):
        page = self.client.get("/staff/").content.decode()
        self.assertIn(f'href="/sessions/{self.session.pk}/" data-offline-page', page)
        self.assertIn('id="net-banner"', page)


class PrintableListTests(OfflineTestCase):
    def url(self):
        return f"/sessions/{self.session.pk}/print/"

    def test_it_prints_the_people_due_with_empty_columns_for_lot_time_and_signature(self):
        r = self.client.get(self.url())
        self.assertEqual(r.status_code, 200)
        page = r.content.decode()
        table = page.split('id="paper-list"')[1].split("</table>")[0]
        for text in ("Sunita Sharma", self.sunita.reference_id, f"Aadhaar ••••{self.number[-4:]}", "Rajesh Kumar"):
            self.assertIn(text, table)
        self.assertIn(str(self.sunita.birth_year), table)
        for header in ("Lot number", "Time", "Vaccinator's signature"):
            self.assertIn(header, table)
        self.assertEqual(table.count('<td class="blank"></td>'), 2 * 3)
        self.assertNotIn(self.number, page)
        self.assertIn("vaccinations", page.split('id="paper-back"')[1])
        self.assertIn(f"centre_id {self.centre_a.pk}", page)

    def test_it_leaves_out_people_already_vaccinated(self):
        self.client.post(f"/sessions/{self.session.pk}/mark/{self.sunita.reference_id}/")
        table = self.client.get(self.url()).content.decode().split('id="paper-list"')[1].split("</table>")[0]
        self.assertNotIn("Sunita Sharma", table)
        self.assertIn("Rajesh Kumar", table)

    def test_it_is_linked_from_the_session_page(self):
        self.assertContains(self.client.get(f"/sessions/{self.session.pk}/"), f'href="{self.url()}"')

    def test_it_prints_in_constant_queries(self):
        self.client.get(self.url())
        with self.assertNumQueries(6):
            self.client.get(self.url())
        more = BeneficiaryFactory.create_batch(30, district=self.hisar)
        allocation_create(session=self.session, reference_ids=[p.reference_id for p in more])
        with self.assertNumQueries(6):
            r = self.client.get(self.url())
        self.assertEqual(r.content.decode().count('class="paper-row"'), 32 + 10)

    def test_it_links_the_district_to_the_upload_that_brings_paper_back(self):
        staff = self.client.get(self.url()).content.decode().split('id="paper-back"')[1]
        self.assertIn("The district officer uploads them from the Uploads page.", staff)
        self.client.force_login(self.hisar_officer)
        officer = self.client.get(self.url()).content.decode().split('id="paper-back"')[1]
        self.assertIn('href="/uploads/"', officer)

    def test_it_hides_another_centres_list(self):
        self.client.force_login(self.staff_b)
        self.assertEqual(self.client.get(self.url()).status_code, 404)
