"""Loaded with `-p tests.env` before Django reads its settings: test-only secrets, and a
Redis database of its own for each pytest-xdist worker.

DJANGO_DEBUG stays off, so the suite runs the production settings (minus HTTPS, since
the test client speaks plain HTTP).
"""

import os
from urllib.parse import urlsplit, urlunsplit

os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("COVAX_ID_HASH_KEY", "test-id-hash-key")
os.environ.setdefault("DJANGO_HTTPS", "0")


def redis_url_for_worker(url: str, worker: str) -> str:
    """pytest-django gives each xdist worker its own test database (test_<name>_gw0, …),
    where ids start again at 1; the public API's cached bodies, its rate-limit counters
    and the Celery queue must not be shared across them either. Worker gwN uses
    REDIS_URL's database number + N: `-n 2` with REDIS_URL=redis://…/8 uses 8 and 9."""
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{base + int(worker.removeprefix('gw'))}"))


if worker := os.environ.get("PYTEST_XDIST_WORKER"):
    # Set in the environment, so the Celery workers and servers a test starts use it too.
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):
        if os.environ.get(name, "").startswith(("redis://", "rediss://")):
            os.environ[name] = redis_url_for_worker(os.environ[name], worker)
