"""Benchmark: HTTP throughput of dose marking and the public calendar against a bare view.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/covax REDIS_URL=redis://127.0.0.1:6379/6 \
        .venv/bin/python bench/http.py

SPEC §6 asks, measured side by side in one run on the 2-core box:
  - `POST /api/v1/vaccinations/` (token, all rules checked) ≥ 0.5 × a bare Django view
    that reads one row (the ceiling);
  - the public `calendarByDistrict` ≥ 0.8 × the bare view.
Each is reported against two bare views: the SPEC's reading (the bare view behind the
product's own middleware) and the strict floor (the same view in a second gunicorn whose
settings have no middleware at all, bench/http_strict_settings.py).

In one run this script creates and migrates a database of its own (`--database`, dropped
first), seeds a district (`--centres` centres with one session a day for `--days` days,
two vaccines, a paid centre or two), a centre staff user with an API token and enough
fresh people that every dose-marking request is a first dose for someone new. It starts
`gunicorn covax.wsgi` production-like (DJANGO_DEBUG=0, secrets set, DJANGO_HTTPS=0,
Redis cache, sync workers) on a loopback port with bench/http_settings.py, which only adds
`bench/bare/` in front of the product's URLs, so the bare view goes through the same
middleware. Then `wrk` (Debian package `wrk`; a second process) drives each endpoint for
the same duration with the same concurrency, in interleaved rounds (bare, dose, calendar,
bare, …) so that other load on the machine hits all three alike. It prints requests per
second, p50/p99 latency, non-2xx counts (any makes the run INVALID) and the ratios, and
checks in the database that every dose-marking request wrote exactly one record.
Exit status: 0 targets met, 1 a target missed, 2 the run is invalid.

Also `python -m bench http [options]`.
"""

from __future__ import annotations

import sys
from pathlib import Path

# `python bench/http.py` puts bench/ first on sys.path, where this very file would stand
# in for the standard library's `http` package (urllib and Django import it): the project
# root goes there instead.
ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from urllib.parse import urlsplit, urlunsplit  # noqa: E402

PUBLIC_CALENDAR = "/api/v2/appointment/sessions/public/calendarByDistrict"
DOSE_PATH = "/api/v1/vaccinations/"
BARE_PATH = "/bench/bare/"
LUA = Path(__file__).resolve().parent / "http_wrk.lua"
TARGETS = {"dose": 0.5, "calendar": 0.8}
# The bench's own people: reference ids 77 followed by a 12-digit serial (see http_wrk.lua).
REF_PREFIX = "77"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="covax_bench_http", help="scratch database (dropped and re-created)")
    parser.add_argument("--duration", type=int, default=5, help="seconds per endpoint per round")
    parser.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="interleaved rounds (bare, dose, calendar): more, shorter rounds spread drifting load evenly",
    )
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections (wrk -c)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=5, help="gunicorn workers (docker-compose: 2 x cores + 1)")
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"], help="gunicorn worker class")
    parser.add_argument("--worker-threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per endpoint")
    parser.add_argument("--centres", type=int, default=50)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--people", type=int, default=0, help="fresh people (default: enough for 600 doses/s)")
    parser.add_argument("--port", type=int, default=0, help="loopback port (default: a free one)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    return parser.parse_args()


def configure_environment(args: argparse.Namespace) -> dict[str, str]:
    """Point this process and gunicorn at the scratch database, production-like."""
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/covax")
    if not base.startswith(("postgres://", "postgresql://")):
        sys.exit("bench/http.py measures the production stack: set DATABASE_URL=postgres://…")
    if not os.environ.get("REDIS_URL"):
        sys.exit("bench/http.py measures the production stack: set REDIS_URL=redis://…")
    parts = urlsplit(base)
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path="/" + args.database))
    os.environ["BENCH_ADMIN_DATABASE_URL"] = urlunsplit(parts._replace(path="/postgres"))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.http_settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_HTTPS": "0",
            "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(40),
            "COVAX_ID_HASH_KEY": os.environ.get("COVAX_ID_HASH_KEY") or secrets.token_urlsafe(40),
            "COVAX_PUBLIC_RATE_LIMIT": "off",
            "COVAX_BENCH_RUN": secrets.token_hex(4),
            "DJANGO_LOG_LEVEL": "WARNING",
        }
    )
    return dict(os.environ)


def recreate_database(name: str) -> None:
    import psycopg

    with psycopg.connect(os.environ["BENCH_ADMIN_DATABASE_URL"], autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(os.environ["BENCH_ADMIN_DATABASE_URL"], autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- Seeding ---------------------------------------------------------------------------


@dataclass
class World:
    district_id: int
    centre_id: int  # the staff user's centre
    session_id: int  # today's Covishield dose-1 session there
    bare_id: int  # the row the bare view reads
    token: str
    people: int


def seed(args: argparse.Namespace) -> World:
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from beneficiaries.models import Beneficiary
    from covax.accounts.models import Role, User
    from sessions_app.models import Centre, District, Session, State, Vaccine

    state = State.objects.create(name="Haryana", name_hi="हरियाणा", code="HR")
    district = District.objects.create(state=state, name="Hisar", name_hi="हिसार")
    covishield = Vaccine.objects.create(code="COVISHIELD", name="Covishield", doses=2, min_interval_days=84)
    covaxin = Vaccine.objects.create(code="COVAXIN", name="Covaxin", doses=2, min_interval_days=28)
    centres = Centre.objects.bulk_create(
        Centre(
            district=district,
            name=f"PHC {i + 1}",
            name_hi=f"प्राथमिक स्वास्थ्य केंद्र {i + 1}",
            address=f"Main Road {i + 1}",
            address_hi=f"मुख्य सड़क {i + 1}",
            block=f"Block {i % 9 + 1}",
            block_hi=f"खंड {i % 9 + 1}",
            pincode=f"{125001 + i % 40}",
            lat=29.15,
            long=75.72,
            fee_type="Paid" if i % 10 == 9 else "Free",
            fees={"COVISHIELD": 780, "COVAXIN": 1410} if i % 10 == 9 else {},
        )
        for i in range(args.centres)
    )
    today = timezone.localdate()
    slots = ["09:00AM-11:00AM", "11:00AM-01:00PM", "01:00PM-03:00PM", "03:00PM-05:00PM"]
    Session.objects.bulk_create(
        Session(
            centre=centre,
            date=today + dt.timedelta(days=day),
            vaccine=covishield if (i + day) % 3 else covaxin,
            dose=1 if (i + day) % 4 else 2,
            capacity=100 + 10 * (i % 10),
            min_age=18 if i % 5 else 45,
            slots=slots,
        )
        for i, centre in enumerate(centres)
        for day in range(args.days)
    )
    staff_centre = centres[0]
    # The session the staff mark doses in: room for every bench person.
    session = Session.objects.create(
        centre=staff_centre, date=today, vaccine=covishield, dose=1, capacity=10**6, slots=slots
    )
    staff = User(username="bench_staff", role=Role.CENTRE_STAFF, centre=staff_centre)
    staff.set_password(secrets.token_urlsafe(16))
    staff.save()
    token = Token.objects.create(user=staff)

    people = args.people or people_needed(args)
    batch = []
    for serial in range(people):
        batch.append(
            Beneficiary(
                reference_id=f"{REF_PREFIX}{serial:012d}",
                name=f"Bench Person {serial}",
                gender="MF"[serial % 2],
                birth_year=1950 + serial % 50,
                phone=f"+9198{serial:08d}",
                id_type="other",
                id_hash=f"bench-{serial}",
                id_last4=f"{serial % 10000:04d}",
                category="18+",
                district=district,
            )
        )
        if len(batch) == 5000:
            Beneficiary.objects.bulk_create(batch)
            batch = []
    Beneficiary.objects.bulk_create(batch)
    return World(
        district_id=district.pk,
        centre_id=staff_centre.pk,
        session_id=session.pk,
        bare_id=centres[len(centres) // 2].pk,
        token=token.key,
        people=people,
    )


def people_needed(args: argparse.Namespace) -> int:
    # Each dose-marking run (the warm-up and every round) gets an equal block: enough for
    # 600 doses a second. A run that runs out says so and is invalid.
    return 600 * max(args.duration, args.warmup) * (args.rounds + 1) + 5_000


# --- Server and load -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(
    args: argparse.Namespace, port: int, env: dict[str, str], settings: str = "bench.http_settings"
) -> subprocess.Popen:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [
        str(gunicorn if gunicorn.exists() else "gunicorn"),
        "covax.wsgi",
        "--chdir",
        str(ROOT),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(args.workers),
        "--worker-class",
        args.worker_class,
        *(["--threads", str(args.worker_threads)] if args.worker_class == "gthread" else []),
        "--timeout",
        "60",
        "--log-level",
        "warning",
    ]
    print(f"server ({settings}): " + " ".join(command[1:]))
    env = {**env, "DJANGO_SETTINGS_MODULE": settings}
    return subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def get(url: str, timeout: float = 10) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_ready(server: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn exited with {server.returncode} before it served a request")
        try:
            status, _body = get(url, timeout=2)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    sys.exit(f"gunicorn did not answer {url} within 60 s")


@dataclass
class Endpoint:
    key: str
    label: str
    url: str
    lua_args: list[str]


@dataclass
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non2xx: int
    socket_errors: int
    created: int
    issued: int
    responses: int
    exhausted: int
    statuses: str
    created_ids: list[str]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def run_wrk(endpoint: Endpoint, args: argparse.Namespace, seconds: int) -> Result:
    command = [
        "wrk",
        f"--threads={args.threads}",
        f"--connections={args.connections}",
        f"--duration={seconds}s",
        "--timeout=10s",
        f"--script={LUA}",
        endpoint.url,
        "--",
        *endpoint.lua_args,
    ]
    ids_file = Path(tempfile.mkstemp(prefix="bench-http-", suffix=".ids")[1])
    try:
        out = subprocess.run(
            command, capture_output=True, text=True, check=False, env={**os.environ, "BENCH_IDS_FILE": str(ids_file)}
        )
        created_ids = ids_file.read_text().split()
    finally:
        ids_file.unlink()
    line = next((line for line in out.stdout.splitlines() if line.startswith("BENCH_JSON ")), None)
    if out.returncode != 0 or line is None:
        sys.exit(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    return Result(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        non2xx=data["non2xx"],
        socket_errors=data["connect_errors"] + data["read_errors"] + data["write_errors"] + data["timeouts"],
        created=data["created"],
        issued=data["issued"],
        responses=data["responses"],
        exhausted=data["exhausted"],
        statuses=data["statuses"].strip(),
        created_ids=created_ids,
    )


class PeoplePool:
    """Hands each dose-marking run its own block of never-used people."""

    def __init__(self, total: int, runs: int, threads: int):
        self.stride = total // runs // threads
        self.threads = threads
        self.next_first = 0

    def take(self) -> tuple[int, int]:
        first = self.next_first
        self.next_first += self.stride * self.threads
        return first, self.stride


def dose_body(world: World) -> str:
    return json.dumps(
        {
            "beneficiary": "{ref}",
            "dose": 1,
            "vaccine": "COVISHIELD",
            "centre": world.centre_id,
            "session": world.session_id,
            "lot_number": "4121Z025",
            "client_id": "{uuid}",
        }
    )


def require(condition: bool, message: str) -> None:
    if not condition:
        sys.exit(f"bench/http.py: {message}")


def check_endpoints(base: str, world: World, calendar_url: str) -> bool:
    """Each endpoint answers as expected before load; False when the calendar is missing."""
    status, body = get(f"{base}{BARE_PATH}?id={world.bare_id}")
    require(status == 200, f"the bare view answered {status}: {body[:300]!r}")
    request = urllib.request.Request(
        base + DOSE_PATH,
        data=json.dumps({"beneficiary": "bad", "dose": 1, "vaccine": "COVISHIELD", "centre": world.centre_id}).encode(),
        headers={"Authorization": f"Token {world.token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10):
            require(False, "a dose for an unknown person was accepted")
    except urllib.error.HTTPError as exc:  # 400: the token was accepted, the person not found
        require(exc.code == 400, f"a dose for an unknown person answered {exc.code}: {exc.read()[:300]!r}")
    status, body = get(calendar_url)
    if status == 404:
        print(f"calendarByDistrict: 404 at {PUBLIC_CALENDAR}: not in this tree yet, it cannot be measured.")
        return False
    require(status == 200, f"calendarByDistrict answered {status}: {body[:300]!r}")
    centres = json.loads(body).get("centers", [])
    sessions = sum(len(c.get("sessions", [])) for c in centres)
    print(f"calendarByDistrict answers {len(centres)} centres, {sessions} sessions, {len(body):,} bytes")
    require(bool(centres and sessions), "calendarByDistrict answered no sessions: the seed or the endpoint is wrong")
    return True


# --- Report ----------------------------------------------------------------------------


def fmt(result: Result) -> str:
    return (
        f"{result.rps:8.1f} req/s  p50 {result.p50_ms:7.1f} ms  p99 {result.p99_ms:7.1f} ms  "
        f"{result.requests:>7,} requests  non-2xx {result.non2xx}  socket errors {result.socket_errors}"
        + (f"  [statuses: {result.statuses}]" if result.statuses else "")
    )


def combined(results: list[Result]) -> Result:
    """All rounds of one endpoint as one measurement (latency: the worst round's)."""
    return Result(
        requests=sum(r.requests for r in results),
        seconds=sum(r.seconds for r in results),
        p50_ms=max(r.p50_ms for r in results),
        p99_ms=max(r.p99_ms for r in results),
        non2xx=sum(r.non2xx for r in results),
        socket_errors=sum(r.socket_errors for r in results),
        created=sum(r.created for r in results),
        issued=sum(r.issued for r in results),
        responses=sum(r.responses for r in results),
        exhausted=sum(r.exhausted for r in results),
        statuses=" ".join(r.statuses for r in results if r.statuses),
        created_ids=[i for r in results for i in r.created_ids],
    )


def verify_doses(dose_runs: list[Result]) -> tuple[bool, str]:
    """Every request answered 201 wrote exactly one first dose, and nothing else was
    written but by requests still in flight when wrk stopped (answered after it looked)."""
    from django.db.models import Count

    from sessions_app.models import Vaccination

    rows = dict(Vaccination.objects.values_list("client_id", "dose"))
    stored = {str(key) for key in rows}
    answered = [i for r in dose_runs for i in r.created_ids]
    unanswered = sum(r.issued - r.responses for r in dose_runs)
    missing = set(answered) - stored
    extra = stored - set(answered)
    twice = Vaccination.objects.values("beneficiary").annotate(n=Count("id")).filter(n__gt=1).count()
    ok = (
        len(answered) == sum(r.created for r in dose_runs)
        and len(set(answered)) == len(answered)
        and not missing
        and len(extra) <= unanswered
        and twice == 0
        and set(rows.values()) <= {1}
    )
    text = (
        f"{len(rows):,} vaccination rows; {len(answered):,} answers 201, each with its own record "
        f"(missing {len(missing)}); {len(extra)} more rows from the {unanswered} requests in flight "
        f"when wrk stopped; people with two records: {twice}"
    )
    return ok, text


def main() -> None:
    args = parse_args()
    if not shutil.which("wrk"):
        sys.exit("bench/http.py drives load with wrk: apt-get install wrk")
    env = configure_environment(args)
    recreate_database(args.database)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    t = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"database {args.database}: migrated in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    world = seed(args)
    print(
        f"seeded {args.centres} centres × {args.days} days of sessions, {world.people:,} fresh people "
        f"in {time.perf_counter() - t:.1f} s"
    )
    connections.close_all()

    port, strict_port = args.port or free_port(), free_port()
    base, strict_base = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{strict_port}"
    server = start_gunicorn(args, port, env)
    strict = start_gunicorn(args, strict_port, env, settings="bench.http_strict_settings")
    try:
        wait_ready(server, f"{base}{BARE_PATH}?id={world.bare_id}")
        wait_ready(strict, f"{strict_base}{BARE_PATH}?id={world.bare_id}")
        report(args, base, world, strict_base)
    finally:
        stop(server)
        stop(strict)
        connections.close_all()
        if not args.keep:
            drop_database(args.database)


def report(args: argparse.Namespace, base: str, world: World, strict_base: str) -> None:
    from django.utils import timezone

    today = timezone.localdate().strftime("%d-%m-%Y")
    calendar_url = f"{base}{PUBLIC_CALENDAR}?district_id={world.district_id}&date={today}"
    have_calendar = check_endpoints(base, world, calendar_url)
    pool = PeoplePool(world.people, runs=args.rounds + 1, threads=args.threads)
    endpoints = [
        Endpoint("bare", "bare view (1 row)", f"{base}{BARE_PATH}?id={world.bare_id}", []),
        Endpoint("strict", "bare, no middleware", f"{strict_base}{BARE_PATH}?id={world.bare_id}", []),
    ]
    endpoints.append(Endpoint("dose", "POST vaccinations", base + DOSE_PATH, []))
    if have_calendar:
        endpoints.append(Endpoint("calendar", "calendarByDistrict", calendar_url, []))

    def lua_args(endpoint: Endpoint) -> list[str]:
        if endpoint.key != "dose":
            return ["get", urlsplit(endpoint.url)._replace(scheme="", netloc="").geturl()]
        first, stride = pool.take()
        return ["post", DOSE_PATH, world.token, str(first), str(stride), dose_body(world)]

    print(
        f"load: wrk {args.threads} threads, {args.connections} connections, {args.duration} s per endpoint "
        f"× {args.rounds} interleaved rounds (+{args.warmup} s warm-up each); "
        f"gunicorn {args.workers} {args.worker_class} workers"
        + (f" × {args.worker_threads} threads" if args.worker_class == "gthread" else "")
    )
    results: dict[str, list[Result]] = {e.key: [] for e in endpoints}
    dose_runs: list[Result] = []
    for endpoint in endpoints:
        endpoint.lua_args = lua_args(endpoint)
        warm = run_wrk(endpoint, args, args.warmup)
        if endpoint.key == "dose":
            dose_runs.append(warm)
    for round_no in range(1, args.rounds + 1):
        print(f"round {round_no} (load average {os.getloadavg()[0]:.2f})")
        for endpoint in endpoints:
            if endpoint.key == "dose":
                endpoint.lua_args = lua_args(endpoint)
            result = run_wrk(endpoint, args, args.duration)
            results[endpoint.key].append(result)
            if endpoint.key == "dose":
                dose_runs.append(result)
            print(f"  {endpoint.label:<20} {fmt(result)}")

    totals = {key: combined(runs) for key, runs in results.items()}
    print("all rounds:")
    for endpoint in endpoints:
        print(f"  {endpoint.label:<20} {fmt(totals[endpoint.key])}")

    invalid = [
        f"{e.label}: {totals[e.key].non2xx} non-2xx answers, {totals[e.key].socket_errors} socket errors"
        for e in endpoints
        if totals[e.key].non2xx or totals[e.key].socket_errors
    ]
    if reused := sum(r.exhausted for r in dose_runs):
        invalid.append(f"dose marking ran out of fresh people ({reused} requests reused one): raise --people")
    doses_ok, doses_text = verify_doses(dose_runs)
    print(f"database check: {doses_text}: {'OK' if doses_ok else 'MISMATCH'}")
    if not doses_ok:
        invalid.append("the database does not hold exactly one vaccination per successful request")

    missed = False
    print("targets (SPEC §6), against the bare view behind the product's middleware:")
    for key, label in (("dose", "dose marking"), ("calendar", "calendarByDistrict")):
        if key not in totals:
            print(f"  {label:<20} NOT MEASURED (endpoint missing) — target ≥ {TARGETS[key]:.2f} × bare")
            missed = True
            continue
        ratio = totals[key].rps / totals["bare"].rps
        per_round = ", ".join(f"{r.rps / b.rps:.2f}" for r, b in zip(results[key], results["bare"], strict=True))
        verdict = "MET" if ratio >= TARGETS[key] else "NOT MET"
        missed = missed or ratio < TARGETS[key]
        print(f"  {label:<20} {ratio:.2f} × bare (rounds: {per_round}); target ≥ {TARGETS[key]:.2f}: {verdict}")
    print("strict floor, against the bare view with no middleware (reported, no target):")
    for key, label in (("bare", "bare view (1 row)"), ("dose", "dose marking"), ("calendar", "calendarByDistrict")):
        if key in totals:
            ratio = totals[key].rps / totals["strict"].rps
            per_round = ", ".join(f"{r.rps / b.rps:.2f}" for r, b in zip(results[key], results["strict"], strict=True))
            print(f"  {label:<20} {ratio:.2f} × strict (rounds: {per_round})")
    if invalid:
        print("\n" + "!" * 78)
        print("THIS RUN IS INVALID:")
        for line in invalid:
            print(f"  - {line}")
        print("!" * 78)
        sys.exit(2)
    if missed:
        sys.exit(1)


if __name__ == "__main__":
    main()
