"""The contract of the CoWIN-compatible public API (SPEC §5) as JSON Schema (2020-12).

Written from the facts of CoWIN's published OpenAPI (April 2021) — field names, types,
required fields — plus what the live service later returned and clients depend on:
`address`, `available_capacity_dose1` / `_dose2`, `vaccine_fees`, `allow_all_age`,
`max_age_limit`, `calendarByCenter`. Integers for ids and `pincode` (the live service's
types; the April 2021 document still typed pincode as a string). `*_l` fields are the
Hindi texts, present with `Accept-Language: hi_IN`. No other field may appear: this
schema is also what keeps private data (allocations, people) out of public answers.
The tests validate every response against it.
"""

from __future__ import annotations

from sessions_app.slots import SLOT_RE

_ID = {"type": "integer", "minimum": 1}
_TEXT = {"type": "string", "minLength": 1}
_ANY_TEXT = {"type": "string"}
_COUNT = {"type": "integer", "minimum": 0}
_DATE = {"type": "string", "pattern": r"^(0[1-9]|[12][0-9]|3[01])-(0[1-9]|1[0-2])-[0-9]{4}$"}
_TIME = {"type": "string", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$"}
_FEE = {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"}
_FEE_TYPE = {"type": "string", "enum": ["Free", "Paid"]}
_PINCODE = {"type": "integer", "minimum": 100000, "maximum": 999999}
_SLOTS = {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"type": "string", "pattern": SLOT_RE.pattern}}
_VACCINE_FEES = {
    "type": "array",
    "uniqueItems": True,
    "items": {
        "type": "object",
        "required": ["vaccine", "fee"],
        "additionalProperties": False,
        "properties": {"vaccine": _TEXT, "fee": _FEE},
    },
}

CENTRE_PROPERTIES = {
    "center_id": _ID,
    "name": _TEXT,
    "name_l": _TEXT,
    "address": _ANY_TEXT,
    "address_l": _ANY_TEXT,
    "state_name": _TEXT,
    "state_name_l": _TEXT,
    "district_name": _TEXT,
    "district_name_l": _TEXT,
    "block_name": _TEXT,
    "block_name_l": _TEXT,
    "pincode": _PINCODE,
    "lat": {"type": "number", "minimum": -90, "maximum": 90},
    "long": {"type": "number", "minimum": -180, "maximum": 180},
    "from": _TIME,
    "to": _TIME,
    "fee_type": _FEE_TYPE,
}
CENTRE_REQUIRED = [
    "center_id",
    "name",
    "address",
    "state_name",
    "district_name",
    "block_name",
    "pincode",
    "from",
    "to",
    "fee_type",
]

SESSION_PROPERTIES = {
    "session_id": {"type": "string", "format": "uuid", "minLength": 36, "maxLength": 36},
    "date": _DATE,
    "available_capacity": _COUNT,
    "available_capacity_dose1": _COUNT,
    "available_capacity_dose2": _COUNT,
    "fee": _FEE,
    "min_age_limit": {"type": "integer", "minimum": 0},
    "max_age_limit": {"type": "integer", "minimum": 0},
    "allow_all_age": {"type": "boolean"},
    "vaccine": _TEXT,
    "slots": _SLOTS,
}
SESSION_REQUIRED = [
    "session_id",
    "date",
    "available_capacity",
    "available_capacity_dose1",
    "available_capacity_dose2",
    "fee",
    "min_age_limit",
    "allow_all_age",
    "vaccine",
    "slots",
]

# findByPin / findByDistrict: one flat object per session, centre fields included.
FIND_SESSION = {
    "type": "object",
    "required": CENTRE_REQUIRED + SESSION_REQUIRED,
    "additionalProperties": False,
    "properties": {**CENTRE_PROPERTIES, **SESSION_PROPERTIES},
}

# calendarBy…: a centre with its sessions (each also carries fee_type, from and to, as
# the April 2021 document requires).
CALENDAR_SESSION = {
    "type": "object",
    "required": SESSION_REQUIRED + ["fee_type", "from", "to"],
    "additionalProperties": False,
    "properties": {**SESSION_PROPERTIES, "fee_type": _FEE_TYPE, "from": _TIME, "to": _TIME},
}
CALENDAR_CENTRE = {
    "type": "object",
    "required": CENTRE_REQUIRED + ["sessions"],
    "additionalProperties": False,
    "properties": {
        **CENTRE_PROPERTIES,
        "vaccine_fees": _VACCINE_FEES,
        "sessions": {"type": "array", "minItems": 1, "items": CALENDAR_SESSION},
    },
}

_TTL = {"type": "number", "minimum": 0}

STATES = {
    "type": "object",
    "required": ["states", "ttl"],
    "additionalProperties": False,
    "properties": {
        "states": {
            "type": "array",
            "uniqueItems": True,
            "items": {
                "type": "object",
                "required": ["state_id", "state_name"],
                "additionalProperties": False,
                "properties": {"state_id": _ID, "state_name": _TEXT, "state_name_l": _TEXT},
            },
        },
        "ttl": _TTL,
    },
}

DISTRICTS = {
    "type": "object",
    "required": ["districts", "ttl"],
    "additionalProperties": False,
    "properties": {
        "districts": {
            "type": "array",
            "uniqueItems": True,
            "items": {
                "type": "object",
                "required": ["district_id", "district_name", "state_id"],
                "additionalProperties": False,
                "properties": {"district_id": _ID, "district_name": _TEXT, "district_name_l": _TEXT, "state_id": _ID},
            },
        },
        "ttl": _TTL,
    },
}

FIND = {
    "type": "object",
    "required": ["sessions"],
    "additionalProperties": False,
    "properties": {"sessions": {"type": "array", "uniqueItems": True, "items": FIND_SESSION}},
}

CALENDAR = {
    "type": "object",
    "required": ["centers"],
    "additionalProperties": False,
    "properties": {"centers": {"type": "array", "uniqueItems": True, "items": CALENDAR_CENTRE}},
}

# calendarByCenter: CoWIN answered the one centre as an object, and {} without sessions.
CALENDAR_ONE = {
    "type": "object",
    "required": ["centers"],
    "additionalProperties": False,
    "properties": {"centers": {"oneOf": [CALENDAR_CENTRE, {"type": "object", "maxProperties": 0}]}},
}

ERROR = {
    "type": "object",
    "required": ["errorCode", "error"],
    "additionalProperties": False,
    "properties": {
        "errorCode": {"type": "string", "pattern": "^[A-Z]+[0-9]+$"},
        "error": _TEXT,
        "error_l": _TEXT,
    },
}

# Path (under /api/v2/) → schema of its 200 answer.
RESPONSES = {
    "admin/location/states": STATES,
    "admin/location/districts/{state_id}": DISTRICTS,
    "appointment/sessions/public/findByPin": FIND,
    "appointment/sessions/public/findByDistrict": FIND,
    "appointment/sessions/public/calendarByPin": CALENDAR,
    "appointment/sessions/public/calendarByDistrict": CALENDAR,
    "appointment/sessions/public/calendarByCenter": CALENDAR_ONE,
}
