"""CoWIN-compatible public API (SPEC §5): anonymous reads that slot-finder scripts
written against CoWIN use unchanged, only the base URL differs.

Plain Django views, not DRF: a hit is one Redis round trip and a pre-serialised body
(sessions_app/public/cache.py), so a crowd of pollers costs about what a bare view costs.
The response contract is sessions_app/public/schema.py.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable
from decimal import Decimal

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from sessions_app.models import FeeType
from sessions_app.public import cache as public_cache
from sessions_app.public.cache import PLACES, Entry, district_key
from sessions_app.public.selectors import (
    CALENDAR_DAYS,
    available,
    district_id_for_centre,
    district_ids_for_pincode,
    district_list,
    public_sessions,
    state_list,
)
from sessions_app.slots import slots_for

SESSIONS_MAX_AGE = 60  # seconds a client or proxy may reuse a session answer
PLACES_MAX_AGE = 300
PLACES_TTL_HOURS = 24  # CoWIN's `ttl` field: hours a client may keep the lists of places

NOT_APPLICABLE = _("Not Applicable")  # CoWIN's block name for a centre without a block

_HINDI = re.compile(r"\s*hi(?:[-_]|\s*[;,]|\s*$)", re.IGNORECASE)
_NUMBER = re.compile(r"^[1-9][0-9]{0,17}$")
_PINCODE = re.compile(r"^[1-9][0-9]{5}$")
_DATE = re.compile(r"^([0-9]{1,2})-([0-9]{1,2})-([0-9]{4})$")
_GZIP = re.compile(r"\bgzip\b(?!\s*;\s*q=0(?:\.0*)?\s*(?:,|$))", re.IGNORECASE)
_VACCINE = re.compile(r"^[A-Za-z0-9_\-]{1,32}$")


# --- Errors in CoWIN's shape: {"errorCode": …, "error": …} ------------------------------


class BadParameter(Exception):
    def __init__(self, code: str, message, **params):
        super().__init__(code)
        self.code, self.message, self.params = code, message, params


def _missing() -> BadParameter:
    # CoWIN's exact body: clients test for it.
    return BadParameter("USRRES0001", _("Input parameter missing"))


def _error_body(code: str, message, params: dict, hindi: bool) -> bytes:
    """`error` stays in English as CoWIN sent it (clients compare it); with
    Accept-Language: hi_IN an `error_l` in Hindi is added, like the other *_l fields."""
    with translation.override("en"):
        body = {"errorCode": code, "error": str(message) % params if params else str(message)}
    if hindi:
        with translation.override("hi"):
            body["error_l"] = str(message) % params if params else str(message)
    return json.dumps(body, ensure_ascii=False).encode()


def _bad(request: HttpRequest, error: BadParameter) -> HttpResponse:
    # A bad request counts against the caller's limit like any other.
    counted = public_cache.store().lookup(None, [], public_cache.current_rate(), _ip(request))
    if counted.retry_after:
        return _too_many(request, counted.retry_after)
    response = HttpResponse(
        _error_body(error.code, error.message, error.params, _hindi(request)),
        status=400,
        content_type="application/json",
    )
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _too_many(request: HttpRequest, retry_after: int) -> HttpResponse:
    message = _("Too many requests from your address: try again in %(seconds)s seconds.")
    response = HttpResponse(
        _error_body("USRRES0429", message, {"seconds": retry_after}, _hindi(request)),
        status=429,
        content_type="application/json",
    )
    response["Retry-After"] = str(retry_after)
    response["Access-Control-Allow-Origin"] = "*"
    return response


# --- Parameters --------------------------------------------------------------------------


def _hindi(request: HttpRequest) -> bool:
    # CoWIN's clients send "hi_IN", which Django's own Accept-Language parser ignores.
    return bool(_HINDI.match(request.META.get("HTTP_ACCEPT_LANGUAGE", "")))


def _ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


def _required(request: HttpRequest, *names: str) -> list[str]:
    values = [request.GET.get(name, "").strip() for name in names]
    if not all(values):
        raise _missing()
    return values


def _number(value: str, name: str) -> int:
    if not _NUMBER.match(value):
        raise BadParameter("USRRES0002", _("%(name)s must be a whole number, not %(value)s."), name=name, value=value)
    return int(value)


def _pincode(value: str) -> str:
    if not _PINCODE.match(value):
        raise BadParameter("USRRES0002", _("pincode must be 6 digits, not %(value)s."), value=value)
    return value


def _date(value: str) -> dt.date:
    match = _DATE.match(value)
    try:
        if not match:
            raise ValueError(value)
        day = dt.date(int(match[3]), int(match[2]), int(match[1]))
        day + dt.timedelta(days=CALENDAR_DAYS)  # 31-12-9999 has no week after it
        return day
    except (ValueError, OverflowError):
        raise BadParameter(
            "USRRES0003", _("date must be a real date written dd-mm-yyyy, not %(value)s."), value=value
        ) from None


def _vaccine(request: HttpRequest) -> str:
    """CoWIN's later optional filter (e.g. vaccine=COVISHIELD)."""
    value = request.GET.get("vaccine", "").strip()
    if value and not _VACCINE.match(value):
        raise BadParameter("USRRES0002", _("vaccine must be a vaccine code such as COVISHIELD."))
    return value.upper()


# --- Bodies ------------------------------------------------------------------------------


def _hi(field: str, english: str, hindi: str, body: dict) -> None:
    """Add `<field>_l` in Hindi, falling back to the English text (never empty)."""
    body[f"{field}_l"] = hindi or english


def _fee_text(value) -> str:
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        return "0"
    return str(int(amount)) if amount == amount.to_integral_value() else str(amount)


def _centre_fields(row: dict, hindi: bool) -> dict:
    """A session row's centre, district and state, as CoWIN named them."""
    body = {
        "center_id": row["centre_id"],
        "name": row["centre_name"],
        "address": row["address"],
        "state_name": row["state_name"],
        "district_name": row["district_name"],
        "block_name": row["block"] or str(NOT_APPLICABLE),
        "pincode": int(row["pincode"]),
    }
    if row["lat"] is not None and row["long"] is not None:
        body["lat"], body["long"] = float(row["lat"]), float(row["long"])
    body.update({"from": f"{row['opens']:%H:%M:%S}", "to": f"{row['closes']:%H:%M:%S}", "fee_type": row["fee_type"]})
    if hindi:
        _hi("name", row["centre_name"], row["centre_name_hi"], body)
        _hi("address", row["address"], row["address_hi"], body)
        _hi("state_name", row["state_name"], row["state_name_hi"], body)
        _hi("district_name", row["district_name"], row["district_name_hi"], body)
        with translation.override("hi"):
            body["block_name_l"] = row["block_hi"] or row["block"] or str(NOT_APPLICABLE)
    return body


def _fee(row: dict) -> str:
    if row["fee_type"] != FeeType.PAID:
        return "0"
    return _fee_text((row["fees"] or {}).get(row["vaccine_code"], 0))


def _vaccine_fees(row: dict) -> list[dict]:
    return [{"vaccine": code, "fee": _fee_text(fee)} for code, fee in sorted((row["fees"] or {}).items())]


def _session_fields(row: dict) -> dict:
    places = available(row)
    body = {
        "session_id": str(row["public_id"]),
        "date": f"{row['date']:%d-%m-%Y}",
        "available_capacity": places,
        "available_capacity_dose1": places if row["dose"] == 1 else 0,
        "available_capacity_dose2": places if row["dose"] == 2 else 0,
        "fee": _fee(row),
        "min_age_limit": row["min_age"],
        "allow_all_age": row["min_age"] <= 18 and row["max_age"] is None,
        "vaccine": row["vaccine_code"],
        "slots": list(dict.fromkeys(row["slots"] or slots_for(row["opens"], row["closes"]))),
    }
    if row["max_age"] is not None:
        body["max_age_limit"] = row["max_age"]
    return body


def _calendar_session(row: dict) -> dict:
    # The April 2021 document also requires fee_type, from and to in each calendar session.
    return {
        **_session_fields(row),
        "fee_type": row["fee_type"],
        "from": f"{row['opens']:%H:%M:%S}",
        "to": f"{row['closes']:%H:%M:%S}",
    }


def _find_body(rows: Iterable[dict], hindi: bool) -> dict:
    return {"sessions": [{**_centre_fields(row, hindi), **_session_fields(row)} for row in rows]}


def _calendar_centres(rows: Iterable[dict], hindi: bool) -> list[dict]:
    centres: dict[int, dict] = {}
    for row in rows:
        entry = centres.get(row["centre_id"])
        if entry is None:
            entry = centres[row["centre_id"]] = _centre_fields(row, hindi)
            if row["fee_type"] == FeeType.PAID:
                entry["vaccine_fees"] = _vaccine_fees(row)
            entry["sessions"] = []
        entry["sessions"].append(_calendar_session(row))
    return list(centres.values())


def _states_body(hindi: bool) -> dict:
    states = []
    for state in state_list():
        item = {"state_id": state.pk, "state_name": state.name}
        if hindi:
            _hi("state_name", state.name, state.name_hi, item)
        states.append(item)
    return {"states": states, "ttl": PLACES_TTL_HOURS}


def _districts_body(state_id: int, hindi: bool) -> dict:
    districts = []
    for district in district_list(state_id=state_id):
        item = {"district_id": district.pk, "district_name": district.name, "state_id": district.state_id}
        if hindi:
            _hi("district_name", district.name, district.name_hi, item)
        districts.append(item)
    return {"districts": districts, "ttl": PLACES_TTL_HOURS}


# --- Serving: cache, rate limit, conditional GET -----------------------------------------


def _etag_matches(header: str, etag: str) -> bool:
    if not header:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


def sessions_key(by: str, days: int, place, day: dt.date, vaccine: str) -> str:
    """The cache key of a sessions answer (the language is appended by _serve)."""
    return f"pub:e:{by}:{days}:{place}:{day:%Y%m%d}:{vaccine}"


def _serve(
    request: HttpRequest,
    *,
    key: str,
    districts: list[int],
    build: Callable[[bool], dict],
    max_age: int,
    resolve: Callable[[], list[int]] | None = None,
) -> HttpResponse:
    """Answer from the cache when fresh, else build, stamp and cache the body.

    `districts` are the districts the answer depends on, known from the request;
    `resolve` finds them in the database when the request does not say (pincode,
    centre). Stamps are always read before the rows, so a change that lands in between
    leaves the body marked stale rather than new.
    """
    hindi = _hindi(request)
    key = f"{key}:{'hi' if hindi else 'en'}"
    store = public_cache.store()
    found = store.lookup(key, [PLACES, *map(district_key, districts)], public_cache.current_rate(), _ip(request))
    if found.retry_after:
        return _too_many(request, found.retry_after)
    entry = found.entry
    if entry is None and found.stale is not None and not store.claim(key):
        entry = found.stale  # another request is rebuilding it right now
    if entry is None:
        stamps = found.stamps
        if resolve is not None and stamps is not None:
            more = store.stamps([district_key(d) for d in resolve()])
            stamps = None if more is None else {**stamps, **more}
        with translation.override("en"):  # English fields stay English whatever the cookie says
            body = json.dumps(build(hindi), ensure_ascii=False, separators=(",", ":")).encode()
        entry = Entry.build(stamps or {}, body)
        if stamps is not None:
            store.save(key, entry)
    gzipped = bool(entry.gzipped) and bool(_GZIP.search(request.META.get("HTTP_ACCEPT_ENCODING", "")))
    etag = entry.etag[:-1] + '-gzip"' if gzipped else entry.etag  # one ETag per representation
    if _etag_matches(request.META.get("HTTP_IF_NONE_MATCH", ""), etag):
        response = HttpResponseNotModified()
    elif gzipped:
        response = HttpResponse(entry.gzipped, content_type="application/json")
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(entry.body, content_type="application/json")
    response["ETag"] = etag
    response["Cache-Control"] = f"public, max-age={max_age}"
    response["Vary"] = "Accept-Language, Accept-Encoding"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def public_view(view):
    """Anonymous, read-only, no CSRF (nothing is written)."""
    return csrf_exempt(require_safe(view))


# --- Views -------------------------------------------------------------------------------


@public_view
def states(request: HttpRequest) -> HttpResponse:
    return _serve(request, key="pub:e:states", districts=[], build=_states_body, max_age=PLACES_MAX_AGE)


@public_view
def districts(request: HttpRequest, state_id: str) -> HttpResponse:
    try:
        sid = _number(state_id.strip(), "state_id")
    except BadParameter as error:
        return _bad(request, error)
    return _serve(
        request,
        key=f"pub:e:districts:{sid}",
        districts=[],
        build=lambda hindi: _districts_body(sid, hindi),
        max_age=PLACES_MAX_AGE,
    )


def _sessions_view(by: str, days: int):
    """findBy… (one day) and calendarBy… (CALENDAR_DAYS days) for one kind of place."""
    param = {"pin": "pincode", "district": "district_id", "center": "center_id"}[by]

    @public_view
    def view(request: HttpRequest) -> HttpResponse:
        try:
            value, date = _required(request, param, "date")
            place = _pincode(value) if by == "pin" else _number(value, param)
            day, vaccine = _date(date), _vaccine(request)
        except BadParameter as error:
            return _bad(request, error)
        filters = {"pin": "pincode", "district": "district_id", "center": "centre_id"}[by]

        def build(hindi: bool) -> dict:
            sessions = public_sessions(first=day, days=days, vaccine=vaccine, **{filters: place})
            if days == 1:
                return _find_body(sessions, hindi)
            centres = _calendar_centres(sessions, hindi)
            if by == "center":  # CoWIN answers one centre as an object, {} when none
                return {"centers": centres[0] if centres else {}}
            return {"centers": centres}

        resolve = None
        if by == "pin":
            resolve = lambda: district_ids_for_pincode(pincode=place)  # noqa: E731
        elif by == "center":
            resolve = lambda: [d for d in [district_id_for_centre(centre_id=place)] if d]  # noqa: E731
        return _serve(
            request,
            key=sessions_key(by, days, place, day, vaccine),
            districts=[place] if by == "district" else [],
            resolve=resolve,
            build=build,
            max_age=SESSIONS_MAX_AGE,
        )

    return view


find_by_pin = _sessions_view("pin", 1)
find_by_district = _sessions_view("district", 1)
calendar_by_pin = _sessions_view("pin", CALENDAR_DAYS)
calendar_by_district = _sessions_view("district", CALENDAR_DAYS)
calendar_by_center = _sessions_view("center", CALENDAR_DAYS)
