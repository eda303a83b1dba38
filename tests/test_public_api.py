"""CoWIN-compatible public API (SPEC §5, issue 6): CoWIN's paths, parameters, field
names and types; Hindi *_l fields; CoWIN's 400 body; capacity after allocations and
doses; paid centres' fees; only open and planned sessions; one query per list; the
cache invalidated by changes; ETags; a CoWIN slot-finder script run unchanged.
Every answer is validated against the project's schema and CoWIN's reference."""

from __future__ import annotations

import datetime as dt
import gzip
import uuid

import pytest
from django.core import checks
from django.core.cache import caches
from django.test import LiveServerTestCase, TestCase, override_settings
from django.utils import timezone

from sessions_app.doses.services import vaccination_record, vaccination_void
from sessions_app.models import Centre, FeeType, SessionStatus
from sessions_app.planning.services import allocation_create, session_update
from sessions_app.public import api as public_api
from sessions_app.public import cache as public_cache
from tests.base import WorldMixin
from tests.guard import people, session_at
from tests.public_contract import check, reference_present

V2 = "/api/v2/"
FIND_PIN = "appointment/sessions/public/findByPin"
FIND_DISTRICT = "appointment/sessions/public/findByDistrict"
CAL_PIN = "appointment/sessions/public/calendarByPin"
CAL_DISTRICT = "appointment/sessions/public/calendarByDistrict"
CAL_CENTER = "appointment/sessions/public/calendarByCenter"
STATES = "admin/location/states"
DISTRICTS = "admin/location/districts/{state_id}"
MISSING = {"errorCode": "USRRES0001", "error": "Input parameter missing"}


def cowin_date(day: dt.date) -> str:
    return day.strftime("%d-%m-%Y")


def forget_cached_answers() -> None:
    """Every cached body depends on the places stamp: bumping it makes them all stale
    (ids are reused between tests on SQLite, and Redis outlives a test)."""
    public_cache.store().bump({public_cache.PLACES})


class PublicWorld(WorldMixin):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        Centre.objects.filter(pk=cls.centre_a.pk).update(
            name_hi="जिंदल अस्पताल", address="Model Town", address_hi="मॉडल टाउन", block="Hisar-I", block_hi="हिसार-I"
        )
        cls.centre_a.refresh_from_db()
        cls.today = timezone.localdate()


@override_settings(COVAX_PUBLIC_RATE_LIMIT="off")
class PublicApiTestCase(PublicWorld, TestCase):
    def setUp(self):
        forget_cached_answers()

    def get(self, path: str, *, hindi: bool = False, **params):
        headers = {"Accept-Language": "hi_IN"} if hindi else {}
        return self.client.get(V2 + path, params, headers=headers)

    def ok(self, path: str, template: str | None = None, **kwargs) -> dict:
        response = self.get(path, **kwargs)
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response["Content-Type"], "application/json")
        return check(response, template or path)

    def calendar(self, district, day=None, **kwargs) -> dict:
        return self.ok(CAL_DISTRICT, district_id=district.pk, date=cowin_date(day or self.today), **kwargs)

    # --- places ----------------------------------------------------------------------

    def test_it_lists_states_with_integer_ids(self):
        body = self.ok(STATES)
        self.assertEqual(
            body["states"],
            [
                {"state_id": self.bihar.pk, "state_name": "Bihar"},
                {"state_id": self.haryana.pk, "state_name": "Haryana"},
            ],
        )
        self.assertEqual(body["ttl"], 24)

    def test_it_adds_hindi_state_names_with_accept_language_hi_in(self):
        body = self.ok(STATES, hindi=True)
        self.assertIn({"state_id": self.haryana.pk, "state_name": "Haryana", "state_name_l": "हरियाणा"}, body["states"])

    def test_it_lists_the_districts_of_a_state(self):
        body = self.ok(f"admin/location/districts/{self.haryana.pk}", DISTRICTS, hindi=True)
        self.assertEqual(
            body["districts"],
            [
                {
                    "district_id": self.hisar.pk,
                    "district_name": "Hisar",
                    "state_id": self.haryana.pk,
                    "district_name_l": "हिसार",
                },
                {
                    "district_id": self.kurukshetra.pk,
                    "district_name": "Kurukshetra",
                    "state_id": self.haryana.pk,
                    "district_name_l": "कुरुक्षेत्र",
                },
            ],
        )

    def test_an_unknown_state_has_no_districts(self):
        response = self.get("admin/location/districts/999999")
        self.assertEqual(response.status_code, 200)
        # Own schema only: the reference's minItems: 1 cannot describe a state without
        # districts, and CoWIN answered such a state with an empty list too.
        self.assertEqual(check(response, DISTRICTS, reference=False)["districts"], [])

    def test_a_state_id_that_is_not_a_number_is_a_400(self):
        response = self.get("admin/location/districts/haryana")
        self.assertEqual(response.status_code, 400)
        body = check(response, DISTRICTS)
        self.assertEqual(body["errorCode"], "USRRES0002")
        self.assertIn("state_id", body["error"])

    # --- sessions: fields and types --------------------------------------------------------

    def test_find_by_district_answers_cowin_fields_and_types(self):
        session = session_at(self.centre_a, self.covishield, date=self.today, capacity=50)
        body = self.ok(FIND_DISTRICT, district_id=self.hisar.pk, date=cowin_date(self.today))
        self.assertEqual(
            body["sessions"],
            [
                {
                    "center_id": self.centre_a.pk,
                    "name": "Jindal Hospital",
                    "address": "Model Town",
                    "state_name": "Haryana",
                    "district_name": "Hisar",
                    "block_name": "Hisar-I",
                    "pincode": 125005,
                    "lat": 29.15,
                    "long": 75.72,
                    "from": "09:00:00",
                    "to": "17:00:00",
                    "fee_type": "Free",
                    "session_id": str(session.public_id),
                    "date": cowin_date(self.today),
                    "available_capacity": 50,
                    "available_capacity_dose1": 50,
                    "available_capacity_dose2": 0,
                    "fee": "0",
                    "min_age_limit": 18,
                    "allow_all_age": True,
                    "vaccine": "COVISHIELD",
                    "slots": ["09:00AM-11:00AM", "11:00AM-01:00PM"],
                }
            ],
        )

    def test_find_by_pin_answers_only_that_pincode_and_day(self):
        here = session_at(self.centre_a2, self.covaxin, date=self.today)
        session_at(self.centre_a, self.covishield, date=self.today)  # 125005
        session_at(self.centre_a2, self.covaxin, date=self.today + dt.timedelta(days=1))
        body = self.ok(FIND_PIN, pincode="125001", date=cowin_date(self.today))
        self.assertEqual([s["session_id"] for s in body["sessions"]], [str(here.public_id)])
        self.assertEqual(body["sessions"][0]["pincode"], 125001)

    def test_calendar_by_district_covers_seven_days_from_the_date(self):
        start = self.today + dt.timedelta(days=2)
        first = session_at(self.centre_a, self.covishield, date=start)
        last = session_at(self.centre_a, self.covishield, date=start + dt.timedelta(days=6))
        other = session_at(self.centre_a2, self.covaxin, date=start + dt.timedelta(days=3))
        session_at(self.centre_a, self.covishield, date=start + dt.timedelta(days=7))  # the 8th day
        session_at(self.centre_a, self.covishield, date=start - dt.timedelta(days=1))  # the day before
        session_at(self.centre_b, self.covishield, date=start)  # another district
        body = self.calendar(self.hisar, start)
        by_centre = {c["center_id"]: [s["session_id"] for s in c["sessions"]] for c in body["centers"]}
        self.assertEqual(
            by_centre,
            {self.centre_a.pk: [str(first.public_id), str(last.public_id)], self.centre_a2.pk: [str(other.public_id)]},
        )
        dates = [s["date"] for s in body["centers"][0]["sessions"]]
        self.assertEqual(dates, [cowin_date(start), cowin_date(start + dt.timedelta(days=6))])

    def test_calendar_by_pin(self):
        session_at(self.centre_b, self.covishield, date=self.today + dt.timedelta(days=4))
        body = self.ok(CAL_PIN, pincode="136118", date=cowin_date(self.today))
        self.assertEqual([c["center_id"] for c in body["centers"]], [self.centre_b.pk])
        self.assertEqual(self.ok(CAL_PIN, pincode="560001", date=cowin_date(self.today)), {"centers": []})

    def test_calendar_by_center_answers_the_centre_as_one_object(self):
        session = session_at(self.centre_c, self.covaxin, date=self.today + dt.timedelta(days=1))
        body = self.ok(CAL_CENTER, center_id=self.centre_c.pk, date=cowin_date(self.today))
        self.assertEqual(body["centers"]["center_id"], self.centre_c.pk)
        self.assertEqual([s["session_id"] for s in body["centers"]["sessions"]], [str(session.public_id)])
        # CoWIN's answer for a centre without sessions (clients test `if not centers`).
        self.assertEqual(self.ok(CAL_CENTER, center_id=self.centre_b.pk, date=cowin_date(self.today)), {"centers": {}})
        self.assertEqual(self.ok(CAL_CENTER, center_id=987654, date=cowin_date(self.today)), {"centers": {}})

    def test_the_vaccine_filter_keeps_one_vaccine(self):
        session_at(self.centre_a, self.covishield, date=self.today)
        covaxin = session_at(self.centre_a2, self.covaxin, date=self.today)
        body = self.calendar(self.hisar, vaccine="covaxin")
        self.assertEqual([s["session_id"] for c in body["centers"] for s in c["sessions"]], [str(covaxin.public_id)])

    def test_hindi_fields_come_from_the_hindi_names(self):
        session_at(self.centre_a, self.covishield, date=self.today)
        Centre.objects.filter(pk=self.centre_a2.pk).update(name_hi="", block="", block_hi="")
        session_at(self.centre_a2, self.covishield, date=self.today)
        centres = {c["center_id"]: c for c in self.calendar(self.hisar, hindi=True)["centers"]}
        a = centres[self.centre_a.pk]
        self.assertEqual(
            (a["name_l"], a["address_l"], a["state_name_l"], a["district_name_l"], a["block_name_l"]),
            ("जिंदल अस्पताल", "मॉडल टाउन", "हरियाणा", "हिसार", "हिसार-I"),
        )
        self.assertEqual(a["name"], "Jindal Hospital")  # the English fields stay English
        a2 = centres[self.centre_a2.pk]
        self.assertEqual(a2["name_l"], "Sevak Sabha Hospital")  # no Hindi name: the English one
        self.assertEqual((a2["block_name"], a2["block_name_l"]), ("Not Applicable", "लागू नहीं"))

    def test_without_accept_language_there_are_no_l_fields(self):
        session_at(self.centre_a, self.covishield, date=self.today)
        centre = self.calendar(self.hisar)["centers"][0]
        self.assertFalse([k for k in centre if k.endswith("_l")])

    def test_max_age_limit_and_allow_all_age(self):
        session_at(self.centre_a, self.covishield, date=self.today, min_age=18, max_age=44)
        session_at(self.centre_a, self.covaxin, date=self.today, min_age=45)
        sessions = {s["vaccine"]: s for s in self.calendar(self.hisar)["centers"][0]["sessions"]}
        self.assertEqual(
            (sessions["COVISHIELD"]["max_age_limit"], sessions["COVISHIELD"]["allow_all_age"]), (44, False)
        )
        self.assertNotIn("max_age_limit", sessions["COVAXIN"])
        self.assertEqual((sessions["COVAXIN"]["min_age_limit"], sessions["COVAXIN"]["allow_all_age"]), (45, False))

    def test_slots_default_to_the_centres_hours(self):
        session_at(self.centre_a, self.covishield, date=self.today, slots=[])
        slots = self.calendar(self.hisar)["centers"][0]["sessions"][0]["slots"]
        self.assertEqual(slots, ["09:00AM-11:00AM", "11:00AM-01:00PM", "01:00PM-03:00PM", "03:00PM-05:00PM"])

    def test_paid_centres_show_the_fee_and_vaccine_fees(self):
        Centre.objects.filter(pk=self.centre_a.pk).update(fee_type=FeeType.PAID, fees={"COVISHIELD": 780})
        session_at(self.centre_a, self.covishield, date=self.today)
        session_at(self.centre_a2, self.covishield, date=self.today)
        centres = {c["center_id"]: c for c in self.calendar(self.hisar)["centers"]}
        paid, free = centres[self.centre_a.pk], centres[self.centre_a2.pk]
        self.assertEqual(paid["fee_type"], "Paid")
        self.assertEqual(paid["vaccine_fees"], [{"vaccine": "COVISHIELD", "fee": "780"}])
        self.assertEqual(paid["sessions"][0]["fee"], "780")
        self.assertNotIn("vaccine_fees", free)
        self.assertEqual((free["fee_type"], free["sessions"][0]["fee"]), ("Free", "0"))
        found = self.ok(FIND_PIN, pincode="125005", date=cowin_date(self.today))["sessions"][0]
        self.assertEqual((found["fee_type"], found["fee"]), ("Paid", "780"))

    def test_only_open_and_planned_sessions_are_public(self):
        planned = session_at(self.centre_a, self.covishield, date=self.today, status=SessionStatus.PLANNED)
        opened = session_at(self.centre_a, self.covishield, date=self.today, status=SessionStatus.OPEN)
        session_at(self.centre_a, self.covishield, date=self.today, status=SessionStatus.CANCELLED)
        session_at(self.centre_a, self.covishield, date=self.today, status=SessionStatus.CLOSED)
        ids = {s["session_id"] for s in self.calendar(self.hisar)["centers"][0]["sessions"]}
        self.assertEqual(ids, {str(planned.public_id), str(opened.public_id)})

    # --- capacity -------------------------------------------------------------------------

    def test_available_capacity_is_capacity_minus_allocations_and_walk_in_doses(self):
        session = session_at(self.centre_a, self.covishield, date=self.today, capacity=10)
        allocated = people(3, district=self.hisar)
        allocation_create(session=session, reference_ids=[p.reference_id for p in allocated])
        walk_ins = people(2, district=self.hisar)
        for person in [allocated[0], *walk_ins]:  # one allocated person, two walk-ins
            vaccination_record(
                beneficiary=person,
                dose=1,
                vaccine=self.covishield,
                centre=self.centre_a,
                session=session,
                source="form",
            )
        found = self.calendar(self.hisar)["centers"][0]["sessions"][0]
        self.assertEqual((found["available_capacity"], found["available_capacity_dose1"]), (5, 5))
        self.assertEqual(found["available_capacity_dose2"], 0)

    def test_a_voided_dose_gives_its_place_back(self):
        session = session_at(self.centre_a, self.covishield, date=self.today, capacity=4)
        record, _ = vaccination_record(
            beneficiary=people(1, district=self.hisar)[0],
            dose=1,
            vaccine=self.covishield,
            centre=self.centre_a,
            session=session,
            source="form",
        )
        self.assertEqual(self.calendar(self.hisar)["centers"][0]["sessions"][0]["available_capacity"], 3)
        with self.captureOnCommitCallbacks(execute=True):
            vaccination_void(vaccination=record, reason="wrong person")
        self.assertEqual(self.calendar(self.hisar)["centers"][0]["sessions"][0]["available_capacity"], 4)

    def test_a_second_dose_session_counts_as_dose2(self):
        session_at(self.centre_a, self.covishield, date=self.today, dose=2, capacity=7)
        found = self.calendar(self.hisar)["centers"][0]["sessions"][0]
        self.assertEqual((found["available_capacity_dose1"], found["available_capacity_dose2"]), (0, 7))

    def test_capacity_never_goes_below_zero(self):
        session = session_at(self.centre_a, self.covishield, date=self.today, capacity=1)
        for person in people(2, district=self.hisar):  # walk-ins beyond capacity happen on the day
            vaccination_record(
                beneficiary=person,
                dose=1,
                vaccine=self.covishield,
                centre=self.centre_a,
                session=session,
                source="form",
            )
        self.assertEqual(self.calendar(self.hisar)["centers"][0]["sessions"][0]["available_capacity"], 0)

    # --- errors ---------------------------------------------------------------------------

    def test_a_missing_parameter_is_cowins_400(self):
        date = cowin_date(self.today)
        cases = [
            (FIND_PIN, {"date": date}),
            (FIND_PIN, {"pincode": "125005"}),
            (FIND_DISTRICT, {"district_id": "", "date": date}),
            (CAL_PIN, {}),
            (CAL_DISTRICT, {"district_id": self.hisar.pk}),
            (CAL_CENTER, {"date": date}),
        ]
        for path, params in cases:
            with self.subTest(path=path, params=params):
                response = self.get(path, **params)
                self.assertEqual(response.status_code, 400)
                self.assertEqual(check(response, path), MISSING)

    def test_a_malformed_date_is_a_400_never_a_500(self):
        for date in ["2021-05-31", "31-02-2021", "31/05/2021", "tomorrow", "99-99-9999", "1-1-0", "31-12-9999"]:
            with self.subTest(date=date):
                response = self.get(CAL_DISTRICT, district_id=self.hisar.pk, date=date)
                self.assertEqual(response.status_code, 400)
                body = check(response, CAL_DISTRICT)
                self.assertEqual(body["errorCode"], "USRRES0003")
                self.assertIn("dd-mm-yyyy", body["error"])

    def test_malformed_places_are_a_400_naming_the_parameter(self):
        date = cowin_date(self.today)
        cases = [
            (FIND_PIN, {"pincode": "12500", "date": date}, "pincode"),
            (CAL_PIN, {"pincode": "abcdef", "date": date}, "pincode"),
            (FIND_DISTRICT, {"district_id": "12a", "date": date}, "district_id"),
            (CAL_DISTRICT, {"district_id": "-1", "date": date}, "district_id"),
            (CAL_CENTER, {"center_id": "1e5", "date": date}, "center_id"),
            (CAL_DISTRICT, {"district_id": "9" * 40, "date": date}, "district_id"),
        ]
        for path, params, name in cases:
            with self.subTest(path=path, params=params):
                response = self.get(path, **params)
                self.assertEqual(response.status_code, 400)
                body = check(response, path)
                self.assertEqual(body["errorCode"], "USRRES0002")
                self.assertIn(name, body["error"])

    def test_odd_input_is_answered_200_or_400_never_500(self):
        nasty = [
            "",
            " ",
            "0",
            "00125005",
            "1" * 30,
            "１２５００５",
            "125005\x00",
            "'; drop table x;--",
            "%",
            "null",
            "1.5",
        ]
        date = cowin_date(self.today)
        for value in nasty:
            for path, params in [
                (FIND_PIN, {"pincode": value, "date": date}),
                (CAL_DISTRICT, {"district_id": value, "date": date, "vaccine": value}),
                (CAL_CENTER, {"center_id": self.centre_a.pk, "date": value}),
            ]:
                with self.subTest(path=path, value=value):
                    response = self.get(path, **params)
                    self.assertIn(response.status_code, (200, 400))
                    check(response, path)
            response = self.client.get(V2 + "admin/location/districts/" + value.replace("%", "%25"))
            self.assertIn(response.status_code, (200, 400, 404), value)
        headers = {"Accept-Language": "hi_IN;q=bogus, *", "If-None-Match": "W/" + "x" * 2000}
        response = self.client.get(V2 + CAL_DISTRICT, {"district_id": self.hisar.pk, "date": date}, headers=headers)
        self.assertEqual(response.status_code, 200)

    def test_errors_carry_a_hindi_text_with_hi_in(self):
        response = self.get(CAL_DISTRICT, hindi=True, district_id=self.hisar.pk, date="2021-05-31")
        body = check(response, CAL_DISTRICT)
        self.assertIn("dd-mm-yyyy", body["error_l"])
        self.assertIn("तारीख", body["error_l"])
        response = self.get(FIND_PIN, hindi=True)
        self.assertEqual(check(response, FIND_PIN), {**MISSING, "error_l": "इनपुट पैरामीटर नहीं दिया गया"})

    def test_it_needs_no_login_and_no_csrf_and_only_reads(self):
        response = self.client.post(V2 + CAL_DISTRICT, {"district_id": self.hisar.pk, "date": cowin_date(self.today)})
        self.assertEqual(response.status_code, 405)  # not a 403 CSRF page
        self.assertEqual(self.get(STATES).status_code, 200)

    # --- queries and cache ------------------------------------------------------------------

    def test_each_answer_is_a_constant_number_of_queries(self):
        for centre in (self.centre_a, self.centre_a2):
            for days in range(3):
                session_at(centre, self.covishield, date=self.today + dt.timedelta(days=days))
        date = cowin_date(self.today)
        expected = [
            (CAL_DISTRICT, {"district_id": self.hisar.pk}, 1),
            (FIND_DISTRICT, {"district_id": self.hisar.pk}, 1),
            (CAL_PIN, {"pincode": "125005"}, 2),  # which districts, then the sessions
            (FIND_PIN, {"pincode": "125005"}, 2),
            (CAL_CENTER, {"center_id": self.centre_a.pk}, 2),
        ]
        for path, params, queries in expected:
            with self.subTest(path=path):
                with self.assertNumQueries(queries):
                    self.assertEqual(self.get(path, date=date, **params).status_code, 200)
                with self.assertNumQueries(0):  # then from the cache
                    self.assertEqual(self.get(path, date=date, **params).status_code, 200)
        with self.assertNumQueries(1):
            self.get(STATES)
        with self.assertNumQueries(1):
            self.get(f"admin/location/districts/{self.haryana.pk}")

    def test_more_centres_and_sessions_cost_no_more_queries(self):
        for centre in Centre.objects.filter(district=self.hisar):
            for days in range(7):
                session_at(centre, self.covishield, date=self.today + dt.timedelta(days=days))
                session_at(centre, self.covaxin, date=self.today + dt.timedelta(days=days), dose=2)
        with self.assertNumQueries(1):
            body = self.calendar(self.hisar, hindi=True)
        self.assertEqual(sum(len(c["sessions"]) for c in body["centers"]), 28)

    def test_an_allocation_invalidates_the_cached_answer(self):
        session = session_at(self.centre_a, self.covishield, date=self.today, capacity=10)
        self.assertEqual(self.calendar(self.hisar)["centers"][0]["sessions"][0]["available_capacity"], 10)
        with self.captureOnCommitCallbacks(execute=True):
            allocation_create(session=session, reference_ids=[p.reference_id for p in people(4, district=self.hisar)])
        self.assertEqual(self.calendar(self.hisar)["centers"][0]["sessions"][0]["available_capacity"], 6)

    def test_a_dose_a_capacity_change_and_a_cancellation_invalidate_it(self):
        session = session_at(self.centre_a, self.covishield, date=self.today, capacity=10)
        self.calendar(self.hisar)
        with self.captureOnCommitCallbacks(execute=True):
            vaccination_record(
                beneficiary=people(1, district=self.hisar)[0],
                dose=1,
                vaccine=self.covishield,
                centre=self.centre_a,
                session=session,
                source="api",
            )
        self.assertEqual(self.calendar(self.hisar)["centers"][0]["sessions"][0]["available_capacity"], 9)
        with self.captureOnCommitCallbacks(execute=True):
            session_update(session=session, capacity=20)
        self.assertEqual(self.calendar(self.hisar)["centers"][0]["sessions"][0]["available_capacity"], 19)
        with self.captureOnCommitCallbacks(execute=True):
            session_update(session=session, status=SessionStatus.CANCELLED)
        self.assertEqual(self.calendar(self.hisar)["centers"], [])

    def test_a_change_elsewhere_keeps_this_districts_answer_cached(self):
        session_at(self.centre_a, self.covishield, date=self.today)
        elsewhere = session_at(self.centre_b, self.covishield, date=self.today)
        self.calendar(self.hisar)
        with self.captureOnCommitCallbacks(execute=True):
            allocation_create(session=elsewhere, reference_ids=[people(1, district=self.kurukshetra)[0].reference_id])
        with self.assertNumQueries(0):
            self.calendar(self.hisar)

    def test_a_pincode_answer_is_invalidated_by_its_districts_changes(self):
        session = session_at(self.centre_a, self.covishield, date=self.today, capacity=3)
        self.ok(FIND_PIN, pincode="125005", date=cowin_date(self.today))
        with self.captureOnCommitCallbacks(execute=True):
            allocation_create(session=session, reference_ids=[people(1, district=self.hisar)[0].reference_id])
        found = self.ok(FIND_PIN, pincode="125005", date=cowin_date(self.today))["sessions"][0]
        self.assertEqual(found["available_capacity"], 2)

    def test_a_new_centre_at_a_pincode_shows_up(self):
        self.assertEqual(self.ok(CAL_PIN, pincode="125033", date=cowin_date(self.today)), {"centers": []})
        with self.captureOnCommitCallbacks(execute=True):
            centre = Centre.objects.create(district=self.hisar, name="New PHC", pincode="125033")
            session_at(centre, self.covishield, date=self.today)
        body = self.ok(CAL_PIN, pincode="125033", date=cowin_date(self.today))
        self.assertEqual([c["name"] for c in body["centers"]], ["New PHC"])

    def test_while_one_request_rebuilds_an_answer_the_others_get_the_previous_one(self):
        session = session_at(self.centre_a, self.covishield, date=self.today, capacity=10)
        self.assertEqual(self.calendar(self.hisar)["centers"][0]["sessions"][0]["available_capacity"], 10)
        with self.captureOnCommitCallbacks(execute=True):
            allocation_create(session=session, reference_ids=[people(1, district=self.hisar)[0].reference_id])
        key = public_api.sessions_key("district", 7, self.hisar.pk, self.today, "") + ":en"
        self.assertTrue(public_cache.store().claim(key))  # another worker is rebuilding it
        with self.assertNumQueries(0):
            self.assertEqual(self.calendar(self.hisar)["centers"][0]["sessions"][0]["available_capacity"], 10)
        caches["default"].delete(f"pub:lock:{key}")  # that worker died: its claim lapses
        self.assertEqual(self.calendar(self.hisar)["centers"][0]["sessions"][0]["available_capacity"], 9)
        with self.assertNumQueries(0):  # and the rebuilt answer is cached again
            self.assertEqual(self.calendar(self.hisar)["centers"][0]["sessions"][0]["available_capacity"], 9)

    def test_conditional_get_answers_304_with_the_etag(self):
        session = session_at(self.centre_a, self.covishield, date=self.today, capacity=10)
        params = {"district_id": self.hisar.pk, "date": cowin_date(self.today)}
        first = self.client.get(V2 + CAL_DISTRICT, params)
        etag = first["ETag"]
        self.assertRegex(etag, r'^"[0-9a-f]+"$')
        self.assertRegex(first["Cache-Control"], r"^public, max-age=([1-9][0-9]?|[12][0-9]{2}|300)$")
        again = self.client.get(V2 + CAL_DISTRICT, params, headers={"If-None-Match": etag})
        self.assertEqual(again.status_code, 304)
        self.assertEqual((again.content, again["ETag"]), (b"", etag))
        with self.captureOnCommitCallbacks(execute=True):
            allocation_create(session=session, reference_ids=[people(1, district=self.hisar)[0].reference_id])
        changed = self.client.get(V2 + CAL_DISTRICT, params, headers={"If-None-Match": etag})
        self.assertEqual(changed.status_code, 200)
        self.assertNotEqual(changed["ETag"], etag)
        hindi = self.client.get(V2 + CAL_DISTRICT, params, headers={"Accept-Language": "hi_IN"})
        self.assertNotEqual(hindi["ETag"], changed["ETag"])

    def test_clients_that_accept_gzip_get_the_body_compressed(self):
        for centre in (self.centre_a, self.centre_a2):
            for days in range(7):
                session_at(centre, self.covishield, date=self.today + dt.timedelta(days=days))
        params = {"district_id": self.hisar.pk, "date": cowin_date(self.today)}
        plain = self.client.get(V2 + CAL_DISTRICT, params)
        packed = self.client.get(V2 + CAL_DISTRICT, params, headers={"Accept-Encoding": "gzip, deflate"})
        self.assertEqual(packed["Content-Encoding"], "gzip")
        self.assertLess(len(packed.content), len(plain.content) / 4)
        self.assertEqual(gzip.decompress(packed.content), plain.content)
        self.assertIn("Accept-Encoding", packed["Vary"])
        self.assertNotEqual(packed["ETag"], plain["ETag"])  # one ETag per representation
        again = self.client.get(
            V2 + CAL_DISTRICT, params, headers={"Accept-Encoding": "gzip", "If-None-Match": packed["ETag"]}
        )
        self.assertEqual(again.status_code, 304)
        refused = self.client.get(V2 + CAL_DISTRICT, params, headers={"Accept-Encoding": "gzip;q=0, identity"})
        self.assertFalse(refused.has_header("Content-Encoding"))

    # --- rate limit -------------------------------------------------------------------------

    @override_settings(COVAX_PUBLIC_RATE_LIMIT="3/1m")
    def test_the_rate_limit_answers_429_with_retry_after(self):
        ip = f"2001:db8::{uuid.uuid4().hex[:4]}"
        for _ in range(3):
            self.assertEqual(self.client.get(V2 + STATES, REMOTE_ADDR=ip).status_code, 200)
        response = self.client.get(V2 + STATES, REMOTE_ADDR=ip)
        self.assertEqual(response.status_code, 429)
        self.assertTrue(1 <= int(response["Retry-After"]) <= 60)
        self.assertEqual(check(response, STATES)["errorCode"], "USRRES0429")
        # Bad requests count too, and another address is not affected.
        self.assertEqual(self.client.get(V2 + FIND_PIN, REMOTE_ADDR=ip).status_code, 429)
        self.assertEqual(self.client.get(V2 + STATES, REMOTE_ADDR=f"{ip}:1").status_code, 200)

    @override_settings(COVAX_PUBLIC_RATE_LIMIT="off")
    def test_the_rate_limit_can_be_switched_off(self):
        ip = f"2001:db8::{uuid.uuid4().hex[:4]}"
        for _ in range(120):
            self.assertEqual(self.client.get(V2 + STATES, REMOTE_ADDR=ip).status_code, 200)

    def test_the_rate_setting_is_parsed_and_checked(self):
        parse = public_cache.parse_rate
        self.assertEqual(parse("100/5m"), public_cache.Rate(100, 300))
        self.assertEqual(parse("10/s"), public_cache.Rate(10, 1))
        self.assertEqual(parse("2000/1h"), public_cache.Rate(2000, 3600))
        self.assertIsNone(parse("off"))
        for wrong in ("100", "100/5d", "a/5m", "0/5m", "100/0m"):
            with self.subTest(wrong=wrong), self.assertRaises(ValueError):
                parse(wrong)
        with override_settings(COVAX_PUBLIC_RATE_LIMIT="lots"):
            self.assertEqual([e.id for e in public_cache.check_rate_setting(None)], ["covax.E001"])
            self.assertIn("covax.E001", [e.id for e in checks.run_checks()])
            # A running server keeps CoWIN's limit instead of failing.
            self.assertEqual(self.get(STATES).status_code, 200)


# A slot finder written the way hundreds were in May 2021; only BASE_URL is ours.
SLOT_FINDER = """
import datetime
import requests

BASE_URL = "https://cdn-api.co-vin.in/api"
HEADERS = {"accept": "application/json", "Accept-Language": "hi_IN", "User-Agent": "Mozilla/5.0"}


def find_slots(district_id, age, pincodes=None, days_ahead=0):
    date = (datetime.date.today() + datetime.timedelta(days=days_ahead)).strftime("%d-%m-%Y")
    url = BASE_URL + "/v2/appointment/sessions/public/calendarByDistrict"
    resp = requests.get(url, params={"district_id": district_id, "date": date}, headers=HEADERS, timeout=10)
    resp.raise_for_status()
    found = []
    for center in resp.json()["centers"]:
        if pincodes and center["pincode"] not in pincodes:
            continue
        for session in center["sessions"]:
            if session["min_age_limit"] <= age and session["available_capacity_dose1"] > 0:
                found.append((center["name"], center["pincode"], session["date"], session["vaccine"],
                              session["available_capacity_dose1"], session["slots"][0]))
    return found


def district_id(state_name, district_name):
    states = requests.get(BASE_URL + "/v2/admin/location/states", headers=HEADERS, timeout=10).json()["states"]
    state_id = next(s["state_id"] for s in states if s["state_name"] == state_name)
    url = BASE_URL + "/v2/admin/location/districts/" + str(state_id)
    districts = requests.get(url, headers=HEADERS, timeout=10).json()["districts"]
    return next(d["district_id"] for d in districts if d["district_name"] == district_name)
"""


@override_settings(COVAX_PUBLIC_RATE_LIMIT="off")
class SlotFinderTestCase(PublicWorld, LiveServerTestCase):
    def setUp(self):
        self.setUpTestData()
        forget_cached_answers()

    def test_a_cowin_slot_finder_script_works_by_changing_only_its_base_url(self):
        session_at(self.centre_a, self.covishield, date=self.today, capacity=5, min_age=18, max_age=44)
        session_at(self.centre_a2, self.covaxin, date=self.today, capacity=5, min_age=45)
        full = session_at(self.centre_a, self.covaxin, date=self.today + dt.timedelta(days=1), capacity=1)
        allocation_create(session=full, reference_ids=[people(1, district=self.hisar)[0].reference_id])
        source = SLOT_FINDER.replace("https://cdn-api.co-vin.in/api", self.live_server_url + "/api")
        self.assertEqual(source.count(self.live_server_url), 1)
        finder: dict = {}
        exec(compile(source, "slot_finder.py", "exec"), finder)

        district = finder["district_id"]("Haryana", "Hisar")
        self.assertEqual(district, self.hisar.pk)
        slots = finder["find_slots"](district, age=30, pincodes=[125005, 125001])
        self.assertEqual(
            slots, [("Jindal Hospital", 125005, cowin_date(self.today), "COVISHIELD", 5, "09:00AM-11:00AM")]
        )
        self.assertEqual(len(finder["find_slots"](district, age=50)), 2)
        self.assertEqual(finder["find_slots"](district, age=30, pincodes=[136118]), [])


class _Answer:
    def __init__(self, body: dict, status_code: int = 200):
        self.body, self.status_code = body, status_code

    def json(self) -> dict:
        return self.body


def test_it_rejects_answers_that_break_either_contract():
    """The checks above have teeth: CoWIN's string pincode, a missing required field or
    a private field leaking into a public answer all fail."""
    import jsonschema

    good = {
        "center_id": 1,
        "name": "PHC",
        "address": "",
        "state_name": "Haryana",
        "district_name": "Hisar",
        "block_name": "Not Applicable",
        "pincode": 125001,
        "from": "09:00:00",
        "to": "17:00:00",
        "fee_type": "Free",
        "session_id": str(uuid.uuid4()),
        "date": "31-05-2021",
        "available_capacity": 1,
        "available_capacity_dose1": 1,
        "available_capacity_dose2": 0,
        "fee": "0",
        "min_age_limit": 18,
        "allow_all_age": True,
        "vaccine": "COVISHIELD",
        "slots": ["09:00AM-11:00AM"],
    }
    check(_Answer({"sessions": [good]}), FIND_PIN)
    for bad in (
        {**good, "pincode": "125001"},
        {**good, "date": "2021-05-31"},
        {**good, "slots": []},
        {**good, "allocated_count": 3},
        {k: v for k, v in good.items() if k != "available_capacity_dose1"},
    ):
        with pytest.raises(jsonschema.ValidationError):
            check(_Answer({"sessions": [bad]}), FIND_PIN)
    if reference_present():  # CoWIN's own document is checked too: a centre outside India fails it only
        london = {**good, "lat": 51.5, "long": -0.12}
        check(_Answer({"sessions": [london]}), FIND_PIN, reference=False)
        with pytest.raises(jsonschema.ValidationError):
            check(_Answer({"sessions": [london]}), FIND_PIN)
