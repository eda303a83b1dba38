"""A district officer uploads a list of a few thousand people in a real Chromium, watches
the progress bar fill without reloading the page, reads the five counts and the error
report, then rolls the upload back (issue 3 points 1, 8, 9; issue 5 point 5).

The upload runs as on the embedded default: on the web process's background thread
(covax.background), which the page polls every second.
"""

from __future__ import annotations

import csv
import io
import threading

import pytest
from django.db import connections

from beneficiaries.models import Beneficiary, Upload
from covax import background
from tests.browser.world import build_world
from tests.factories import BeneficiaryFactory
from tests.guard import give
from tests.upload_people import varied_rows
from tests.uploads import csv_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(settings):
    settings.COVAX_BACKGROUND = "thread"  # the embedded default, whatever the suite runs on
    return build_world()


@pytest.fixture
def gate():
    """Hold the background thread until the test opens the gate; never left closed."""
    event = threading.Event()
    background._pool().submit(event.wait, 300)
    yield event
    event.set()
    drain_background()


def drain_background() -> None:
    """Wait until the background thread has nothing left (an upload queues a duplicate
    scan when it ends, so twice)."""
    for _ in range(2):
        background._pool().submit(lambda: None).result(timeout=300)
    background._pool().submit(connections.close_all).result()  # the test database can be dropped


def a_list(world) -> bytes:
    """3,030 rows: 50 people already registered, 20 with a bad mobile number, 30 rows
    repeated further down the file."""
    rows = varied_rows(3000, seed=11)
    for row in rows[:50]:
        BeneficiaryFactory(district=world.hisar, id_number=row[5])
    for row in rows[100:120]:
        row[3] = "12345"
    return csv_bytes(rows + [list(row) for row in rows[200:230]])


def test_it_shows_an_upload_filling_the_bar_and_rolls_it_back(open_page, world, gate):
    content = a_list(world)
    page = open_page()
    polls = []
    page.on("request", lambda r: polls.append(r.url) if r.url.endswith("/progress/") else None)
    page.login("hisar_officer")
    page.click("nav >> text=Uploads")

    # A file the portal cannot read is refused before it is sent.
    page.set_input_files("#id_file", files=[{"name": "old.xls", "mimeType": "application/vnd.ms-excel",
                                              "buffer": b"\xd0\xcf\x11\xe0"}])  # fmt: skip
    page.click("#upload-form button[type=submit]")
    assert "Save the sheet as .xlsx" in page.inner_text("#file-check")
    assert Upload.objects.count() == 0

    # The background thread is held (gate), so the page is surely open while the upload waits.
    page.set_input_files("#id_file", files=[{"name": "hisar-hcw.csv", "mimeType": "text/csv", "buffer": content}])
    page.check("input[name=kind][value=beneficiaries]")
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#upload-status[data-status=queued]")
    assert "The file is uploaded" in page.inner_text("#messages")
    detail_url = page.url
    page.evaluate("window.sameDocument = true")  # gone if the page reloads
    page.wait_for_timeout(1500)
    assert polls, "the page does not poll while the upload waits"
    gate.set()

    page.wait_for_selector("#upload-status[data-status=succeeded]", timeout=120_000)
    assert page.url == detail_url and page.evaluate("window.sameDocument === true")  # filled in place, no reload
    assert page.get_attribute("#upload-progress", "aria-valuenow") == "100"
    assert page.inner_text("#upload-progress").strip() == "100%"
    counts = {n: page.inner_text(f"#count-{n}") for n in ("total", "created", "existing", "duplicate", "invalid")}
    assert counts == {"total": "3030", "created": "2930", "existing": "50", "duplicate": "30", "invalid": "20"}
    n_polls = len(polls)
    page.wait_for_timeout(2500)
    assert len(polls) == n_polls, "the page still polls a finished upload"
    page.shot("officer-upload-progress")

    with page.expect_download() as download:
        page.click("#errors-csv")
    report = list(csv.reader(io.StringIO(open(download.value.path(), encoding="utf-8-sig").read())))
    assert report[0] == ["row", "column", "reason"]
    assert [(r[0], r[1]) for r in report[1:]] == [(str(102 + i), "phone") for i in range(20)]  # header is row 1

    # Someone of the list was vaccinated meanwhile: rollback keeps them and says why.
    drain_background()
    upload = Upload.objects.get()
    vaccinated = Beneficiary.objects.filter(created_by_upload=upload).order_by("upload_row").first()
    give(vaccinated, dose=1, vaccine=world.covishield, centre=world.centre_a)
    page.click("#rollback")
    page.wait_for_selector("#confirm-rollback")
    assert "This upload created 2930 people." in page.inner_text("main")
    page.click("#confirm-rollback")
    page.wait_for_selector("#rollback-report")
    assert "Upload rolled back: 2929 people removed, 1 kept" in page.inner_text("#messages")
    report_text = page.inner_text("#rollback-report")
    assert "2929 people created by this upload were removed." in report_text
    assert "1 person kept: has a dose recorded." in report_text
    assert page.locator("#rollback").count() == 0
    assert Beneficiary.objects.count() == 50 + 1  # those registered before, and the vaccinated one
    page.shot("officer-upload-rolled-back")
    page.assert_clean()
