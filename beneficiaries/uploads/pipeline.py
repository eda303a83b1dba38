"""Process an upload chunk by chunk: validate, deduplicate, write in bulk.

Idempotent by construction, so that a task redelivered after a killed worker ends
with the same rows and counts as an uninterrupted run:
- people are inserted with ON CONFLICT on the identity key, so a re-run creates no one
  twice; each person remembers the upload *and row* that created them, so a re-run
  still counts that row as "created" and a later copy of it as "duplicate in file";
- doses carry an idempotency key derived from (upload, row), so a re-run replays them;
- the counts are recomputed from the first row on every run.
Memory stays flat: one chunk of rows at a time, plus one 64-bit number per person seen.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from beneficiaries.models import Beneficiary, Upload, UploadError, UploadKind
from beneficiaries.services import reference_id_new
from beneficiaries.uploads import readers
from beneficiaries.uploads.rows import Header, RowError, parse_dose, parse_person, read_header
from covax.errors import Conflict, ServiceError
from sessions_app.models import Centre, Source, Vaccine

CHUNK = 5000
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
        self.errors += [UploadError(upload=upload, row=row, column=c, reason=r) for c, r in problems]


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
        raise readers.Unreadable("The file is empty.") from None
    return header, numbered


def _batched(items: Iterable, size: int) -> Iterator[list]:
    it = iter(items)
    while batch := list(itertools.islice(it, size)):
        yield batch


def process(upload: Upload, *, on_chunk) -> Counts:
    path = Path(upload.file.path)
    total = readers.count_rows(path, upload.original_name)  # reads all: unreadable fails before writing
    header_cells, numbered = numbered_rows(path, upload.original_name)
    header = read_header(header_cells, upload.kind)
    if total == 0:
        raise readers.Unreadable("The file has a header but no rows.")
    centre_ids = set(Centre.objects.filter(district=upload.district_id).values_list("pk", flat=True))
    counts, seen = Counts(), set()
    UploadError.objects.filter(upload=upload).delete()
    notices = [UploadError(upload=upload, row=1, column=c, reason="Unknown column, ignored.") for c in header.ignored]
    UploadError.objects.bulk_create(notices)
    if upload.kind == UploadKind.BENEFICIARIES:
        for chunk in _batched(numbered, CHUNK):
            _people_chunk(upload, header, chunk, centre_ids, counts, seen)
            on_chunk(counts, total)
    else:
        vaccines = {v.code: v for v in Vaccine.objects.all()}
        centres = Centre.objects.in_bulk(centre_ids)
        for chunk in _batched(numbered, DOSE_CHUNK):
            _doses_chunk(upload, header, chunk, centres, vaccines, counts, seen)
            on_chunk(counts, total)
    return counts


# --- people --------------------------------------------------------------------------

_COLUMNS = [
    "upload_row", "reference_id", "name", "gender", "birth_year", "phone", "id_type", "id_hash", "id_last4",
    "category", "employer", "preferred_centre_id", "district_id", "created_by_upload_id",
]  # fmt: skip


def _people_chunk(upload, header: Header, chunk, centre_ids, counts: Counts, seen: set) -> None:
    valid: list[tuple[int, dict]] = []
    for row_no, row in chunk:
        try:
            valid.append((row_no, parse_person(row, header, centre_ids)))
        except RowError as exc:
            counts.fail(upload, row_no, exc.problems)
    with transaction.atomic():
        _insert_people(upload, valid)
        owners = _owners(valid)
        for row_no, person in valid:
            key = (person["id_type"], person["id_hash"])
            by_upload, by_row = owners[key]
            seen_key = _seen_key(*key)
            if by_upload == upload.pk and by_row == row_no:
                counts.created += 1
            elif by_upload == upload.pk or seen_key in seen:
                counts.duplicate += 1
            else:
                counts.existing += 1
            seen.add(seen_key)
        UploadError.objects.bulk_create(counts.errors)
        counts.errors = []


def _records(upload, valid: list[tuple[int, dict]]) -> list[tuple]:
    first: dict[tuple[str, str], tuple] = {}
    for row_no, p in valid:
        first.setdefault(
            (p["id_type"], p["id_hash"]),
            (row_no, reference_id_new(), p["name"], p["gender"], p["birth_year"], p["phone"], p["id_type"],
             p["id_hash"], p["id_last4"], p["category"], p["employer"], p["centre_id"], upload.district_id, upload.pk),
        )  # fmt: skip
    return list(first.values())


def _insert_people(upload, valid) -> None:
    for _attempt in range(3):
        records = _records(upload, valid)
        try:
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    _copy_insert(records)
                else:
                    Beneficiary.objects.bulk_create(
                        [Beneficiary(**dict(zip(_COLUMNS, r, strict=True))) for r in records], ignore_conflicts=True
                    )
            return
        except IntegrityError:
            continue  # a random reference id clashed with an existing one: draw again
    raise ServiceError("Could not allocate reference ids; try again.")


def _copy_insert(records: list[tuple]) -> None:
    """COPY the chunk into a staging table, then one set-based insert that skips people
    who exist (the identity key's unique index decides, also against a concurrent upload)."""
    table = Beneficiary._meta.db_table
    cols = ", ".join(_COLUMNS)
    with connection.cursor() as cursor:
        # Only the copied columns, without constraints: the real table's constraints
        # apply when the rows move over.
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS upload_stage AS SELECT {cols} FROM {table} WITH NO DATA")
        cursor.execute("TRUNCATE upload_stage")
        with cursor.copy(f"COPY upload_stage ({cols}) FROM STDIN") as copy:
            for record in records:
                copy.write_row(record)
        cursor.execute(
            f"INSERT INTO {table} ({cols}, created_at) SELECT {cols}, now() FROM upload_stage "
            "ON CONFLICT (id_type, id_hash) DO NOTHING"
        )


def _owners(valid) -> dict[tuple[str, str], tuple[int | None, int | None]]:
    types = {p["id_type"] for _n, p in valid}
    hashes = [p["id_hash"] for _n, p in valid]
    found = Beneficiary.objects.filter(id_type__in=types, id_hash__in=hashes).values_list(
        "id_type", "id_hash", "created_by_upload_id", "upload_row"
    )
    return {(t, h): (u, r) for t, h, u, r in found}


# --- doses ---------------------------------------------------------------------------


def _doses_chunk(upload, header: Header, chunk, centres: dict, vaccines: dict, counts: Counts, seen: set) -> None:
    from sessions_app.services import vaccination_record

    parsed = []
    for row_no, row in chunk:
        try:
            parsed.append((row_no, parse_dose(row, header, set(centres), vaccines)))
        except RowError as exc:
            counts.fail(upload, row_no, exc.problems)
    people = _people_for(parsed)
    tz = timezone.get_current_timezone()
    with transaction.atomic():
        for row_no, d in parsed:
            person = people.get((d["id_type"], d["id_hash"]))
            if person is None:
                counts.fail(upload, row_no, [("id_number", "No person with this ID is registered; upload them first.")])
                continue
            key = (_seen_key(d["id_type"], d["id_hash"]), d["dose"])
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
                    counts.fail(upload, row_no, [("dose", str(exc.detail))])
                continue
            except ServiceError as exc:
                counts.fail(upload, row_no, [("dose", str(exc.detail))])
                continue
            counts.created += 1 if created or record.upload_id == upload.pk else 0
            counts.existing += 0 if created or record.upload_id == upload.pk else 1
        UploadError.objects.bulk_create(counts.errors)
        counts.errors = []


def _people_for(parsed) -> dict[tuple[str, str], Beneficiary]:
    types = {d["id_type"] for _n, d in parsed}
    hashes = [d["id_hash"] for _n, d in parsed]
    people = Beneficiary.objects.filter(id_type__in=types, id_hash__in=hashes)
    return {(p.id_type, p.id_hash): p for p in people}


def _same_facts(existing: dict, d: dict, tz) -> bool:
    """The dose on file is this row's dose (same vaccine, day and centre): counted as
    existing, not as a conflict."""
    if not existing:
        return False
    day = dt.datetime.fromisoformat(existing["administered_at"]).astimezone(tz).date()
    return existing["vaccine"] == d["vaccine"].code and day == d["day"] and existing["centre"] == d["centre_id"]


def heartbeat_stale_after() -> dt.timedelta:
    return dt.timedelta(seconds=settings.COVAX_UPLOAD_STALE_SECONDS)
