"""The dose path's two hand-written statements (SPEC §6: dose marking sustains half the
rate of a bare view; bench/http.py measures it).

- `target_read`: the person, centre, vaccine and session a dose request names, each with
  where it sits (district, state), in one statement on both databases; whether each is
  within the caller's reach is decided in Python by covax.accounts.scope.Reach (the same
  rules as `scope_q`, held to it by tests/test_scope.py). Through the ORM this was four
  queries with their scope joins.
- `record_insert`: on PostgreSQL, the dose's checked write: one statement that inserts
  the record only if the facts the rules were decided on still hold, releases the
  person's places for this dose in other sessions and moves those seats. Without it a
  dose needed BEGIN, a row lock, three writes and COMMIT. SQLite (the embedded default)
  has no data-modifying WITH; services._record_insert writes there with the ORM inside
  its IMMEDIATE transaction, where nothing can change between the check and the write.

Both go through Django's own cursor: logged, wrapped (pghistory sets the audit context
before the write, as for any write) and health-checked as every other statement. The
rules stay in Python (sessions_app/doses/services.py); these only read facts and write.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import DEFERRED

from beneficiaries.models import Beneficiary
from covax.accounts.scope import reach
from covax.db import planned_reads
from sessions_app.models import Allocation, AllocationStatus, Centre, District, Session, Vaccination, Vaccine

# Tables by their models' names for them: a renamed table is renamed here too.
PEOPLE, DISTRICTS, CENTRES = Beneficiary._meta.db_table, District._meta.db_table, Centre._meta.db_table
VACCINES, SESSIONS, DOSES = Vaccine._meta.db_table, Session._meta.db_table, Vaccination._meta.db_table
ALLOCATIONS = Allocation._meta.db_table


def _load(model, names: list[str], values) -> Any:
    """A model instance from a row (Model.from_db); fields not read are deferred."""
    fields = [f.attname for f in model._meta.concrete_fields]
    row = dict(zip(names, values, strict=True))
    return model.from_db(connection.alias, fields, [row.get(f, DEFERRED) for f in fields])


# Each read names its columns once; the statement below selects them in this order.
_PERSON = ["id", "reference_id", "district_id", "merged_into_id"]
_CENTRE = ["id", "district_id", "name", "name_hi"]
_VACCINE = [f.attname for f in Vaccine._meta.concrete_fields]
_SESSION = ["id", "centre_id", "date", "vaccine_id", "dose", "status", "capacity"]


def _select(alias: str, names: list[str]) -> str:
    return ", ".join(f"{alias}.{name}" for name in names)


# Everything a request names, found by its id or code, each with the state and district
# it sits in (a correlated sub-select: one index probe each), always one row.
_TARGET_SQL = f"""
SELECT (SELECT district_id FROM {CENTRES} WHERE id = %(staff_centre)s) AS staff_district,
       {_select("b", _PERSON)}, (SELECT state_id FROM {DISTRICTS} WHERE id = b.district_id) AS person_state,
       {_select("c", _CENTRE)}, (SELECT state_id FROM {DISTRICTS} WHERE id = c.district_id) AS centre_state,
       {_select("v", _VACCINE)}, {_select("s", _SESSION)},
       sc.name, sc.district_id, (SELECT state_id FROM {DISTRICTS} WHERE id = sc.district_id), sv.code
FROM (SELECT 1 AS one) AS request
LEFT JOIN {PEOPLE} b ON b.reference_id = %(reference_id)s
LEFT JOIN {CENTRES} c ON c.id = %(centre_id)s
LEFT JOIN {VACCINES} v ON v.code = %(vaccine_code)s
LEFT JOIN {SESSIONS} s ON s.id = %(session_id)s
LEFT JOIN {CENTRES} sc ON sc.id = s.centre_id
LEFT JOIN {VACCINES} sv ON sv.id = s.vaccine_id
"""


@dataclass
class Target:
    """What a dose request names; None where it names nothing within reach."""

    beneficiary: Beneficiary | None = None
    centre: Centre | None = None
    vaccine: Vaccine | None = None
    session: Session | None = None


def target_read(
    *, user, reference_id: str | None, centre_id: int | None, vaccine_code: str | None, session_id: int | None
) -> Target:
    """What a dose request names, within the reach of `user`."""
    params = {
        "staff_centre": getattr(user, "centre_id", None),
        "reference_id": reference_id,
        "centre_id": centre_id,
        "vaccine_code": vaccine_code,
        "session_id": session_id,
    }
    with planned_reads(), connection.cursor() as cursor:
        cursor.execute(_TARGET_SQL, params)
        columns = iter(cursor.fetchone())
    target, within = Target(), reach(user)
    staff_district = next(columns)
    person, state = _take(columns, Beneficiary, _PERSON), next(columns)
    if person is not None and within.covers_person(person.district_id, state, staff_district):
        target.beneficiary = person
    centre = _take(columns, Centre, _CENTRE)
    state = next(columns)
    if centre is not None and within.covers_place(centre.pk, centre.district_id, state):
        target.centre = centre
    target.vaccine = _take(columns, Vaccine, _VACCINE)
    session = _take(columns, Session, _SESSION)
    name, district, state, code = (next(columns) for _ in range(4))
    if session is not None and within.covers_place(session.centre_id, district, state):
        target.session = session
        # Its centre's name and vaccine's code, for "this session is for …" (the rest
        # defers): the request's own centre and vaccine when they are the session's.
        same = target.centre is not None and target.centre.pk == session.centre_id
        session.centre = target.centre if same else _load(Centre, ["id", "name"], (session.centre_id, name))
        same = target.vaccine is not None and target.vaccine.pk == session.vaccine_id
        session.vaccine = target.vaccine if same else _load(Vaccine, ["id", "code"], (session.vaccine_id, code))
    return target


def _take(columns, model, names: list[str]):
    values = [next(columns) for _ in names]
    return None if values[0] is None else _load(model, names, values)


# --- The person's records -----------------------------------------------------------------

_RECORD = [f.attname for f in Vaccination._meta.concrete_fields]
# Two index look-ups, each in its own branch (vaccination_one_per_dose; client_id's unique
# index): joined with an OR, PostgreSQL's planner scans every live record of the dose.
_RECORDS_SQL = f"""
SELECT {", ".join(_RECORD)} FROM {DOSES}
WHERE beneficiary_id = %(person)s AND dose IN (%(dose)s, %(dose)s - 1) AND voided_at IS NULL
UNION ALL
SELECT {", ".join(_RECORD)} FROM {DOSES} WHERE client_id = %(client_id)s
"""


def records_read(*, person_id: int, dose: int, client_id: uuid.UUID | None) -> list[Vaccination]:
    """The person's live records of this dose and the one before, and the record an
    earlier request with this idempotency key wrote: what the dose rules decide on.
    Through the ORM this read cost 0.7 ms of CPU a dose, as a statement 0.15 ms."""
    key = Vaccination._meta.get_field("client_id").get_db_prep_value(client_id, connection)
    with planned_reads():
        return list(Vaccination.objects.raw(_RECORDS_SQL, {"person": person_id, "dose": dose, "client_id": key}))


# --- The checked write (PostgreSQL) -------------------------------------------------------

_INSERT_COLUMNS = [f for f in Vaccination._meta.concrete_fields if not f.primary_key]


@cache
def _insert_sql() -> str:
    """The write, built on first use (the column types come from the PostgreSQL backend).

    - `person` re-checks, with the person's row locked, what the rules were decided on:
      not merged into someone else meanwhile, the previous dose not voided meanwhile. If
      either changed, nothing is written and the first column is NULL: the service
      decides again on the new facts. The lock makes a merge in progress finish first.
    - A second device recording the same dose at the same moment is stopped by the
      unique index vaccination_one_per_dose, a reused key by client_id's: IntegrityError,
      which the service explains.
    - The places released are those of this dose in other sessions; their seats move in
      the same statement (services.session_seats_move does it for the ORM path), and
      their districts come back for the public cache.
    """
    values = ", ".join(f"CAST(%({f.attname})s AS {f.db_type(connection)})" for f in _INSERT_COLUMNS)
    return f"""
WITH person AS (
    SELECT b.id FROM {PEOPLE} b
    WHERE b.id = %(person)s AND b.merged_into_id IS NULL
      AND (CAST(%(previous)s AS bigint) IS NULL
           OR EXISTS (SELECT 1 FROM {DOSES} p WHERE p.id = %(previous)s AND p.voided_at IS NULL))
    FOR UPDATE OF b
), recorded AS (
    INSERT INTO {DOSES} ({", ".join(f.column for f in _INSERT_COLUMNS)})
    SELECT {values} FROM person
    RETURNING id
), released AS (
    UPDATE {ALLOCATIONS} SET status = %(cancelled)s
    WHERE beneficiary_id = %(person)s AND dose = %(dose)s AND status = %(active)s
      AND session_id IS DISTINCT FROM %(session)s AND EXISTS (SELECT 1 FROM recorded)
    RETURNING session_id
), seats AS (
    UPDATE {SESSIONS} s SET allocated_count = s.allocated_count - 1
    FROM released r WHERE s.id = r.session_id
    RETURNING s.centre_id
)
SELECT (SELECT id FROM recorded),
       ARRAY(SELECT c.district_id FROM seats JOIN {CENTRES} c ON c.id = seats.centre_id)
"""


def record_insert(record: Vaccination, *, previous_id: int | None) -> list[int] | None:
    """Insert `record` if its person is not merged and the dose before it (`previous_id`,
    None for a first dose) is still live; release the person's other places for this
    dose. Returns the districts of the sessions whose seats moved, or None if nothing was
    written because the facts changed. Audited in the current audit context."""
    for f in _INSERT_COLUMNS:
        f.pre_save(record, True)  # received_at (auto_now_add), as save() would
    params = {
        **{f.attname: f.get_db_prep_save(getattr(record, f.attname), connection) for f in _INSERT_COLUMNS},
        "cancelled": AllocationStatus.CANCELLED,
        "active": AllocationStatus.ACTIVE,
        "person": record.beneficiary_id,
        "previous": previous_id,
        "session": record.session_id,
    }
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(), params)
        record.pk, districts = cursor.fetchone()
    if record.pk is None:
        return None
    record._state.adding = False
    record._state.db = connection.alias
    return districts
