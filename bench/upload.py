"""Benchmark: a beneficiaries upload end to end against its raw floor (SPEC §6, issue 3).

    REDIS_URL=redis://127.0.0.1:6379/3 .venv/bin/python -m bench upload
    REDIS_URL=redis://127.0.0.1:6379/3 .venv/bin/python -m bench upload --rows 20000 --rows 200000

For each size (default 100,000 and 1,000,000 rows) it writes a seeded CSV of people
(synthetic Aadhaar numbers with a valid Verhoeff digit, mobiles, categories; 1 % of
rows invalid — a wrong check digit or a short mobile — and 1 % exact copies of an
earlier row, so the counts are known in advance), then measures in one run:

- the floor, as SPEC §6 words it: `psql \\copy` of the file into a staging table plus
  ONE `INSERT … SELECT … ON CONFLICT DO NOTHING` into the beneficiary table (the real
  one, emptied, in the bench's database): its columns, checks and indexes, among them
  the unique identity key, its foreign keys (checked at commit) and its audit trigger
  (pghistory, SPEC §6 "every change audited"), which apply to whoever loads the rows.
  The SELECT only casts and hashes (sha256, so the identity index holds keys as long
  as the real ones);
- the bare floor, for information: the same statement into `bench_floor`, a table made
  `LIKE beneficiaries_beneficiary INCLUDING ALL` (the same columns, checks and indexes;
  no foreign keys and no audit trigger, which PostgreSQL does not copy), the reading
  of issue 3's "a table shaped like the beneficiary table" that leaves out the rules.
  Its ratio is printed beside the floor's, not judged;
- both floors are measured before and after the upload, and the ratios use the mean of
  the two: the machine is shared, and its load drifts;
- the project: `upload_create` (the service the API calls: hash, store, queue) until
  the upload is `succeeded`, processed by a real `celery -A covax worker` (prefork,
  one pool process and its row-validating helpers) on PostgreSQL and Redis, while the
  worker's peak RSS (the largest VmHWM of its processes) is read from /proc.

It prints both times, their ratio, rows per second, the peak RSS and the load average
at each size, and whether each target of SPEC §6 is met: ratio ≤ 1.5, peak RSS
< 300 MB, time linear in rows (and that the counts are the ones known in advance). It
runs in a database of its own (`covax_bench_upload` on the server of DATABASE_URL,
created and migrated here; never the dev database) and on Celery queues of its own on
REDIS_URL. Run it twice to see the noise.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.worker import CeleryWorker

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "covax_bench_upload"
QUEUE = "covax-bench-upload"
# Tasks the worker queues itself (the duplicate scan after an upload) wait here, unrun:
# the bench measures the upload, not the scan.
SINK = "covax-bench-upload-sink"
HEADER = ["name", "gender", "birth_year", "phone", "id_type", "id_number", "category", "employer"]
TARGET_RATIO = 1.5
TARGET_RSS_MB = 300
# Time is "linear" when a row costs at most this much more at the largest size than at
# the smallest (fixed costs make small runs dearer per row, never cheaper).
LINEAR_SLACK = 1.25

FIRST = (
    "Sunita Anita Ramesh Suresh Priya Kavita Rajesh Mahesh Pooja Neha Amit Sanjay Rekha Geeta Vijay Manoj "
    "Sunil Lakshmi Deepak Asha Savita Kamla Naresh Dinesh Usha Meena Rakesh Poonam Sarita Ravi"
).split()
LAST = "Sharma Verma Yadav Singh Kumar Devi Gupta Jain Chaudhary Malik Saini Goyal Bansal Mittal Garg Rani".split()
EMPLOYERS = ["Civil Hospital", "PHC Barwala", "CHC Adampur", "Police Lines", "Municipal Corporation", ""]
CATEGORIES = ["HCW", "FLW", "60+", "45+", "18+"]


# --- the file ------------------------------------------------------------------------


@dataclass
class Expected:
    """What a correct upload of the generated file counts (rows numbered as a
    spreadsheet shows them: the header is row 1)."""

    total: int = 0
    invalid_rows: list[int] = field(default_factory=list)
    duplicate_rows: list[int] = field(default_factory=list)

    @property
    def invalid(self) -> int:
        return len(self.invalid_rows)

    @property
    def duplicate(self) -> int:
        return len(self.duplicate_rows)

    @property
    def created(self) -> int:
        return self.total - self.invalid - self.duplicate


def _aadhaar(i: int, seed: int) -> str:
    from beneficiaries.identity import verhoeff_check_digit

    # An odd multiplier prime to 8·10^10 spreads i over 11-digit bodies, distinct for
    # distinct i; the first digit is 2–9 as Aadhaar requires.
    body = str(20_000_000_000 + (i * 2_654_435_761 + seed) % 80_000_000_000)
    return body + verhoeff_check_digit(body)


def write_people(
    path: Path, rows: int, *, seed: int = 2021, invalid: float = 0.01, duplicate: float = 0.01
) -> Expected:
    """A CSV of `rows` people and what an upload of it must count. Invalid rows have a
    wrong Aadhaar check digit or a 5-digit mobile; duplicates repeat a recent valid row."""
    rng = random.Random(seed)
    expected = Expected(total=rows)
    recent: deque[list[str]] = deque(maxlen=20_000)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(HEADER)
        for i in range(rows):
            row_no = i + 2
            dice = rng.random()
            if dice < duplicate and recent:
                writer.writerow(rng.choice(recent))
                expected.duplicate_rows.append(row_no)
                continue
            number = _aadhaar(i, seed)
            phone = "9" + f"{rng.randrange(10**9):09d}"
            bad = dice > 1 - invalid
            if bad and rng.random() < 0.5:
                number = number[:-1] + str((int(number[-1]) + 1) % 10)  # Verhoeff catches any one wrong digit
            elif bad:
                phone = phone[:5]
            row = [
                f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                rng.choice("MFFO" if i % 97 == 0 else "MF"),
                str(rng.randint(1941, 2003)),
                phone,
                "aadhaar",
                number,
                rng.choice(CATEGORIES),
                rng.choice(EMPLOYERS),
            ]
            writer.writerow(row)
            if bad:
                expected.invalid_rows.append(row_no)
            else:
                recent.append(row)
    return expected


# --- the bench database and the worker -------------------------------------------------


def _bench_url() -> str:
    """DATABASE_URL's server, with the bench's own database."""
    base = urlsplit(os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres")
    if not base.scheme.startswith("postgres"):
        sys.exit("bench upload measures PostgreSQL: set DATABASE_URL=postgres://… (its server is used)")
    return urlunsplit((base.scheme, base.netloc, "/" + BENCH_DB, "", ""))


def _create_database(url: str) -> None:
    import psycopg

    server = urlunsplit(urlsplit(url)._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(server, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone():
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


# --- the measurements ------------------------------------------------------------------

_STAGE = (
    "CREATE TEMP TABLE floor_stage (name text, gender text, birth_year text, phone text, id_type text, "
    "id_number text, category text, employer text, n bigserial);\n"
    "\\copy floor_stage (name, gender, birth_year, phone, id_type, id_number, category, employer) "
    "FROM '{path}' WITH (FORMAT csv, HEADER true)\n"
)
_INSERT = (
    "INSERT INTO {table} (reference_id, name, gender, birth_year, phone, id_type, id_hash, id_last4, category, "
    "employer, district_id, created_by_upload_id, upload_row, created_at)\n"
    "SELECT (10000000000000 + n)::text, name, gender, birth_year::smallint, '+91' || phone, id_type, "
    "encode(sha256(convert_to(id_type || ':' || id_number, 'UTF8')), 'hex'), right(id_number, 4), category, "
    "coalesce(employer, ''), {district}, {upload}, n + 1, now() FROM floor_stage ON CONFLICT DO NOTHING;\n"
)


def _psql(url: str, script: str) -> float:
    t = time.perf_counter()
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url], input=script.encode(), check=True)
    return time.perf_counter() - t


def floor(path: Path, url: str, district: int, upload: int, table: str) -> float:
    """COPY the file into a staging table, then one INSERT … ON CONFLICT DO NOTHING into
    `table`; the seconds both take, psql's start included."""
    return _psql(url, _STAGE.format(path=path) + _INSERT.format(table=table, district=district, upload=upload))


def _floor_upload(district):
    """The upload the floor's rows name as theirs, as the project's rows do: the real
    table checks that it exists."""
    from beneficiaries.models import Upload

    return Upload.objects.create(
        kind="beneficiaries", district=district, original_name="floor", sha256=f"floor-{time.time_ns()}"
    )


def _reset(floor_table: str) -> None:
    from django.db import connection

    from beneficiaries.models import Beneficiary, DuplicateCandidate, Upload, UploadError

    tables = [m._meta.db_table for m in (Beneficiary, Upload, UploadError, DuplicateCandidate)]
    tables += [f"{t}event" for t in tables if t != UploadError._meta.db_table]  # pghistory's audit events
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join([*tables, floor_table])} CASCADE")
        cursor.execute("CHECKPOINT")  # no checkpoint left over from the last phase


@dataclass
class Result:
    rows: int
    floors: tuple[float, float]  # SPEC §6's floor, before and after the upload
    bare_floors: tuple[float, float]  # the same into a table without the rules, before and after
    upload: float
    peak_kb: int
    counts_ok: bool
    load: tuple[float, float]  # the machine's 1-minute load average before and after

    @property
    def floor(self) -> float:
        return sum(self.floors) / 2

    @property
    def bare_floor(self) -> float:
        return sum(self.bare_floors) / 2

    @property
    def ratio(self) -> float:
        return self.upload / self.floor


def project(path: Path, district, worker: CeleryWorker, expected: Expected, timeout: float) -> tuple[float, int, bool]:
    from django.core.files import File

    from beneficiaries.models import Upload
    from beneficiaries.uploads.services import upload_create

    t = time.perf_counter()
    with open(path, "rb") as fh:
        intake = upload_create(district=district, kind="beneficiaries", file=File(fh, name=path.name))
    peak, deadline = 0, time.monotonic() + timeout
    while True:
        upload = Upload.objects.get(pk=intake.upload.pk)
        if upload.status in ("succeeded", "failed"):
            break
        peak = max(peak, worker.peak_rss_kb())
        if time.monotonic() > deadline:
            sys.exit(f"upload {upload.pk} not finished after {timeout:.0f} s ({upload.progress} %)")
        time.sleep(0.1)
    seconds = time.perf_counter() - t
    peak = max(peak, worker.peak_rss_kb())
    if upload.status != "succeeded":
        sys.exit(f"the upload failed: {upload.failure_reason}")
    waited = (upload.started_at - upload.created_at).total_seconds()
    worked = (upload.finished_at - upload.started_at).total_seconds()
    print(f"  (stored and queued {waited:.2f} s, processed by the worker {worked:.2f} s)", flush=True)
    got = (upload.rows_total, upload.rows_created, upload.rows_existing, upload.rows_duplicate_in_file)
    want = (expected.total, expected.created, 0, expected.duplicate)
    ok = got == want and upload.rows_invalid == expected.invalid
    if not ok:
        print(f"  COUNTS WRONG: got {got + (upload.rows_invalid,)}, expected {want + (expected.invalid,)}")
    return seconds, peak, ok


def measure(rows: int, args, url: str, district, work: Path) -> Result:
    path = work / f"people-{rows}-{args.seed}.csv"
    t = time.perf_counter()
    expected = write_people(path, rows, seed=args.seed)
    print(
        f"{rows:,} rows: file {path.stat().st_size / 2**20:.0f} MB written in {time.perf_counter() - t:.1f} s "
        f"({expected.invalid:,} invalid, {expected.duplicate:,} duplicates)",
        flush=True,
    )
    load_before = os.getloadavg()[0]
    before = _floors(path, url, district)
    env = {**os.environ, "COVAX_CELERY_QUEUE": SINK}
    worker = CeleryWorker("bench-upload", env, work / f"worker-{rows}.log", queue=QUEUE)
    try:
        worker.wait_ready()
    except RuntimeError as exc:
        sys.exit(str(exc))
    try:
        upload_s, peak_kb, ok = project(path, district, worker, expected, args.timeout)
    finally:
        worker.kill()
    print(f"  upload through the worker: {upload_s:.2f} s, peak RSS {peak_kb / 1024:.0f} MB", flush=True)
    after = _floors(path, url, district)
    if not args.keep_files:
        path.unlink()
    floors, bare = (before[0], after[0]), (before[1], after[1])
    return Result(rows, floors, bare, upload_s, peak_kb, ok, (load_before, os.getloadavg()[0]))


def _floors(path: Path, url: str, district) -> tuple[float, float]:
    """The floor and the bare floor, each on empty tables; then empty again for what follows."""
    _reset("bench_floor")
    spec = floor(path, url, district.pk, _floor_upload(district).pk, "beneficiaries_beneficiary")
    print(f"  floor (COPY + INSERT … ON CONFLICT into the beneficiary table): {spec:.2f} s", flush=True)
    _reset("bench_floor")
    bare = floor(path, url, district.pk, _floor_upload(district).pk, "bench_floor")
    print(f"  bare floor (the same into bench_floor, no foreign keys or audit trigger): {bare:.2f} s", flush=True)
    _reset("bench_floor")
    return spec, bare


def report(results: list[Result]) -> bool:
    print()
    print("floor: SPEC §6's, into the beneficiary table; bare floor: the same into a table without its foreign keys")
    print("and audit trigger (see --help). Each the mean of a measure before and one after the upload.")
    print(f"{'rows':>10}  {'floor s':>8}  {'upload s':>8}  {'ratio':>6}  {'rows/s':>8}  {'floor rows/s':>12}  "
          f"{'peak RSS':>8}  {'bare floor s':>12}  {'ratio to it':>11}  {'load avg':>10}")  # fmt: skip
    for r in results:
        print(
            f"{r.rows:>10,}  {r.floor:>8.2f}  {r.upload:>8.2f}  {r.ratio:>6.2f}  {r.rows / r.upload:>8,.0f}"
            f"  {r.rows / r.floor:>12,.0f}  {r.peak_kb / 1024:>5.0f} MB  {r.bare_floor:>12.2f}"
            f"  {r.upload / r.bare_floor:>11.2f}  {r.load[0]:>4.1f}–{r.load[1]:<4.1f}"
        )
    worst_ratio = max(r.ratio for r in results)
    worst_rss = max(r.peak_kb for r in results) / 1024
    small, large = min(results, key=lambda r: r.rows), max(results, key=lambda r: r.rows)
    per_row = (large.upload / large.rows) / (small.upload / small.rows)
    checks = [
        (f"ratio ≤ {TARGET_RATIO} at every size", worst_ratio <= TARGET_RATIO, f"worst {worst_ratio:.2f}"),
        (f"peak RSS < {TARGET_RSS_MB} MB", worst_rss < TARGET_RSS_MB, f"worst {worst_rss:.0f} MB"),
        (
            "time linear in rows",
            len(results) > 1 and per_row <= LINEAR_SLACK,
            f"a row costs {per_row:.2f}× at {large.rows:,} what it costs at {small.rows:,}"
            if len(results) > 1
            else "needs two sizes",
        ),
        ("counts as expected", all(r.counts_ok for r in results), "created, duplicate, invalid"),
    ]
    print()
    for name, ok, detail in checks:
        print(f"  {'MET    ' if ok else 'NOT MET'}  {name} ({detail})")
    return all(ok for _n, ok, _d in checks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, action="append", help="rows per file (repeat; default 100000 1000000)")
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds an upload may take")
    parser.add_argument("--keep-files", action="store_true")
    args = parser.parse_args()
    sizes = sorted(args.rows or [100_000, 1_000_000])
    if not os.environ.get("REDIS_URL"):
        sys.exit("bench upload runs a real Celery worker: set REDIS_URL=redis://…")

    url = _bench_url()
    _create_database(url)
    work = Path(tempfile.mkdtemp(prefix="covax-bench-upload-"))
    os.environ.update(
        DATABASE_URL=url,
        COVAX_MEDIA_ROOT=str(work / "media"),
        COVAX_BACKGROUND="celery",
        COVAX_CELERY_QUEUE=QUEUE,
        DJANGO_SETTINGS_MODULE="covax.settings",
    )
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret")
    os.environ.setdefault("COVAX_ID_HASH_KEY", "bench-only-id-hash-key")
    os.environ.setdefault("DJANGO_HTTPS", "0")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from sessions_app.models import District, State

    call_command("migrate", interactive=False, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_floor")
        cursor.execute("CREATE TABLE bench_floor (LIKE beneficiaries_beneficiary INCLUDING ALL)")
    state, _ = State.objects.get_or_create(code="BU", defaults={"name": "Bench", "name_hi": "बेंच"})
    district, _ = District.objects.get_or_create(state=state, name="Bench uploads", defaults={"name_hi": "बेंच"})
    print(f"database {BENCH_DB}, Celery queue {QUEUE}, files in {work}", flush=True)
    try:
        results = [measure(rows, args, url, district, work) for rows in sizes]
    finally:
        import redis

        redis.Redis.from_url(os.environ["REDIS_URL"]).delete(QUEUE, SINK)
    ok = report(results)
    if args.keep_files:
        print(f"\nfiles and worker logs kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
