"""The embedded default from scratch: fresh SQLite, migrate, demo data, a page served.

This is what `make run` does for a newcomer; it runs in subprocesses with no
DATABASE_URL and no REDIS_URL, whatever the suite itself runs on.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# How long one request may take. These tests are about what the embedded default does,
# not how fast (bench/ measures that): a sign-in's password hash shares the CPU with the
# background thread's upload or duplicate scan, and with whatever else the machine runs
# (CI runs the suite on two processes), so a few seconds are not a failure.
TIMEOUT = 30


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def quick_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """What `make run` has: SQLite, no Redis, no broker, debug on, no secrets set."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    env.update(DJANGO_DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path / 'quick.sqlite3'}", COVAX_MEDIA_ROOT=str(tmp_path))
    env.pop("DJANGO_SECRET_KEY", None)
    env.pop("COVAX_ID_HASH_KEY", None)
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def serve(env: dict[str, str]) -> tuple[subprocess.Popen, str, dict]:
    """`runserver` on a free port, once it answers: (process, base URL, /healthz)."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            return server, base, json.load(urllib.request.urlopen(f"{base}/healthz", timeout=2))
        except OSError:
            time.sleep(0.2)
    server.kill()
    pytest.fail("the quickstart server did not answer")


@pytest.mark.slow
def test_it_serves_the_portal_on_the_embedded_default(tmp_path):
    env = quick_env(tmp_path)
    manage(env, "migrate", "--noinput")
    out = manage(env, "demo_data", "--people", "200")
    for login in ("admin", "haryana_admin", "hisar_officer", "jindal_staff", "covax-demo-2021"):
        assert login in out
    manage(env, "demo_data", "--people", "200")  # running it twice changes nothing

    server, base, health = serve(env)
    try:
        assert health["checks"]["database"] == "ok"
        assert health["checks"]["broker"].startswith("not configured")
        page = urllib.request.urlopen(f"{base}/login/", timeout=TIMEOUT).read().decode()
        assert "<form" in page and "csrfmiddlewaretoken" in page
        req = urllib.request.Request(
            f"{base}/api/v1/auth/token/",
            data=json.dumps({"username": "hisar_officer", "password": "covax-demo-2021"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        token = json.load(urllib.request.urlopen(req, timeout=TIMEOUT))["token"]
        req = urllib.request.Request(f"{base}/api/v1/beneficiaries/", headers={"Authorization": f"Token {token}"})
        assert json.load(urllib.request.urlopen(req, timeout=TIMEOUT))["count"] == 200
        _upload_runs_in_the_background(base, token)
        _staff_mark_a_dose(base)
    finally:
        server.terminate()
        server.wait(timeout=10)


def _api(base: str, path: str, token: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    try:
        request = urllib.request.Request(base + path, data=data, headers=headers)
        with urllib.request.urlopen(request, timeout=TIMEOUT) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def _staff_mark_a_dose(base: str) -> None:
    """Dose marking on SQLite takes the ORM path of vaccination_record (PostgreSQL runs
    hand-written statements): a first dose is recorded once, a second try is refused."""
    req = urllib.request.Request(
        f"{base}/api/v1/auth/token/",
        data=json.dumps({"username": "jindal_staff", "password": "covax-demo-2021"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    token = json.load(urllib.request.urlopen(req, timeout=TIMEOUT))["token"]
    _, me = _api(base, "/api/v1/users/", token)
    centre = me["results"][0]["centre"]
    _, vaccines = _api(base, "/api/v1/vaccines/", token)
    _, people = _api(base, "/api/v1/beneficiaries/?page_size=50", token)
    for person in people["results"]:
        body = {"beneficiary": person["reference_id"], "dose": 1, "vaccine": vaccines["results"][0]["code"]}
        status, record = _api(base, "/api/v1/vaccinations/", token, {**body, "centre": centre})
        if status == 201:
            break
        assert status == 409, record  # this demo person has dose 1 already
    else:
        pytest.fail("no demo person was due for dose 1")
    assert record["beneficiary"] == person["reference_id"]
    status, again = _api(base, "/api/v1/vaccinations/", token, {**body, "centre": centre})
    assert (status, again["code"], again["existing"]["id"]) == (409, "already_vaccinated", record["id"])


def _multipart(fields: dict[str, str], name: str, content: bytes) -> tuple[bytes, str]:
    boundary = "covaxboundary7MA4YWxkTrZu0gW"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: text/csv\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _upload_runs_in_the_background(base: str, token: str) -> None:
    """Without Redis an upload still answers 202 at once and runs off the request."""
    from tests.uploads import csv_bytes, person_rows

    headers = {"Authorization": f"Token {token}"}
    districts = json.load(
        urllib.request.urlopen(urllib.request.Request(f"{base}/api/v1/districts/", headers=headers), timeout=TIMEOUT)
    )
    body, content_type = _multipart(
        {"kind": "beneficiaries", "district": str(districts["results"][0]["id"])},
        "list.csv",
        csv_bytes(person_rows(3000)),
    )
    req = urllib.request.Request(
        f"{base}/api/v1/uploads/", data=body, headers={**headers, "Content-Type": content_type}
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 202
        upload = json.load(r)
    assert upload["status"] in ("queued", "running")
    seen = set()
    for _ in range(600):
        req = urllib.request.Request(f"{base}/api/v1/uploads/{upload['id']}/", headers=headers)
        upload = json.load(urllib.request.urlopen(req, timeout=TIMEOUT))
        seen.add(upload["progress"])
        if upload["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.05)
    done = upload["rows_created"] + upload["rows_existing"]  # demo data may hold one of these numbers
    assert (upload["status"], upload["progress"], done, upload["rows_invalid"]) == ("succeeded", 100, 3000, 0), upload
    _the_officer_sees_it_on_the_upload_page(base, upload["id"])


def _the_officer_sees_it_on_the_upload_page(base: str, upload_id: int) -> None:
    """The page the officer watches shows the same upload, finished, on the embedded default."""
    import http.cookiejar
    import re
    import urllib.parse

    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    login = browser.open(f"{base}/login/", timeout=TIMEOUT).read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login).group(1)
    form = {"csrfmiddlewaretoken": csrf, "username": "hisar_officer", "password": "covax-demo-2021"}
    browser.open(f"{base}/login/", data=urllib.parse.urlencode(form).encode(), timeout=TIMEOUT)
    page = browser.open(f"{base}/uploads/{upload_id}/", timeout=TIMEOUT).read().decode()
    assert 'data-status="succeeded"' in page and 'hx-trigger="every 1s"' not in page
    assert 'id="count-total">3000<' in page and 'aria-valuenow="100"' in page


def test_it_refuses_to_start_without_secrets_when_debug_is_off():
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SECRET_KEY", "COVAX_ID_HASH_KEY", "DJANGO_DEBUG")}
    done = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert "DJANGO_SECRET_KEY" in done.stderr and "COVAX_ID_HASH_KEY" in done.stderr


@pytest.mark.slow
def test_it_resumes_an_upload_when_the_server_comes_back(tmp_path):
    """The embedded default runs an upload on a thread of the web process. Killed in the
    middle (a crash, a power cut at the district office), the server's first request
    after it starts again resumes the upload, which ends as if nothing had happened."""
    import signal

    from tests.uploads import csv_bytes, person_rows

    env = quick_env(tmp_path, COVAX_UPLOAD_STALE_SECONDS="2")  # the dead server's heartbeat goes stale quickly
    manage(env, "migrate", "--noinput")
    manage(env, "demo_data", "--people", "20")

    server, base, _health = serve(env)
    try:
        login = {"username": "hisar_officer", "password": "covax-demo-2021"}
        token = _api(base, "/api/v1/auth/token/", "", login)[1]["token"]
        _, districts = _api(base, "/api/v1/districts/", token)
        rows = 60_000
        form, content_type = _multipart(
            {"kind": "beneficiaries", "district": str(districts["results"][0]["id"])},
            "big.csv",
            csv_bytes(person_rows(rows, seed=7)),
        )
        request = urllib.request.Request(
            f"{base}/api/v1/uploads/",
            data=form,
            headers={"Authorization": f"Token {token}", "Content-Type": content_type},
        )
        upload = json.load(urllib.request.urlopen(request, timeout=60))
        for _ in range(2000):
            _, upload = _api(base, f"/api/v1/uploads/{upload['id']}/", token)
            if upload["status"] == "running" and upload["progress"] > 0:
                break
            time.sleep(0.02)
        assert upload["status"] == "running" and upload["progress"] < 100, upload
        server.send_signal(signal.SIGKILL)  # mid-upload, no chance to clean up
        server.wait(timeout=10)

        server, base, _health = serve(env)  # its first request (/healthz) resumes the upload
        for _ in range(1200):
            _, upload = _api(base, f"/api/v1/uploads/{upload['id']}/", token)
            if upload["status"] in ("succeeded", "failed"):
                break
            time.sleep(0.1)
        done = (upload["status"], upload["rows_created"] + upload["rows_existing"], upload["rows_invalid"])
        assert done == ("succeeded", rows, 0), upload
        _, people = _api(base, "/api/v1/beneficiaries/?page_size=1", token)
        assert people["count"] == 20 + rows  # everyone once: nobody lost, nobody twice
    finally:
        server.kill()
        server.wait(timeout=10)
