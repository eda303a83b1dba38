"""The public API's cache, its invalidation and the per-IP rate limit (SPEC §5, §6).

Why this shape: slot-finder bots poll calendarByDistrict by the thousand, so a hit must
cost about what a bare view costs. On Redis a request makes ONE round trip: a pipeline
that counts the caller's request, fetches the pre-serialised body and fetches the
version stamps it was built from. A body is fresh while its stamps equal the current
ones; a change to a session, its allocations or doses bumps the stamp of its district
(after commit, so no reader can stamp old rows with a new version). Bodies also expire
after five minutes, the most SPEC §5 allows. A bump that fails while Redis is down is
kept and made when Redis answers again, before this process serves from the cache.

Redis down: every call fails soft (the covax.cache breaker), the rate limit lets the
caller through and the body is built from the database — never a 500.
Without Redis (the embedded default) the same logic runs on Django's local cache.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import logging
import math
import re
import threading
import time
from dataclasses import dataclass, field

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.checks import Error, register
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils.module_loading import import_string
from redis.exceptions import RedisError

from covax.cache import _Breaker
from sessions_app.models import Allocation, Centre, District, Session, State, Vaccination

log = logging.getLogger(__name__)

ENTRY_SECONDS = 300  # SPEC §5: public data may be cached for at most 5 minutes
PLACES = "pub:v:places"  # every body depends on it: states, districts, centres
DEFAULT_RATE = "100/5m"  # CoWIN's published limit
GZIP_MIN_BYTES = 1024
REBUILD_SECONDS = 10  # the longest a stale body is served while one request rebuilds it


def district_key(district_id: int) -> str:
    return f"pub:v:d:{district_id}"


# --- Rate -------------------------------------------------------------------------------

_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smh])\s*$", re.IGNORECASE)
_UNIT = {"s": 1, "m": 60, "h": 3600}


@dataclass(frozen=True)
class Rate:
    limit: int
    seconds: int


@functools.lru_cache(maxsize=8)
def parse_rate(text: str) -> Rate | None:
    """'100/5m' → 100 requests per 300 s; 'off' → None. Raises ValueError otherwise."""
    if text.strip().lower() in ("off", "none", "false", "0"):
        return None
    match = _RATE_RE.match(text)
    if not match or int(match[1]) < 1 or match[2] == "0":
        raise ValueError(f"COVAX_PUBLIC_RATE_LIMIT={text!r}: write N/Xs, N/Xm or N/Xh (e.g. 100/5m), or off")
    return Rate(int(match[1]), int(match[2] or 1) * _UNIT[match[3].lower()])


def current_rate() -> Rate | None:
    try:
        return parse_rate(settings.COVAX_PUBLIC_RATE_LIMIT)
    except ValueError as exc:
        # The system check below stops a deploy with this; a running server keeps
        # CoWIN's limit rather than answering 500.
        log.error("%s; using %s", exc, DEFAULT_RATE)
        return parse_rate(DEFAULT_RATE)


@register()
def check_rate_setting(app_configs, **kwargs):
    try:
        parse_rate(settings.COVAX_PUBLIC_RATE_LIMIT)
    except ValueError as exc:
        return [Error(str(exc), id="covax.E001")]
    return []


# --- Entries ----------------------------------------------------------------------------


@dataclass
class Entry:
    """A pre-serialised body (and its gzip, for the many clients that accept it) with
    the version stamps it was built from."""

    stamps: dict[str, int]
    etag: str
    body: bytes
    gzipped: bytes = b""

    @classmethod
    def build(cls, stamps: dict[str, int], body: bytes) -> Entry:
        etag = f'"{hashlib.blake2b(body, digest_size=12).hexdigest()}"'
        # A district's calendar is ~140 kB of JSON and ~10 kB gzipped: bandwidth is what
        # a crowd of pollers costs most. Compressed once here, not per request.
        gzipped = gzip.compress(body, compresslevel=6, mtime=0) if len(body) >= GZIP_MIN_BYTES else b""
        return cls(stamps, etag, body, gzipped)

    def dumps(self) -> bytes:
        head = ";".join(f"{k}={v}" for k, v in sorted(self.stamps.items()))
        return f"{head}\n{self.etag}\n{len(self.body)}\n".encode() + self.body + self.gzipped

    @classmethod
    def loads(cls, raw: bytes | None) -> Entry | None:
        if not raw:
            return None
        try:
            head, etag, size, rest = raw.split(b"\n", 3)
            stamps = {k: int(v) for k, v in (part.split("=") for part in head.decode().split(";") if part)}
            size = int(size)
        except ValueError:
            return None
        return cls(stamps, etag.decode(), rest[:size], rest[size:])


@dataclass
class Lookup:
    retry_after: int = 0  # > 0: over the rate limit, answer 429
    entry: Entry | None = None  # a fresh body, or None
    stale: Entry | None = None  # a body whose stamps moved on: being rebuilt
    stamps: dict[str, int] | None = field(default=None)  # current stamps; None: no cache now


def _stamp(raw) -> int:
    try:
        return int(raw or 0)
    except (TypeError, ValueError):
        return 0


class _LostBumps:
    """Stamps this process could not bump while Redis was unreachable. They are bumped
    with the next bump, or before the next lookup, once Redis answers again: a body
    cached before a change made during the outage is then never served as fresh (without
    this it could be, until it expired)."""

    def __init__(self) -> None:
        self._keys: set[str] = set()
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self._keys)

    def keep(self, keys: set[str]) -> None:
        with self._lock:
            self._keys |= keys

    def take(self) -> set[str]:
        if not self._keys:
            return set()
        with self._lock:
            keys, self._keys = self._keys, set()
        return keys


_lost = _LostBumps()


class _Store:
    """Shared logic; subclasses say how to talk to the cache."""

    def lookup(self, key: str | None, deps: list[str], rate: Rate | None, ip: str) -> Lookup:
        if _Breaker.is_open():
            return Lookup()
        if _lost:  # Redis is back: first bump what this process could not, or serve stale bodies
            self.bump(set())
            if _Breaker.is_open():
                return Lookup()
        now = time.time()
        counter = None
        if rate is not None:
            window = int(now // rate.seconds)
            counter = (f"pub:rl:{ip}:{window}", rate.seconds)
        try:
            count, raw, current = self._fetch(counter, key, deps)
            found = Entry.loads(raw)
            if found is not None and (missing := [k for k in found.stamps if k not in current]):
                current.update(self._stamps(missing))
        except (RedisError, OSError) as exc:
            _Breaker.trip(exc)
            return Lookup()
        result = Lookup(stamps=current)
        if rate is not None and count > rate.limit:
            result.retry_after = max(1, math.ceil(rate.seconds - now % rate.seconds))
            return result
        if found is not None:
            fresh = all(current.get(k, 0) == v for k, v in found.stamps.items())
            setattr(result, "entry" if fresh else "stale", found)
        return result

    def claim(self, key: str) -> bool:
        """Whether this request rebuilds a stale body. Only one request at a time does;
        the others serve the previous body meanwhile, rather than a crowd of workers
        all rebuilding the same district after every dose (the claim lapses after
        REBUILD_SECONDS if its holder dies)."""
        if _Breaker.is_open():
            return True
        try:
            return bool(self._claim(f"pub:lock:{key}"))
        except (RedisError, OSError) as exc:
            _Breaker.trip(exc)
            return True

    def stamps(self, keys: list[str]) -> dict[str, int] | None:
        if _Breaker.is_open():
            return None
        try:
            return self._stamps(keys)
        except (RedisError, OSError) as exc:
            _Breaker.trip(exc)
            return None

    def save(self, key: str, entry: Entry) -> None:
        """Store the body and give up any claim on rebuilding it."""
        if _Breaker.is_open():
            return
        try:
            self._save(key, entry.dumps(), f"pub:lock:{key}")
        except (RedisError, OSError) as exc:
            _Breaker.trip(exc)

    def bump(self, keys: set[str]) -> None:
        keys = set(keys) | _lost.take()
        if not keys:
            return
        if _Breaker.is_open():
            _lost.keep(keys)
            return
        try:
            self._bump(sorted(keys))
        except (RedisError, OSError) as exc:
            _lost.keep(keys)
            _Breaker.trip(exc)


class _RedisStore(_Store):
    """Raw Redis commands under the cache's key prefix: one pipeline per request."""

    def __init__(self, backend: RedisCache, conf: dict):
        self.client = _redis_client(conf)
        self.prefix = backend.make_key("")

    def _fetch(self, counter, key, deps):
        pipe = self.client.pipeline(transaction=False)
        if counter:
            name = self.prefix + counter[0]
            pipe.set(name, 0, ex=counter[1], nx=True)
            pipe.incr(name)
        if key:
            pipe.get(self.prefix + key)
        if deps:
            pipe.mget([self.prefix + d for d in deps])
        replies = pipe.execute()
        count = replies[1] if counter else 0
        replies = replies[2:] if counter else replies
        raw = replies.pop(0) if key else None
        current = {d: _stamp(v) for d, v in zip(deps, replies[0] if deps else [], strict=True)}
        return count, raw, current

    def _stamps(self, keys):
        values = self.client.mget([self.prefix + k for k in keys])
        return {k: _stamp(v) for k, v in zip(keys, values, strict=True)}

    def _claim(self, lock):
        return self.client.set(self.prefix + lock, 1, ex=REBUILD_SECONDS, nx=True)

    def _save(self, key, raw, lock):
        pipe = self.client.pipeline(transaction=False)
        pipe.set(self.prefix + key, raw, ex=ENTRY_SECONDS)
        pipe.delete(self.prefix + lock)
        pipe.execute()

    def _bump(self, keys):
        # Plain INCRs, waiting for Redis's answer (one round trip for any number of
        # stamps): a stamp has moved before the change's request is answered, so a
        # calendar asked for after that answer is never an old one served as fresh.
        if len(keys) == 1:
            self.client.incr(self.prefix + keys[0])
            return
        pipe = self.client.pipeline(transaction=False)
        for k in keys:
            pipe.incr(self.prefix + k)
        pipe.execute()


_clients: dict[str, redis.Redis] = {}
_clients_lock = threading.Lock()
_CLIENTS_KEPT = 4  # one Redis in production; tests start throw-away ones


def _redis_client(conf: dict) -> redis.Redis:
    """A redis-py client of the cache's Redis, made as Django's RedisCache makes its own
    (the first server, where it writes; the cache's OPTIONS as connection options) but
    through redis-py's public API, and one per process: its pool is thread-safe, and it
    replaces a connection Redis closed (a restart) before using it."""
    key = repr((conf.get("LOCATION"), sorted(conf.get("OPTIONS", {}).items())))
    client = _clients.get(key)
    if client is None:
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                while len(_clients) >= _CLIENTS_KEPT:
                    _clients.pop(next(iter(_clients))).connection_pool.disconnect()
                client = _clients[key] = _new_client(conf)
    return client


def _new_client(conf: dict) -> redis.Redis:
    location = conf["LOCATION"]
    servers = re.split("[;,]", location) if isinstance(location, str) else list(location)
    options = {k: v for k, v in conf.get("OPTIONS", {}).items() if k != "serializer"}
    pool_class = options.pop("pool_class", None) or redis.ConnectionPool
    if isinstance(pool_class, str):
        pool_class = import_string(pool_class)
    if isinstance(options.get("parser_class"), str):
        options["parser_class"] = import_string(options["parser_class"])
    return redis.Redis(connection_pool=pool_class.from_url(servers[0], **options))


class _CacheStore(_Store):
    """Any Django cache (the local-memory default without Redis)."""

    def __init__(self, backend):
        self.backend = backend

    def _fetch(self, counter, key, deps):
        count = 0
        if counter:
            self.backend.add(counter[0], 0, timeout=counter[1])
            try:
                count = self.backend.incr(counter[0])
            except ValueError:  # expired between add and incr: a new window
                count = 1
        got = self.backend.get_many([k for k in [key, *deps] if k])
        return count, got.get(key) if key else None, {d: _stamp(got.get(d)) for d in deps}

    def _stamps(self, keys):
        got = self.backend.get_many(keys)
        return {k: _stamp(got.get(k)) for k in keys}

    def _claim(self, lock):
        return self.backend.add(lock, 1, timeout=REBUILD_SECONDS)

    def _save(self, key, raw, lock):
        self.backend.set(key, raw, timeout=ENTRY_SECONDS)
        self.backend.delete(lock)

    def _bump(self, keys):
        for k in keys:
            self.backend.add(k, 0, timeout=None)
            try:
                self.backend.incr(k)
            except ValueError:
                self.backend.set(k, 1, timeout=None)


def store() -> _Store:
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        return _RedisStore(backend, settings.CACHES["default"])
    return _CacheStore(backend)


# --- Invalidation -----------------------------------------------------------------------

_pending = threading.local()


class _Batch:
    """The stamps to bump when one transaction commits."""

    def __init__(self, savepoints: tuple) -> None:
        self.keys: set[str] = set()
        self.savepoints = savepoints  # the atomic block it belongs to

    def __call__(self) -> None:
        store().bump(self.keys)


def invalidate(*district_ids: int | None, places: bool = False) -> None:
    """Mark districts (and, for place changes, everything) stale once the current
    transaction commits; many changes in one transaction cost one Redis round trip."""
    keys = {district_key(d) for d in district_ids if d}
    if places:
        keys.add(PLACES)
    connection = transaction.get_connection()
    savepoints = tuple(connection.savepoint_ids)
    batch = getattr(_pending, "batch", None)
    if not (
        connection.in_atomic_block
        and batch is not None
        and batch.savepoints == savepoints
        and _queued(connection, batch)
    ):
        # Another atomic block (or the last batch was run or rolled back): a new batch.
        batch = _pending.batch = _Batch(savepoints)
        batch.keys.update(keys)
        transaction.on_commit(batch, robust=True)
        return
    batch.keys.update(keys)


def _queued(connection, batch: _Batch) -> bool:
    return any(entry[1] is batch for entry in connection.run_on_commit)


def _district_of_centre(centre_id: int | None) -> int | None:
    return Centre.objects.filter(pk=centre_id).values_list("district_id", flat=True).first()


def _district_of_session(session: Session) -> int | None:
    if Session.centre.is_cached(session):
        return session.centre.district_id
    return _district_of_centre(session.centre_id)


def _district_of_allocation(allocation: Allocation) -> int | None:
    if Allocation.session.is_cached(allocation):
        return _district_of_session(allocation.session)
    return Session.objects.filter(pk=allocation.session_id).values_list("centre__district_id", flat=True).first()


def _on_session(sender, instance: Session, **kwargs) -> None:
    invalidate(_district_of_session(instance))


def _on_allocation(sender, instance: Allocation, **kwargs) -> None:
    invalidate(_district_of_allocation(instance))


def invalidate_session(session_id: int) -> None:
    """Seats of a session moved (sessions_app.seats.session_seats_move)."""
    invalidate(Session.objects.filter(pk=session_id).values_list("centre__district_id", flat=True).first())


def _on_vaccination(sender, instance: Vaccination, **kwargs) -> None:
    if Vaccination.centre.is_cached(instance):
        invalidate(instance.centre.district_id)
    else:
        invalidate(_district_of_centre(instance.centre_id))


def _on_centre(sender, instance: Centre, **kwargs) -> None:
    invalidate(instance.district_id, places=True)


def _on_place(sender, instance, **kwargs) -> None:
    invalidate(places=True)


def connect() -> None:
    """Called from the app's ready(): Celery workers and uploads invalidate too."""
    for signal in (post_save, post_delete):
        signal.connect(_on_session, sender=Session, dispatch_uid="pub_session")
        signal.connect(_on_allocation, sender=Allocation, dispatch_uid="pub_allocation")
        signal.connect(_on_vaccination, sender=Vaccination, dispatch_uid="pub_vaccination")
        signal.connect(_on_centre, sender=Centre, dispatch_uid="pub_centre")
        signal.connect(_on_place, sender=District, dispatch_uid="pub_district")
        signal.connect(_on_place, sender=State, dispatch_uid="pub_state")
