"""The public API on a real Redis (a throw-away server of the test's own): bodies kept
at most five minutes, one stamp bump per transaction, the per-IP limit with its
window, and answers (never a 500) when Redis stops."""

from __future__ import annotations

import time
import uuid

import pytest
import redis
from django.core.cache import caches
from django.test import TestCase, override_settings
from django.utils import timezone

from covax import cache as soft_cache
from sessions_app.planning.services import allocation_create
from sessions_app.public import cache as public_cache
from tests import test_resilience as resilience
from tests.guard import people, session_at
from tests.public_contract import check
from tests.test_public_api import CAL_DISTRICT, STATES, V2, PublicWorld, cowin_date


@pytest.mark.redis
class PublicApiOnRedisTestCase(PublicWorld, TestCase):
    def setUp(self):
        self.redis = resilience.OwnRedis()
        self.addCleanup(self.redis.stop)
        soft_cache._Breaker.down_until = 0.0
        self.addCleanup(setattr, soft_cache._Breaker, "down_until", 0.0)
        conf = {
            "default": {
                "BACKEND": "covax.cache.ResilientRedisCache",
                "LOCATION": self.redis.url,
                "KEY_PREFIX": "covax",
                "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
            }
        }
        override = override_settings(CACHES=conf, REDIS_URL=self.redis.url, COVAX_PUBLIC_RATE_LIMIT="off")
        override.enable()
        self.addCleanup(override.disable)
        self.addCleanup(caches.close_all)
        self.raw = redis.Redis.from_url(self.redis.url)
        self.addCleanup(self.raw.close)
        self.params = {"district_id": self.hisar.pk, "date": cowin_date(timezone.localdate())}
        self.ip = f"2001:db8::{uuid.uuid4().hex[:4]}"

    def calendar(self, **headers):
        return self.client.get(V2 + CAL_DISTRICT, self.params, REMOTE_ADDR=self.ip, headers=headers)

    def test_it_serves_a_hit_from_redis_without_the_database(self):
        self.assertIsInstance(public_cache.store(), public_cache._RedisStore)
        session_at(self.centre_a, self.covishield, date=timezone.localdate())
        first = self.calendar()
        with self.assertNumQueries(0):
            again = self.calendar()
        self.assertEqual(again.content, first.content)
        check(again, CAL_DISTRICT)
        keys = [k.decode() for k in self.raw.keys("covax:1:pub:e:*")]
        self.assertEqual(len(keys), 1)
        # At most five minutes (SPEC §5), even if no change ever invalidates it.
        self.assertTrue(0 < self.raw.ttl(keys[0]) <= 300)

    def test_one_transaction_bumps_its_districts_stamp_once(self):
        session = session_at(self.centre_a, self.covishield, date=timezone.localdate(), capacity=10)
        stamp = f"covax:1:pub:v:d:{self.hisar.pk}"
        before = int(self.raw.get(stamp) or 0)
        with self.captureOnCommitCallbacks(execute=True):
            allocation_create(session=session, reference_ids=[p.reference_id for p in people(5, district=self.hisar)])
        self.assertEqual(int(self.raw.get(stamp)), before + 1)
        self.assertIsNone(self.raw.get(f"covax:1:pub:v:d:{self.kurukshetra.pk}"))
        self.assertEqual(self.calendar().json()["centers"][0]["sessions"][0]["available_capacity"], 5)

    def test_it_bumps_every_stamp_a_transaction_touched_before_answering(self):
        stamps = [f"covax:1:pub:v:d:{self.hisar.pk}", "covax:1:pub:v:places"]
        before = [int(self.raw.get(k) or 0) for k in stamps]
        with self.captureOnCommitCallbacks(execute=True):
            self.centre_a.save()  # a place changed: its district's stamp and every list's
        self.assertEqual([int(self.raw.get(k) or 0) for k in stamps], [b + 1 for b in before])

    def test_a_bump_after_redis_restarted_reaches_it(self):
        # The bump's pooled connection is to a Redis that has since restarted: it must be
        # replaced, not written to and lost (the cached calendar would hide the change).
        session = session_at(self.centre_a, self.covishield, date=timezone.localdate(), capacity=10)
        stamp = f"covax:1:pub:v:d:{self.hisar.pk}"
        allocate = lambda: allocation_create(  # noqa: E731
            session=session, reference_ids=[people(1, district=self.hisar)[0].reference_id]
        )
        with self.captureOnCommitCallbacks(execute=True):
            allocate()  # opens the bump's connection
        bumped = int(self.raw.get(stamp))
        self.redis.stop(keep_data=True)
        self.redis.start()
        with self.captureOnCommitCallbacks(execute=True):
            allocate()
        self.assertEqual(int(self.raw.get(stamp)), bumped + 1)
        self.assertFalse(soft_cache._Breaker.is_open())
        self.assertEqual(self.calendar().json()["centers"][0]["sessions"][0]["available_capacity"], 8)

    @override_settings(COVAX_PUBLIC_RATE_LIMIT="5/1m")
    def test_the_rate_limit_counts_per_address_in_redis(self):
        answers = [self.client.get(V2 + STATES, REMOTE_ADDR=self.ip).status_code for _ in range(7)]
        self.assertEqual(answers, [200] * 5 + [429] * 2)
        limited = self.client.get(V2 + STATES, REMOTE_ADDR=self.ip)
        self.assertTrue(1 <= int(limited["Retry-After"]) <= 60)
        check(limited, STATES)
        (counter,) = self.raw.keys(f"covax:1:pub:rl:{self.ip}:*")
        self.assertTrue(0 < self.raw.ttl(counter) <= 60)
        self.assertEqual(self.client.get(V2 + STATES, REMOTE_ADDR="2001:db8::1:2").status_code, 200)

    @override_settings(COVAX_PUBLIC_RATE_LIMIT="2/1m")
    def test_a_change_made_while_redis_was_down_is_not_hidden_when_it_is_back(self):
        session = session_at(self.centre_a, self.covishield, date=timezone.localdate(), capacity=10)
        seats = lambda: self.calendar().json()["centers"][0]["sessions"][0]["available_capacity"]  # noqa: E731
        self.assertEqual(seats(), 10)  # now cached in Redis
        self.redis.stop(keep_data=True)  # a restart of a Redis that keeps its data
        with self.captureOnCommitCallbacks(execute=True):  # the stamp bump is refused
            allocation_create(session=session, reference_ids=[people(1, district=self.hisar)[0].reference_id])
        self.assertTrue(soft_cache._Breaker.is_open())
        self.redis.start()  # back, with the body cached before the change
        caches.close_all()
        soft_cache._Breaker.down_until = 0.0  # the breaker's back-off is over
        self.assertEqual(seats(), 9)

    def test_it_still_answers_when_redis_is_down(self):
        session = session_at(self.centre_a, self.covishield, date=timezone.localdate(), capacity=10)
        self.assertEqual(self.calendar().status_code, 200)
        self.redis.stop()
        started = time.monotonic()
        for _ in range(5):  # over the limit of 2: the limit fails open rather than lock a district out
            response = self.calendar(**{"Accept-Language": "hi_IN"})
            self.assertEqual(response.status_code, 200)
            self.assertEqual(check(response, CAL_DISTRICT)["centers"][0]["name_l"], "जिंदल अस्पताल")
        self.assertLess(time.monotonic() - started, 3.0)  # one timeout, then the breaker
        # Writes go on too; their stamp bump waits until Redis is back (the test above).
        with self.captureOnCommitCallbacks(execute=True):
            allocation_create(session=session, reference_ids=[people(1, district=self.hisar)[0].reference_id])
        body = self.calendar().json()
        self.assertEqual(body["centers"][0]["sessions"][0]["available_capacity"], 9)
        self.assertEqual(self.client.get(V2 + "appointment/sessions/public/findByPin").status_code, 400)
