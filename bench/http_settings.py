"""Settings for bench/http.py only: the product's settings plus a bench-only URLconf.

Everything else (middleware, database, cache, REST framework) is the product's, so the
bare view below pays exactly what the real endpoints pay before and after their view.
"""

from covax.settings import *  # noqa: F403
from covax.settings import env

ROOT_URLCONF = "bench.http_urls"

# A key prefix per bench run: cached pages of an earlier run (whose database had the same
# ids) are never served to this one, and nobody's Redis database is flushed.
CACHES["default"]["KEY_PREFIX"] = "covax-bench-" + env.str("COVAX_BENCH_RUN", default="0")  # noqa: F405
