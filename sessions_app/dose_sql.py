"""The dose path's statements on PostgreSQL, written by hand (SPEC §6).

Why by hand: marking a dose must sustain half the requests per second of a bare view
that reads one row (bench/http.py). On the 2-core box the ORM spends ~0.4 ms of CPU
building each query, a prepared string ~0.09 ms; the dose path through the ORM took
ten queries and ~11 ms of CPU. Here the API's dose is one read (the token's user, the
references, the person's records) and one write, each prepared once per connection
(covax/prepared.py: planning them was most of PostgreSQL's work; the read also stands in
for Django's per-request `SELECT 1`), and no transaction round trips: the write is one
statement that checks what the rules were decided on. The rules stay in Python
(sessions_app/services.py); these functions only fetch the facts the rules need and
write the result.

- `target_read`: the person, centre, vaccine and session a request names, each only if
  it is within the caller's reach (covax.accounts.scope.reach, the same rules as
  `scope_q`), in one statement; for the API's dose, with the token's user and the
  person's facts in the same statement.
- `facts_read`: the person's live records of this dose and the one before, and the
  record an earlier request with this idempotency key wrote, in one statement.
- `record_insert`: writes the record only if the facts it was decided on still hold,
  releases the person's places for this dose in other sessions and moves those
  sessions' seats, in one statement; pghistory's triggers audit all of it as usual.

SQLite (the embedded default) takes the ORM path in services.py instead.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import DEFERRED

from beneficiaries.models import Beneficiary
from covax import audit, prepared
from covax.accounts.authentication import TOKEN_USER, USER_COLUMNS, USER_FIELDS
from covax.accounts.models import User
from covax.accounts.scope import reach
from sessions_app.models import Allocation, AllocationStatus, Centre, District, Session, Vaccination, Vaccine

# Tables by their models' names for them: a renamed table is renamed here too.
PEOPLE, DISTRICTS, CENTRES = Beneficiary._meta.db_table, District._meta.db_table, Centre._meta.db_table
VACCINES, SESSIONS, DOSES = Vaccine._meta.db_table, Session._meta.db_table, Vaccination._meta.db_table
ALLOCATIONS = Allocation._meta.db_table


def _load(model, names: list[str], values) -> Any:
    """A model instance from a row; fields not read are deferred (loaded if touched).
    Laid out here as from_db() would (it searches `names` once per field, each time)."""
    fields, positions = _layout(model, tuple(names))
    return model.from_db(DEFAULT_DB_ALIAS, fields, [DEFERRED if at is None else values[at] for at in positions])


@cache
def _layout(model, names: tuple[str, ...]) -> tuple[list[str], list[int | None]]:
    """Every concrete field of `model`, and where each is in a row of `names` (None: not read)."""
    fields = [f.attname for f in model._meta.concrete_fields]
    return fields, [names.index(f) if f in names else None for f in fields]


# Each read names its columns once; the statements below select them in this order.
_PERSON = ["id", "reference_id", "district_id", "merged_into_id"]
_CENTRE = ["id", "district_id", "name", "name_hi"]
_VACCINE = [f.attname for f in Vaccine._meta.concrete_fields]
_SESSION = ["id", "centre_id", "date", "vaccine_id", "dose", "status", "capacity"]
_RECORD = [f.attname for f in Vaccination._meta.concrete_fields]


def _select(alias: str, names: list[str]) -> str:
    return ", ".join(f"{alias}.{name}" for name in names)


# The person's (b) live records of this dose and the one before, and the record of this
# idempotency key: two index lookups (vaccination_one_per_dose, client_id's unique index),
# each in its own branch; joined with an OR, the planner scans every live record of the dose.
_FACTS = f"""(
    SELECT {", ".join(_RECORD)} FROM {DOSES}
    WHERE beneficiary_id = b.id AND dose IN (%(dose)s, %(dose)s - 1) AND voided_at IS NULL
    UNION ALL
    SELECT {", ".join(_RECORD)} FROM {DOSES} WHERE client_id = %(client_id)s
)"""


def _target_sql(*, by_token: bool, facts: bool) -> str:
    """Everything a request names, found by its id or code, each with the state and
    district it sits in: whether it is within the caller's reach is decided in Python
    (Reach.covers_place / covers_person), from these columns.

    `by_token`: the caller is the user of the token %(key)s, read in the same statement
    (the API's dose: one round trip fewer); no row when the token signs no one in.
    `facts`: the person's facts for the dose (see _FACTS) too, a row per record.
    """
    staff_centre = "u.centre_id" if by_token else "%(staff_centre)s"
    return f"""
SELECT {USER_COLUMNS + ", " if by_token else ""}
       (SELECT district_id FROM {CENTRES} WHERE id = {staff_centre}) AS staff_district,
       {_select("b", _PERSON)}, (SELECT state_id FROM {DISTRICTS} WHERE id = b.district_id) AS person_state,
       {_select("c", _CENTRE)}, (SELECT state_id FROM {DISTRICTS} WHERE id = c.district_id) AS centre_state,
       {_select("v", _VACCINE)}, {_select("s", _SESSION)},
       sc.name, sc.district_id, (SELECT state_id FROM {DISTRICTS} WHERE id = sc.district_id), sv.code
       {", " + _select("f", _RECORD) if facts else ""}
FROM {TOKEN_USER if by_token else "(SELECT 1 AS one) AS request"}
LEFT JOIN {PEOPLE} b ON b.reference_id = %(reference_id)s
LEFT JOIN {CENTRES} c ON c.id = %(centre_id)s
LEFT JOIN {VACCINES} v ON v.code = %(vaccine_code)s
LEFT JOIN {SESSIONS} s ON s.id = %(session_id)s
LEFT JOIN {CENTRES} sc ON sc.id = s.centre_id
LEFT JOIN {VACCINES} sv ON sv.id = s.vaccine_id
{f"LEFT JOIN LATERAL {_FACTS} f ON b.id IS NOT NULL" if facts else ""}
{"WHERE t.key = %(key)s" if by_token else ""}
"""


_TARGET_SQL = {
    (by_token, facts): _target_sql(by_token=by_token, facts=facts)
    for by_token in (False, True)
    for facts in (False, True)
}


@dataclass
class Target:
    """What a dose request names; None where it names nothing within reach."""

    beneficiary: Beneficiary | None = None
    centre: Centre | None = None
    vaccine: Vaccine | None = None
    session: Session | None = None
    facts: Facts | None = None  # the person's, when asked for with a dose number
    user: User | None = None  # the token's, when asked for by token


def target_read(
    *,
    reference_id: str | None,
    centre_id: int | None,
    vaccine_code: str | None,
    session_id: int | None,
    user: User | None = None,
    token: str | None = None,
    dose: int | None = None,
    client_id: uuid.UUID | None = None,
) -> Target:
    """What a dose request names, within the reach of `user`, or of the user `token`
    signs in (then `Target.user`; nothing at all if it signs in no one).
    `dose` (and `client_id`): the person's facts for that dose too (facts_read)."""
    params = {
        "key": token,
        "staff_centre": getattr(user, "centre_id", None),
        "reference_id": reference_id,
        "centre_id": centre_id,
        "vaccine_code": vaccine_code,
        "session_id": session_id,
        "dose": dose,
        "client_id": client_id,
    }
    rows = prepared.fetchall(_TARGET_SQL[token is not None, dose is not None], params, read=True)
    if not rows:  # no such token
        return Target()
    columns = iter(rows[0])
    target = Target()
    if token is not None:
        user = target.user = _load(User, USER_FIELDS, [next(columns) for _ in USER_FIELDS])
    within = reach(user)
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
    if dose is not None and target.beneficiary is not None:
        at = len(rows[0]) - len(_RECORD)
        target.facts = _facts(target.beneficiary.merged_into_id, [r[at:] for r in rows])
    return target


def _take(columns, model, names: list[str]):
    values = [next(columns) for _ in names]
    return None if values[0] is None else _load(model, names, values)


# --- The facts and the write --------------------------------------------------------------

_FACTS_SQL = f"""
SELECT b.merged_into_id, {_select("f", _RECORD)}
FROM {PEOPLE} b
LEFT JOIN LATERAL {_FACTS} f ON true
WHERE b.id = %(person)s
"""


@dataclass
class Facts:
    merged_into_id: int | None
    records: list[Vaccination] = field(default_factory=list)


def facts_read(*, person_id: int, dose: int, client_id: uuid.UUID | None) -> Facts:
    """What the dose rules decide on. Read without a lock: record_insert checks, as it
    writes, that what the rules used still holds."""
    rows = prepared.fetchall(_FACTS_SQL, {"person": person_id, "dose": dose, "client_id": client_id}, read=True)
    if not rows:
        raise Beneficiary.DoesNotExist
    return _facts(rows[0][0], [row[1:] for row in rows])


def _facts(merged_into_id: int | None, records: list[tuple]) -> Facts:
    return Facts(merged_into_id, [_load(Vaccination, _RECORD, r) for r in records if r[0] is not None])


_INSERT_COLUMNS = [f for f in Vaccination._meta.concrete_fields if not f.primary_key]
# received_at: set by pre_save, as save() would. The other values go as the service
# typed them (ints, text, aware datetimes, UUIDs): psycopg adapts them, and asking each
# field for its database value cost ~0.1 ms of CPU a dose.
_STAMPED = [f for f in _INSERT_COLUMNS if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]


@cache
def _insert_sql() -> str:
    """The write, built on first use (the column types come from the PostgreSQL backend).

    - `audit` sets the audit context first, in the statement itself (pghistory would
      prefix it to a write sent through Django's cursor; covax/prepared.py bypasses that).
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
WITH audit AS MATERIALIZED (
    SELECT {audit.SETTINGS_SQL}
), person AS (
    SELECT b.id FROM {PEOPLE} b, audit
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
    for f in _STAMPED:
        f.pre_save(record, True)
    params = {
        **{f.attname: getattr(record, f.attname) for f in _INSERT_COLUMNS},
        **audit.settings_params(),
        "cancelled": AllocationStatus.CANCELLED,
        "active": AllocationStatus.ACTIVE,
        "person": record.beneficiary_id,
        "previous": previous_id,
        "session": record.session_id,
    }
    record.pk, districts = prepared.fetchone(_insert_sql(), params)
    if record.pk is None:
        return None
    record._state.adding = False
    record._state.db = connection.alias
    return districts
