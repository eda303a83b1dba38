"""A Redis cache that fails soft.

The cache only ever saves work: when Redis is down or slow, a centre must still be able
to list and mark doses (SPEC §6). Every cache call that fails answers as a miss (or a
no-op) instead of raising, and after a failure Redis is left alone for a few seconds so
that each request does not pay a connection timeout again.
"""

from __future__ import annotations

import functools
import logging
import time

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# Seconds to skip Redis after a failure (per process).
BACKOFF_SECONDS = 5.0


class _Breaker:
    down_until = 0.0

    @classmethod
    def is_open(cls) -> bool:
        return time.monotonic() < cls.down_until

    @classmethod
    def trip(cls, exc: Exception) -> None:
        if not cls.is_open():
            log.warning("cache unavailable, serving without it for %ss: %s", BACKOFF_SECONDS, exc)
        cls.down_until = time.monotonic() + BACKOFF_SECONDS


def _soft(default_factory):
    def wrap(method):
        @functools.wraps(method)
        def call(self, *args, **kwargs):
            if _Breaker.is_open():
                return default_factory(*args, **kwargs)
            try:
                return method(self, *args, **kwargs)
            except (RedisError, OSError) as exc:
                _Breaker.trip(exc)
                return default_factory(*args, **kwargs)

        return call

    return wrap


def _get_default(key, default=None, *args, **kwargs):
    return default


class ResilientRedisCache(RedisCache):
    get = _soft(_get_default)(RedisCache.get)
    set = _soft(lambda *a, **k: None)(RedisCache.set)
    add = _soft(lambda *a, **k: False)(RedisCache.add)
    touch = _soft(lambda *a, **k: False)(RedisCache.touch)
    delete = _soft(lambda *a, **k: False)(RedisCache.delete)
    has_key = _soft(lambda *a, **k: False)(RedisCache.has_key)
    get_many = _soft(lambda *a, **k: {})(RedisCache.get_many)
    set_many = _soft(lambda *a, **k: [])(RedisCache.set_many)
    delete_many = _soft(lambda *a, **k: None)(RedisCache.delete_many)
    clear = _soft(lambda *a, **k: False)(RedisCache.clear)
    # A counter that cannot be read counts as zero: rate limits let the caller through
    # rather than lock out a whole district because Redis restarted.
    incr = _soft(lambda *a, **k: 0)(RedisCache.incr)
    decr = _soft(lambda *a, **k: 0)(RedisCache.decr)
