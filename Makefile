# covax — two commands do all set-up on a fresh machine with Python 3.11+:
#   make run    the portal on the embedded default (SQLite, no Redis) with demo data
#   make test   the whole test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: run test lint venv demo worker serve bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

# The embedded default: SQLite file, in-process cache, background work on a thread.
run: venv
	DJANGO_DEBUG=1 $(PY) manage.py migrate --noinput
	DJANGO_DEBUG=1 $(PY) manage.py demo_data
	DJANGO_DEBUG=1 $(PY) manage.py runserver 127.0.0.1:$(PORT)

# The whole suite. With DATABASE_URL / REDIS_URL set it runs on PostgreSQL and Redis
# (as CI's second leg does); without them the PostgreSQL- and Redis-only tests are
# skipped. With CI=true any skip fails (tests/conftest.py). PYTEST_ARGS goes to pytest,
# e.g. PYTEST_ARGS="-n 2" (pytest-xdist) or -m "not postgres and not redis".
test: venv
	$(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .

# Production-like processes against DATABASE_URL and REDIS_URL.
serve: venv
	$(PY) manage.py migrate --noinput
	$(VENV)/bin/gunicorn covax.wsgi --bind 127.0.0.1:$(PORT) --workers $${WEB_CONCURRENCY:-5}

worker: venv
	$(VENV)/bin/celery -A covax worker --loglevel=INFO --concurrency=2

bench: venv
	$(PY) -m bench

clean:
	rm -rf $(VENV) covax.sqlite3 media staticfiles
