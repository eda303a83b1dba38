"""Loaded with `-p tests.env` before Django reads its settings: test-only secrets.

DJANGO_DEBUG stays off, so the suite runs the production settings (minus HTTPS, since
the test client speaks plain HTTP).
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("COVAX_ID_HASH_KEY", "test-id-hash-key")
os.environ.setdefault("DJANGO_HTTPS", "0")
