"""The server degrades instead of failing (SPEC §6, issue 7): a Redis of the test's own
is stopped mid-test and centres keep listing and marking; PostgreSQL connections are
killed and the next request succeeds; /healthz reports each dependency."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import psycopg
import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.test import TransactionTestCase, override_settings

from covax import cache as soft_cache
from sessions_app.planning.services import allocation_create
from tests.base import ApiTestCase, WorldMixin
from tests.guard import dose_body, people, session_at


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OwnRedis:
    """A throw-away redis-server on another port, so stopping it harms nobody else."""

    def __init__(self):
        self.port = _free_port()
        self.dir = tempfile.mkdtemp(prefix="covax-redis-")
        self.start()

    def start(self) -> None:
        """Start (or start again, from the data `stop(keep_data=True)` saved)."""
        self.proc = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                self.dir,
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self, keep_data: bool = False) -> None:
        """Stop; with `keep_data` it saves first, as a Redis with persistence would."""
        if keep_data:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as conn:
                conn.sendall(b"SAVE\r\n")
                assert conn.recv(64).startswith(b"+OK")
        self.proc.terminate()
        self.proc.wait(timeout=10)
        if not keep_data:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.mark.redis
class RedisDownTestCase(ApiTestCase):
    def setUp(self):
        self.redis = OwnRedis()
        self.addCleanup(self.redis.stop)
        soft_cache._Breaker.down_until = 0.0
        cache_conf = {
            "default": {
                "BACKEND": "covax.cache.ResilientRedisCache",
                "LOCATION": self.redis.url,
                "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
            }
        }
        override = override_settings(CACHES=cache_conf, REDIS_URL=self.redis.url)
        override.enable()
        self.addCleanup(override.disable)
        self.addCleanup(caches.close_all)
        self.session = session_at(self.centre_a, self.covishield)

    def test_it_uses_the_cache_while_redis_is_up(self):
        caches["default"].set("probe", "1")
        self.assertEqual(caches["default"].get("probe"), "1")

    def test_centres_list_and_mark_doses_with_redis_stopped(self):
        person = people(1, district=self.hisar)[0]
        allocation_create(session=self.session, reference_ids=[person.reference_id])
        self.redis.stop()
        api = self.client_for(self.staff_a)
        listed = api.get(f"/api/v1/sessions/{self.session.pk}/list/")
        self.assertEqual(listed.status_code, 200)
        self.assertEqual(listed.json()["results"][0]["reference_id"], person.reference_id)
        body = dose_body(person, self.session)
        self.assertEqual(api.post("/api/v1/vaccinations/", body, format="json").status_code, 201)
        # Sign-in is throttled through the cache: it must still answer.
        r = self.client.post("/api/v1/auth/token/", {"username": "staff_a", "password": "pw-staff_a"})
        self.assertEqual(r.status_code, 200)
        health = self.client.get("/healthz")
        self.assertEqual(health.status_code, 200)
        self.assertTrue(health.json()["checks"]["cache"].startswith("error"))

    def test_a_dead_redis_does_not_slow_every_request(self):
        self.redis.stop()
        started = time.monotonic()
        for _ in range(20):
            caches["default"].get("anything")
        # One connection attempt, then the breaker answers at once.
        self.assertLess(time.monotonic() - started, 2.0)


@pytest.mark.postgres
class PostgresRestartTestCase(WorldMixin, TransactionTestCase):
    """A real gunicorn worker with persistent connections (CONN_MAX_AGE) whose
    PostgreSQL backends are all terminated between two requests."""

    def setUp(self):
        self.setUpTestData()
        self.port = _free_port()
        db = connection.settings_dict
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "DJANGO_CONN_MAX_AGE": "600",
        }
        env.pop("REDIS_URL", None)
        self.server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "covax.wsgi", "-b", f"127.0.0.1:{self.port}", "-w", "1"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.addCleanup(self._stop)
        for _ in range(100):
            try:
                self.get("/healthz")
                return
            except OSError:
                time.sleep(0.1)
        self.fail("gunicorn did not answer")

    def _stop(self):
        self.server.terminate()
        self.server.wait(timeout=10)

    def get(self, path: str):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as r:
            return r.status, json.loads(r.read())

    def sign_in(self) -> int:
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/v1/auth/token/",
            data=json.dumps({"username": "staff_a", "password": "pw-staff_a"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status

    def kill_the_workers_connections(self):
        connection.ensure_connection()
        mine = connection.connection.info.backend_pid  # the test's own, needed for teardown
        db = connection.settings_dict
        with psycopg.connect(
            host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], dbname="postgres", autocommit=True
        ) as admin:
            killed = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid() AND pid <> %s",
                [db["NAME"], mine],
            ).fetchone()[0]
        self.assertGreaterEqual(killed, 1)  # the worker's persistent connection

    def post_dose(self, token: str, body: dict) -> int:
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/v1/vaccinations/",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status

    def test_a_dose_marked_after_connections_are_killed_is_recorded(self):
        # Django's health check (CONN_HEALTH_CHECKS) finds the dropped connection at the
        # request's first statement and opens a new one: never a 500.
        from rest_framework.authtoken.models import Token

        from sessions_app.models import Vaccination

        token = Token.objects.create(user=self.staff_a).key
        session = session_at(self.centre_a, self.covishield)
        first, second = people(2, district=self.hisar)
        self.assertEqual(self.post_dose(token, dose_body(first, session)), 201)
        self.kill_the_workers_connections()
        self.assertEqual(self.post_dose(token, dose_body(second, session)), 201)
        self.assertEqual(Vaccination.objects.filter(beneficiary__in=[first, second]).count(), 2)

    def test_the_next_request_succeeds_after_connections_are_killed(self):
        self.assertEqual(self.sign_in(), 200)
        self.kill_the_workers_connections()
        status, body = self.get("/healthz")
        self.assertEqual((status, body["checks"]["database"]), (200, "ok"))
        self.assertEqual(self.sign_in(), 200)
