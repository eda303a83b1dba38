"""Settings for bench/http.py's strict floor: the bench settings with no middleware at all.

A second gunicorn serves `bench/bare/` with these, so the run also reports each endpoint
against the least a Django view can cost (no sessions, security headers, locale, audit
context or CSRF) beside the SPEC's reading against the product's own stack.
"""

from bench.http_settings import *  # noqa: F403

MIDDLEWARE: list[str] = []
