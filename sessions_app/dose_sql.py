"""The dose path's three statements on PostgreSQL, written by hand (SPEC §6).

Why by hand: marking a dose must sustain half the requests per second of a bare view
that reads one row (bench/http.py). On the 2-core box the ORM spends ~0.4 ms of CPU
building each query, a prepared string ~0.09 ms; the dose path through the ORM took
ten queries and ~11 ms of CPU. Here it is one read before the transaction and two
statements inside it. The rules stay in Python (sessions_app/services.py); these
functions only fetch the facts the rules need and write the result.

- `target_read`: the person, centre, vaccine and session a request names, each only if
  it is within the caller's reach (covax.accounts.scope.reach, the same rules as
  `scope_q`), in one statement.
- `facts_lock`: locks the person's row and reads, in the same statement, their live
  records of this dose and the one before, and the record an earlier request with
  this idempotency key wrote.
- `record_insert`: writes the record and releases the person's places for this dose
  in other sessions, in one statement; pghistory's triggers audit both as usual.

SQLite (the embedded default) takes the ORM path in services.py instead.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from beneficiaries.models import Beneficiary
from covax.accounts.scope import Reach
from sessions_app.models import Allocation, AllocationStatus, Centre, District, Session, Vaccination, Vaccine

# Tables by their models' names for them: a renamed table is renamed here too.
PEOPLE, DISTRICTS, CENTRES = Beneficiary._meta.db_table, District._meta.db_table, Centre._meta.db_table
VACCINES, SESSIONS, DOSES = Vaccine._meta.db_table, Session._meta.db_table, Vaccination._meta.db_table
ALLOCATIONS = Allocation._meta.db_table


def _columns(model, names: list[str]) -> list[str]:
    """`names` in the model's field order, as from_db() wants them."""
    return [f.attname for f in model._meta.concrete_fields if f.attname in names]


def _load(model, names: list[str], values) -> Any:
    """A model instance from a row; fields not read are deferred (loaded if touched)."""
    return model.from_db(connection.alias, names, values)


# Each read names its columns once; the statements below select them in this order.
_PERSON = _columns(Beneficiary, ["id", "reference_id", "district_id", "merged_into_id"])
_CENTRE = _columns(Centre, ["id", "district_id", "name", "name_hi"])
_VACCINE = [f.attname for f in Vaccine._meta.concrete_fields]
_SESSION = _columns(Session, ["id", "centre_id", "date", "vaccine_id", "dose", "status", "capacity"])
_RECORD = [f.attname for f in Vaccination._meta.concrete_fields]


def _select(alias: str, names: list[str]) -> str:
    return ", ".join(f"{alias}.{name}" for name in names)


# Within reach: scope_q's conditions, one statement per kind of reach (a statement with
# every kind OR-ed together costs PostgreSQL twice the planning).
_REACH = {
    "everything": ("TRUE", "TRUE"),
    "state": (
        f"(SELECT state_id FROM {DISTRICTS} WHERE id = b.district_id) = %(state)s",
        f"(SELECT state_id FROM {DISTRICTS} WHERE id = {{c}}.district_id) = %(state)s",
    ),
    "district": ("b.district_id = %(district)s", "{c}.district_id = %(district)s"),
    "centre": (
        f"b.district_id = (SELECT district_id FROM {CENTRES} WHERE id = %(centre)s)",
        "{c}.id = %(centre)s",
    ),
    "nothing": ("FALSE", "FALSE"),
}


def _target_sql(person_in_reach: str, centre_in_reach: str) -> str:
    return f"""
SELECT {_select("b", _PERSON)}, {_select("c", _CENTRE)}, {_select("v", _VACCINE)}, {_select("s", _SESSION)},
       sc.name AS session_centre_name, sv.code AS session_vaccine_code
FROM (SELECT 1 AS one) AS request
LEFT JOIN {PEOPLE} b ON b.reference_id = %(reference_id)s AND {person_in_reach}
LEFT JOIN {CENTRES} c ON c.id = %(centre_id)s AND {centre_in_reach.format(c="c")}
LEFT JOIN {VACCINES} v ON v.code = %(vaccine_code)s
LEFT JOIN {SESSIONS} s ON s.id = %(session_id)s
LEFT JOIN {CENTRES} sc ON sc.id = s.centre_id
LEFT JOIN {VACCINES} sv ON sv.id = s.vaccine_id
WHERE s.id IS NULL OR {centre_in_reach.format(c="sc")}
"""


_TARGET_SQL = {kind: _target_sql(*conditions) for kind, conditions in _REACH.items()}


def _kind(reach: Reach) -> str:
    if reach.everything:
        return "everything"
    if reach.state_id is not None:
        return "state"
    if reach.district_id is not None:
        return "district"
    if reach.centre_id is not None:
        return "centre"
    return "nothing"


@dataclass
class Target:
    """What a dose request names; None where it names nothing within reach."""

    beneficiary: Beneficiary | None = None
    centre: Centre | None = None
    vaccine: Vaccine | None = None
    session: Session | None = None


def target_read(
    *, reach: Reach, reference_id: str, centre_id: int, vaccine_code: str, session_id: int | None
) -> Target:
    params = {
        "state": reach.state_id,
        "district": reach.district_id,
        "centre": reach.centre_id,
        "reference_id": reference_id,
        "centre_id": centre_id,
        "vaccine_code": vaccine_code,
        "session_id": session_id,
    }
    with connection.cursor() as cursor:
        cursor.execute(_TARGET_SQL[_kind(reach)], params)
        row = cursor.fetchone()
    if row is None:  # the session exists but is outside the caller's reach
        return target_read(
            reach=reach, reference_id=reference_id, centre_id=centre_id, vaccine_code=vaccine_code, session_id=None
        )
    target = Target()
    at = 0
    parts = [
        ("beneficiary", Beneficiary, _PERSON),
        ("centre", Centre, _CENTRE),
        ("vaccine", Vaccine, _VACCINE),
        ("session", Session, _SESSION),
    ]
    for name, model, names in parts:
        values = row[at : at + len(names)]
        at += len(names)
        if values[0] is not None:
            setattr(target, name, _load(model, names, values))
    if target.session is not None:
        # Its centre's name and vaccine's code, for "this session is for …" (the rest defers).
        target.session.centre = _load(Centre, ["id", "name"], (target.session.centre_id, row[at]))
        target.session.vaccine = _load(Vaccine, ["id", "code"], (target.session.vaccine_id, row[at + 1]))
    return target


# --- Inside the dose's transaction --------------------------------------------------------

_RECORD_COLUMNS = ", ".join(_RECORD)
# Two index lookups (the person's live records by vaccination_one_per_dose, the key by its
# unique index), each in its own branch: joined with an OR, the planner scans every live
# record of the dose instead.
_FACTS_SQL = f"""
SELECT b.merged_into_id, {_select("v", _RECORD)}
FROM {PEOPLE} b
LEFT JOIN LATERAL (
    SELECT {_RECORD_COLUMNS} FROM {DOSES}
    WHERE beneficiary_id = b.id AND dose IN (%(dose)s, %(dose)s - 1) AND voided_at IS NULL
    UNION ALL
    SELECT {_RECORD_COLUMNS} FROM {DOSES} WHERE client_id = %(client_id)s
) v ON true
WHERE b.id = %(person)s
FOR UPDATE OF b
"""


@dataclass
class Facts:
    merged_into_id: int | None
    records: list[Vaccination] = field(default_factory=list)


def facts_lock(*, person_id: int, dose: int, client_id: uuid.UUID | None) -> Facts:
    """Lock the person's row (the second of two devices marking them waits here and
    then sees the first one's record: SPEC §3 guard 4) and read the facts under it."""
    with connection.cursor() as cursor:
        cursor.execute(_FACTS_SQL, {"person": person_id, "dose": dose, "client_id": client_id})
        rows = cursor.fetchall()
    if not rows:
        raise Beneficiary.DoesNotExist
    facts = Facts(merged_into_id=rows[0][0])
    facts.records = [_load(Vaccination, _RECORD, row[1:]) for row in rows if row[1] is not None]
    return facts


_INSERT_COLUMNS = [f for f in Vaccination._meta.concrete_fields if not f.primary_key]
_INSERT_SQL = f"""
WITH released AS (
    UPDATE {ALLOCATIONS} SET status = %(cancelled)s
    WHERE beneficiary_id = %(person)s AND dose = %(dose)s AND status = %(active)s
      AND session_id IS DISTINCT FROM %(session)s
    RETURNING session_id
), recorded AS (
    INSERT INTO {DOSES} ({", ".join(f.column for f in _INSERT_COLUMNS)})
    VALUES ({", ".join(f"%({f.attname})s" for f in _INSERT_COLUMNS)})
    RETURNING id
)
SELECT (SELECT id FROM recorded), ARRAY(SELECT session_id FROM released)
"""


def record_insert(record: Vaccination) -> list[int]:
    """Insert `record` (its pk is set) and release the person's active places for the
    same dose in other sessions; returns those sessions' ids, whose seats must move."""
    values = {f.attname: f.get_db_prep_save(f.pre_save(record, True), connection) for f in _INSERT_COLUMNS}
    params = {
        **values,
        "cancelled": AllocationStatus.CANCELLED,
        "active": AllocationStatus.ACTIVE,
        "person": record.beneficiary_id,
        "dose": record.dose,
        "session": record.session_id,
    }
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_SQL, params)
        record.pk, released = cursor.fetchone()
    record._state.adding = False
    record._state.db = connection.alias
    return released
