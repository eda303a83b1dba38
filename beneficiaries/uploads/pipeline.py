"""Process an upload chunk by chunk: validate, deduplicate, write in bulk.

Idempotent by construction, so that a task redelivered after a killed worker ends
with the same rows and counts as an uninterrupted run:
- people are inserted with ON CONFLICT on the identity key, so a re-run creates no one
  twice; each person remembers the upload *and row* that created them, so a re-run
  still counts that row as "created" and a later copy of it as "duplicate in file";
- doses carry an idempotency key derived from (upload, row), so a re-run replays them;
- the counts are recomputed from the first row on every run.
Fast: rows are validated in helper processes (parallel.py) while this one stores the
chunks before them; PostgreSQL takes each chunk with one COPY and one set-based insert,
whose audit rows a statement-level trigger writes. Memory stays flat: a few chunks of rows at a time,
plus one 64-bit number per person of another upload seen in the file.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import operator
import secrets
import struct
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from beneficiaries.models import Beneficiary, Upload, UploadError, UploadKind, UploadStatus
from beneficiaries.uploads import parallel, readers
from beneficiaries.uploads.rows import Header, RowError, parse_dose, parse_person, read_header
from covax import reasons
from covax.errors import Conflict, ServiceError
from sessions_app.models import Centre, Source, Vaccine

# People are stored in chunks: small ones first, so that the database starts early,
# growing by about 1.6 so that a helper validates its next chunk in the time the
# database stores the two before it, then large ones. PostgreSQL stores a large chunk,
# its rows in identity-key order and given their reference ids in ascending order,
# touching few index pages per row: at a million rows its work per row is a quarter
# less than with chunks of 10,000.
FIRST_CHUNKS = (5_000, 8_000, 13_000, 20_000, 32_000)
CHUNK = 40_000
DOSE_CHUNK = 500
# Doses back-filled from paper have a date, not a time: noon keeps them on that day
# in every Indian time zone arithmetic.
PAPER_TIME = dt.time(12, 0)
_NAMESPACE = uuid.UUID("6f1c1a52-3b7e-4a8e-9d7e-2f0c6d1e5a10")


@dataclass
class Counts:
    created: int = 0
    existing: int = 0
    duplicate: int = 0
    invalid: int = 0
    errors: list[UploadError] = field(default_factory=list)

    @property
    def done(self) -> int:
        return self.created + self.existing + self.duplicate + self.invalid

    def fail(self, upload: Upload, row: int, problems: list[tuple[str, str]]) -> None:
        self.invalid += 1
        self.errors += [error(upload, row, c, r) for c, r in problems]


def error(upload: Upload, row: int, column: str, text: str) -> UploadError:
    """One line of the error report, kept so that it can be shown in any language."""
    return UploadError(upload=upload, row=row, column=column, reason=text, message=reasons.stored(text))


def _seen_key(id_type: str, id_hash: str) -> int:
    # 64 bits of the keyed hash: enough to tell rows apart in one file (a collision,
    # ~1 in 10^7 for a million rows, would only call an existing row a duplicate).
    return hash(id_type) ^ int(id_hash[:16], 16)


def numbered_rows(path: Path, name: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header and the non-blank rows numbered as a spreadsheet shows them."""
    numbered = ((n, row) for n, row in enumerate(readers.rows(path, name), start=1) if not readers.is_blank(row))
    try:
        _n, header = next(numbered)
    except StopIteration:
        raise readers.Unreadable(reasons.reason(gettext_noop("The file is empty."))) from None
    return header, numbered


def chunk_sizes() -> Iterator[int]:
    """The sizes of the chunks of people, in order."""
    yield from FIRST_CHUNKS
    yield from itertools.repeat(CHUNK)


def _batched(items: Iterable, sizes: Iterable[int]) -> Iterator[list]:
    it = iter(items)
    for size in sizes:
        batch = list(itertools.islice(it, size))
        if not batch:
            return
        yield batch


def process(upload: Upload, *, on_chunk) -> Counts:
    path, name = Path(upload.file.path), upload.original_name
    header_cells, numbered = numbered_rows(path, name)
    numbered.close()
    header = read_header(header_cells, upload.kind)
    centre_ids = set(Centre.objects.filter(district=upload.district_id).values_list("pk", flat=True))
    if upload.kind == UploadKind.BENEFICIARIES:
        parse = functools.partial(
            parse_people,
            upload=upload,
            header=header,
            centre_ids=centre_ids,
            this_year=timezone.localdate().year,
            copy=connection.vendor == "postgresql",
        )
        # The helpers validate the first chunks while this process counts the rows.
        with parallel.parsed(lambda: _batched(numbered_rows(path, name)[1], chunk_sizes()), parse) as chunks:
            total, counts = _start(upload, header)
            seen: set[int] = set()
            for people in chunks:
                _people_chunk(upload, people, counts, seen)
                on_chunk(counts, total)
        return counts
    total, counts = _start(upload, header)
    vaccines = {v.code: v for v in Vaccine.objects.all()}
    centres = Centre.objects.in_bulk(centre_ids)
    seen = set()
    for chunk in _batched(numbered_rows(path, name)[1], itertools.repeat(DOSE_CHUNK)):
        _doses_chunk(upload, header, chunk, centres, vaccines, counts, seen)
        on_chunk(counts, total)
    return counts


def _start(upload: Upload, header: Header) -> tuple[int, Counts]:
    """Count the rows, reading the whole file: one that cannot be read fails here,
    before anything is written. Then forget the errors of an earlier run."""
    total = readers.count_rows(Path(upload.file.path), upload.original_name)
    if total == 0:
        raise readers.Unreadable(reasons.reason(gettext_noop("The file has a header but no rows.")))
    UploadError.objects.filter(upload=upload).delete()
    notices = [error(upload, 1, c, reasons.reason(gettext_noop("Unknown column, ignored."))) for c in header.ignored]
    UploadError.objects.bulk_create(notices)
    return total, Counts()


# --- people --------------------------------------------------------------------------

_COLUMNS = [
    "upload_row", "reference_id", "name", "gender", "birth_year", "phone", "id_type", "id_hash", "id_last4",
    "category", "employer", "preferred_centre_id", "district_id", "created_by_upload_id",
]  # fmt: skip
# COPY's text format: these characters in a value are written as escapes.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NULL = "\\N"


@dataclass
class People:
    """One chunk of rows, validated: what the storing side needs and nothing more."""

    valid: list[tuple[int, int, int]]  # (row, first row of this person in the chunk, seen key)
    invalid: list[tuple[int, list[tuple[str, str]]]]
    size: int  # people to insert: the first row of each person in the chunk
    records: list[tuple]  # those rows as _COLUMNS (the generic path)
    copy_text: str  # or as COPY text (PostgreSQL)
    rows: list[int] = field(default_factory=list)  # and their rows (PostgreSQL)
    keys: tuple[str, str, str] = ("{}", "{}", "{}")  # their rows, ID types and hashes as array literals

    def with_new_reference_ids(self) -> People:
        ids = reference_ids(self.size)
        if self.records:
            records = [(r[0], ref, *r[2:]) for r, ref in zip(self.records, ids, strict=True)]
            return People(self.valid, self.invalid, self.size, records, "")
        # "\n" ends a line of COPY text and nowhere else (_copy_text escapes it in values).
        lines = [line.split("\t", 2) for line in self.copy_text.split("\n")[:-1]]
        text = "".join(f"{row}\t{ref}\t{rest}\n" for (row, _old, rest), ref in zip(lines, ids, strict=True))
        return People(self.valid, self.invalid, self.size, [], text, self.rows, self.keys)


_ID_SPAN = 9 * 10**13  # reference ids are 10^13 + [0, 9·10^13): 14 digits, never a leading 0
_ID_LIMIT = (2**64 // _ID_SPAN) * _ID_SPAN  # 64-bit draws at or above this are dropped: no bias


def reference_ids(n: int) -> list[str]:
    """n random reference ids, drawn as beneficiaries.services.reference_id_new draws
    one, but from one read of the system's randomness instead of one read per person."""
    ids: list[str] = []
    while len(ids) < n:
        draws = struct.iter_unpack("<Q", secrets.token_bytes(8 * (n - len(ids) + 8)))
        ids += [str(10**13 + x % _ID_SPAN) for (x,) in draws if x < _ID_LIMIT]
    return ids[:n]


def _copy_text(records: list[tuple]) -> str:
    # Only name and employer are free text; every other value is digits, a code or a
    # hash made by the parser, so it needs no escaping.
    return "".join(
        f"{r[0]}\t{r[1]}\t{r[2].translate(_COPY_ESCAPES)}\t{r[3]}\t{r[4]}\t{r[5]}\t{r[6]}\t{r[7]}\t{r[8]}\t{r[9]}\t"
        f"{r[10].translate(_COPY_ESCAPES)}\t{_NULL if r[11] is None else r[11]}\t{r[12]}\t{r[13]}\n"
        for r in records
    )


def parse_people(chunk, *, upload: Upload, header: Header, centre_ids: set[int], this_year: int, copy: bool) -> People:
    """Validate and normalise a chunk through the identity module; keep each person's
    first row of the chunk as the record to insert, in identity-key order, with random
    reference ids given in ascending order (see CHUNK). Touches no database."""
    valid, invalid, records, first = [], [], [], {}
    id_key = settings.COVAX_ID_HASH_KEY
    for row_no, row in chunk:
        try:
            p = parse_person(row, header, centre_ids, this_year=this_year, id_key=id_key)
        except RowError as exc:
            invalid.append((row_no, exc.problems))
            continue
        key = (p["id_type"], p["id_hash"])
        first_row = first.setdefault(key, row_no)
        if first_row == row_no:
            records.append(
                (row_no, "", p["name"], p["gender"], p["birth_year"], p["phone"], p["id_type"],
                 p["id_hash"], p["id_last4"], p["category"], p["employer"], p["centre_id"], upload.district_id,
                 upload.pk)
            )  # fmt: skip
        valid.append((row_no, first_row, _seen_key(*key)))
    records.sort(key=operator.itemgetter(6, 7))
    records = [(r[0], ref, *r[2:]) for r, ref in zip(records, sorted(reference_ids(len(records))), strict=True)]
    if copy:  # only the text and the keys cross from a helper process
        rows = [r[0] for r in records]
        # PostgreSQL array literals, made here rather than by the storing process: rows
        # are numbers, ID types are codes and hashes hex digits, none needs quoting.
        keys = (
            "{" + ",".join(map(str, rows)) + "}",
            "{" + ",".join([r[6] for r in records]) + "}",
            "{" + ",".join([r[7] for r in records]) + "}",
        )
        return People(valid, invalid, len(records), [], _copy_text(records), rows, keys)
    return People(valid, invalid, len(records), records, "")


def _people_chunk(upload: Upload, people: People, counts: Counts, seen: set[int]) -> None:
    for row_no, problems in people.invalid:
        counts.fail(upload, row_no, problems)
    with transaction.atomic():
        owners = _store_people(upload, people)
        for row_no, first_row, seen_key in people.valid:
            by_upload, by_row = owners[first_row]
            if by_upload == upload.pk and by_row == row_no:
                counts.created += 1
            elif by_upload == upload.pk or seen_key in seen:
                counts.duplicate += 1  # created by an earlier row of this file (maybe in an earlier run)
            else:
                counts.existing += 1
                seen.add(seen_key)  # only people of other uploads need remembering
        UploadError.objects.bulk_create(counts.errors)
        counts.errors = []


def _store_people(upload: Upload, people: People) -> dict[int, tuple[int | None, int | None]]:
    """Insert the chunk's new people; answer who owns each record's identity key (the
    upload and row that created that person), by the record's row."""
    postgres = connection.vendor == "postgresql"
    for _attempt in range(3):
        try:
            with transaction.atomic():
                owners = _copy_insert(upload, people) if postgres else _orm_insert(people.records)
            if len(owners) == people.size:
                return owners
            # A person removed (a rollback) between the insert and the look-up: again.
        except IntegrityError:
            pass  # a random reference id clashed with an existing one: draw again
        people = people.with_new_reference_ids()
    raise ServiceError("Could not allocate reference ids; try again.")


def _orm_insert(records: list[tuple]) -> dict[int, tuple[int | None, int | None]]:
    Beneficiary.objects.bulk_create(
        [Beneficiary(**dict(zip(_COLUMNS, r, strict=True))) for r in records], ignore_conflicts=True
    )
    first = {(r[6], r[7]): r[0] for r in records}
    found = Beneficiary.objects.filter(id_type__in={t for t, _h in first}, id_hash__in=[h for _t, h in first])
    rows = found.values_list("id_type", "id_hash", "created_by_upload_id", "upload_row")
    return {first[(t, h)]: (u, r) for t, h, u, r in rows if (t, h) in first}


def _copy_insert(upload: Upload, people: People) -> dict[int, tuple[int | None, int | None]]:
    """Look up who of the chunk exists, then COPY the others straight into the
    beneficiary table: its unique identity index, foreign keys, checks and audit
    trigger apply to COPY as to any insert, and PostgreSQL stores copied rows in
    batches. If a concurrent upload stored one of them since the look-up, the identity
    index refuses the COPY, which is undone, and the chunk takes the general path."""
    if not people.size:
        return {}
    table = Beneficiary._meta.db_table
    with connection.cursor() as cursor:
        owners = _owners_of(cursor, people)
        text = people.copy_text
        if owners:  # only the people who are new
            text = "".join(line + "\n" for line in text.split("\n")[:-1] if int(line[: line.index("\t")]) not in owners)
        if not text:
            return owners
        cursor.execute("SELECT now()::text")  # created_at: the transaction's time, as the insert below gives it
        (now,) = cursor.fetchone()
        try:
            with (
                transaction.atomic(),
                cursor.copy(f"COPY {table} ({', '.join(_COLUMNS)}, created_at) FROM STDIN") as copy,
            ):
                copy.write(text.replace("\n", f"\t{now}\n"))
        except (IntegrityError, psycopg.IntegrityError):
            return _staged_insert(upload, people)
        return owners | {row: (upload.pk, row) for row in people.rows if row not in owners}


def _owners_of(cursor, people: People) -> dict[int, tuple[int | None, int | None]]:
    """The owners of the records' identity keys that exist, by the record's row: one
    look-up in the identity index per record (LATERAL … LIMIT 1 keeps the planner from
    hashing the whole table on stale statistics)."""
    cursor.execute(
        "SELECT k.upload_row, b.created_by_upload_id, b.upload_row "
        "FROM unnest(%s::int[], %s::text[], %s::text[]) AS k (upload_row, id_type, id_hash) CROSS JOIN LATERAL "
        f"(SELECT created_by_upload_id, upload_row FROM {Beneficiary._meta.db_table} "
        "WHERE id_type = k.id_type AND id_hash = k.id_hash LIMIT 1) b",
        people.keys,
    )
    return {first: (u, r) for first, u, r in cursor.fetchall()}


def _staged_insert(upload: Upload, people: People) -> dict[int, tuple[int | None, int | None]]:
    """COPY the chunk into a staging table, then one set-based insert that skips people
    who exist (the identity key's unique index decides, also against a concurrent
    upload) and answers the rows it created; the owners of the others are looked up."""
    table = Beneficiary._meta.db_table
    cols = ", ".join(_COLUMNS)
    insert = _insert_statement()
    with connection.cursor() as cursor:
        # Only the copied columns, without constraints: the real table's constraints
        # apply when the rows move over.
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS upload_stage AS SELECT {cols} FROM {table} WITH NO DATA")
        cursor.execute("TRUNCATE upload_stage")
        with cursor.copy(f"COPY upload_stage ({cols}) FROM STDIN") as copy:
            copy.write(people.copy_text)
        cursor.execute(insert + " RETURNING upload_row")
        owners = {row: (upload.pk, row) for (row,) in cursor.fetchall()}
        if len(owners) == people.size:
            return owners  # all new: a fresh list's usual case
        # The others exist. A separate statement: it sees people a concurrent upload
        # committed while the insert waited on them, which the insert's own snapshot
        # does not. One look-up in the identity index per record (LATERAL … LIMIT 1
        # keeps the planner from hashing the whole table on stale statistics).
        cursor.execute(
            f"SELECT s.upload_row, b.created_by_upload_id, b.upload_row FROM upload_stage s CROSS JOIN LATERAL "
            f"(SELECT created_by_upload_id, upload_row FROM {table} WHERE id_type = s.id_type AND id_hash = s.id_hash "
            "LIMIT 1) b WHERE s.upload_row NOT IN (SELECT unnest(%s::int[]))",  # a hashed anti-join
            [list(owners)],
        )
        return owners | {first: (u, r) for first, u, r in cursor.fetchall()}


@functools.cache
def _insert_statement() -> str:
    """The set-based insert. Its audit rows (SPEC §6: every change audited) are written
    by pghistory's statement-level trigger on the beneficiary table, once per
    statement from the rows it inserted (beneficiaries/models.py)."""
    table = Beneficiary._meta.db_table
    cols = ", ".join(_COLUMNS)
    return (
        f"INSERT INTO {table} ({cols}, created_at) SELECT {cols}, now() FROM upload_stage "
        "ON CONFLICT (id_type, id_hash) DO NOTHING"
    )


# --- doses ---------------------------------------------------------------------------


def _doses_chunk(upload, header: Header, chunk, centres: dict, vaccines: dict, counts: Counts, seen: set) -> None:
    from sessions_app.doses.services import vaccination_record

    parsed, centre_ids = [], set(centres)
    for row_no, row in chunk:
        try:
            parsed.append((row_no, parse_dose(row, header, centre_ids, vaccines)))
        except RowError as exc:
            counts.fail(upload, row_no, exc.problems)
    people = _people_for(upload, parsed)
    tz = timezone.get_current_timezone()
    with transaction.atomic():
        for row_no, d in parsed:
            person, problem = people.named_by(d)
            if person is None:
                counts.fail(upload, row_no, [problem])
                continue
            # The person, not how the row names them: a dose named once by reference id
            # and once by ID number is the same dose.
            key = (person.pk, d["dose"])
            if key in seen:
                counts.duplicate += 1
                continue
            seen.add(key)
            try:
                record, created = vaccination_record(
                    beneficiary=person,
                    dose=d["dose"],
                    vaccine=d["vaccine"],
                    centre=centres[d["centre_id"]],
                    source=Source.UPLOAD,
                    lot_number=d["lot_number"],
                    administered_at=timezone.make_aware(dt.datetime.combine(d["day"], PAPER_TIME), tz),
                    client_id=uuid.uuid5(_NAMESPACE, f"{upload.pk}:{row_no}"),
                    vaccinator_name=d["vaccinator"],
                    upload=upload,
                )
            except Conflict as exc:
                if exc.code == "already_vaccinated" and _same_facts(exc.extra.get("existing", {}), d, tz):
                    counts.existing += 1
                else:
                    counts.fail(upload, row_no, [("dose", exc.detail)])
                continue
            except ServiceError as exc:
                counts.fail(upload, row_no, [("dose", exc.detail)])
                continue
            counts.created += 1 if created or record.upload_id == upload.pk else 0
            counts.existing += 0 if created or record.upload_id == upload.pk else 1
        UploadError.objects.bulk_create(counts.errors)
        counts.errors = []


@dataclass
class DosePeople:
    """The people a chunk of dose rows names, by reference id and by identity key."""

    by_reference: dict[str, Beneficiary]
    by_identity: dict[tuple[str, str], Beneficiary]

    def named_by(self, d: dict) -> tuple[Beneficiary | None, tuple[str, str]]:
        """The row's person, or None and the (column, reason) why not. The reasons never
        repeat an ID number (SPEC §3 privacy)."""
        by_ref = self.by_reference.get(d["reference_id"]) if d["reference_id"] else None
        by_id = self.by_identity.get((d["id_type"], d["id_hash"])) if d["id_hash"] else None
        if d["reference_id"] and by_ref is None:
            return None, (
                "reference_id",
                reasons.reason(gettext_noop("No person with this reference id is registered in this district.")),
            )
        if d["id_hash"] and by_ref is not None and by_id != by_ref:
            return None, (
                "reference_id",
                reasons.reason(gettext_noop("The reference id and the ID number name different people; check both.")),
            )
        if by_ref is None and by_id is None:
            return None, (
                "id_number",
                reasons.reason(
                    gettext_noop("No person with this ID is registered in this district; upload them first.")
                ),
            )
        return by_ref or by_id, ("", "")


def _people_for(upload: Upload, parsed) -> DosePeople:
    """Everyone the chunk names, in one query, only of the upload's district: the
    district's scope (SPEC §2) holds for back-filled doses as for the dose API."""
    refs = {d["reference_id"] for _n, d in parsed if d["reference_id"]}
    keyed = [d for _n, d in parsed if d["id_hash"]]
    names = []
    if refs:
        names.append(Q(reference_id__in=refs))
    if keyed:
        names.append(Q(id_type__in={d["id_type"] for d in keyed}, id_hash__in=[d["id_hash"] for d in keyed]))
    if not names:
        return DosePeople({}, {})
    people = list(Beneficiary.objects.filter(functools.reduce(operator.or_, names), district_id=upload.district_id))
    return DosePeople({p.reference_id: p for p in people}, {(p.id_type, p.id_hash): p for p in people})


def _same_facts(existing: dict, d: dict, tz) -> bool:
    """The dose on file is this row's dose (same vaccine, day and centre): counted as
    existing, not as a conflict."""
    if not existing:
        return False
    day = dt.datetime.fromisoformat(existing["administered_at"]).astimezone(tz).date()
    return existing["vaccine"] == d["vaccine"].code and day == d["day"] and existing["centre"] == d["centre_id"]


def heartbeat_stale_after() -> dt.timedelta:
    return dt.timedelta(seconds=settings.COVAX_UPLOAD_STALE_SECONDS)


def uploads_held(upload_id: int | None = None) -> list[tuple[int, float]]:
    """Uploads `running` under a heartbeat that is still fresh, with the seconds until
    it goes stale: their worker may be alive, or may have died a moment ago."""
    now, stale_after = timezone.now(), heartbeat_stale_after()
    running = Upload.objects.filter(status=UploadStatus.RUNNING, heartbeat_at__gte=now - stale_after)
    if upload_id is not None:
        running = running.filter(pk=upload_id)
    return [(pk, (beat + stale_after - now).total_seconds()) for pk, beat in running.values_list("pk", "heartbeat_at")]
