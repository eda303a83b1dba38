"""Offline at the centre in a real Chromium (SPEC §3, issue 7): doses marked with the
network cable pulled are kept on the device, survive a reload served by the service
worker, and reach the server exactly once — also when the sync is cut off halfway, and
with a clear refusal when the person was vaccinated elsewhere meanwhile."""

from __future__ import annotations

import pytest
from django.utils import timezone

from sessions_app.doses.services import vaccination_record
from sessions_app.models import AdverseEvent, Vaccination
from sessions_app.planning.services import allocation_create
from tests.browser.world import build_world, health_workers
from tests.factories import BeneficiaryFactory, SessionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world():
    w = build_world()
    w.session = SessionFactory(centre=w.centre_a, vaccine=w.covishield, capacity=40)
    w.people = health_workers(w, 24)
    allocation_create(session=w.session, reference_ids=[p.reference_id for p in w.people])
    return w


KEPT = """async () => {
    const cache = await caches.open("covax-pages-v1");
    return !!(await cache.match(location.origin + location.pathname, {ignoreVary: true}));
}"""


def open_list(open_page, world, **size):
    """Staff A signs in (today's page installs the service worker), opens the session
    list online, and waits until the worker controls the page and has kept it: from then
    on the page works without a network."""
    page = open_page(**size)
    page.login("staff_a")
    page.wait_for_function("() => !!navigator.serviceWorker.controller", polling=100)
    page.go(f"/sessions/{world.session.pk}/")
    page.wait_for_function("() => !!navigator.serviceWorker.controller", polling=100)
    page.wait_for_selector("#net-banner[data-state=online]")
    for _ in range(100):
        if page.evaluate(KEPT):
            break
        page.wait_for_timeout(100)
    else:
        raise AssertionError("the service worker did not keep the session page")
    return page


def waiting(page) -> int:
    return int(page.get_attribute("#net-banner", "data-waiting"))


def wait_waiting(page, n: int):
    """The banner counts what IndexedDB holds; it is redrawn once the record is stored."""
    page.wait_for_selector(f"#net-banner[data-waiting='{n}']")


def mark(page, person):
    page.click(f"#row-{person.reference_id} button.mark")
    page.wait_for_selector(f"#done-body #row-{person.reference_id}[data-status=queued]")


def wait_until_sent(page, timeout: float = 30000):
    page.wait_for_selector("#net-banner[data-waiting='0']", timeout=timeout)


# The failures these tests inject (no network, a connection cut) are logged by Chromium
# and by htmx; anything else in the console still fails the test.
INJECTED = (
    "net::ERR_INTERNET_DISCONNECTED",
    "net::ERR_CONNECTION_RESET",
    "net::ERR_FAILED",
    "htmx:sendError",
    "htmx:afterRequest",
)


def assert_clean(page):
    page.errors[:] = [e for e in page.errors if not any(i in e for i in INJECTED)]
    page.assert_clean()


def test_it_marks_20_doses_offline_survives_a_reload_and_records_each_exactly_once(open_page, world):
    page = open_list(open_page, world)
    page.fill("#lot_number", "4121Z001")
    page.dispatch_event("#lot_number", "change")
    page.context.set_offline(True)
    page.wait_for_selector("#net-banner[data-state=offline]")
    for person in world.people[:20]:
        page.fill("#q", person.name.split()[0].lower())
        mark(page, person)
    wait_waiting(page, 20)
    assert "Waiting to be sent: 20" in page.inner_text("#net-banner")
    assert page.inner_text("#count-due-n") == "4"
    assert page.inner_text("#count-done-n") == "20"
    assert page.locator("#outbox-list li[data-state=waiting]").count() == 20
    assert Vaccination.objects.count() == 0

    # Someone is added to the list on the server meanwhile: the device cannot know, so a
    # reload that shows the list without them was served by the service worker.
    late = BeneficiaryFactory(district=world.hisar, name="Late Arrival", category="HCW")
    allocation_create(session=world.session, reference_ids=[late.reference_id])
    page.reload()
    page.wait_for_selector("#net-banner[data-state=offline]")
    assert page.locator(f"#row-{late.reference_id}").count() == 0
    assert waiting(page) == 20
    assert page.locator("#done-body tr.person[data-status=queued]").count() == 20
    assert page.inner_text("#count-due-n") == "4"
    page.fill("#q", world.people[21].id_last4)  # the in-page search works offline too
    assert page.locator(f"#row-{world.people[21].reference_id}").is_visible()
    page.fill("#q", "")
    page.shot("offline-20-waiting", full_page=False)

    page.context.set_offline(False)  # the cable is back: sent without anyone pressing a button
    wait_until_sent(page)
    assert "Everything marked on this device has been sent" in page.inner_text("#net-banner")
    doses = Vaccination.objects.filter(session=world.session)
    assert doses.count() == 20
    assert {d.beneficiary_id for d in doses} == {p.pk for p in world.people[:20]}
    assert {d.source for d in doses} == {"offline"}
    assert {d.lot_number for d in doses} == {"4121Z001"}
    assert all(d.administered_at < d.received_at for d in doses)  # device time kept, server time apart
    assert len({d.client_id for d in doses}) == 20
    assert page.locator("#outbox-sent-list li[data-state=sent]").count() == 20

    page.reload()  # online again: the fresh list from the server, nothing left to send
    page.wait_for_selector("#net-banner[data-state=online]")
    assert page.locator("#done-body tr.person").count() == 20
    assert waiting(page) == 0
    assert Vaccination.objects.count() == 20
    assert_clean(page)


def test_it_resumes_a_sync_cut_off_halfway_and_still_records_each_dose_once(open_page, world):
    page = open_list(open_page, world)
    page.context.set_offline(True)
    for person in world.people[:10]:
        mark(page, person)
    wait_waiting(page, 10)

    # The network comes back but breaks again: four doses get through, the server records
    # the fifth but its answer is lost on the way back, the rest cannot be sent.
    calls = []

    def flaky(route):
        calls.append(route.request.url)
        if len(calls) <= 4:
            route.fulfill(response=route.fetch())
        elif len(calls) == 5:
            route.fetch()  # reaches the server, which records the dose…
            route.abort("internetdisconnected")  # …but the device never hears back
        else:
            route.abort("internetdisconnected")

    page.route("**/sync/", flaky)
    page.context.set_offline(False)
    page.wait_for_selector("#net-banner[data-state=unreachable]")
    assert waiting(page) == 6  # the fifth is still waiting: the device cannot know it arrived
    # In order: the first five went out, nothing overtook the record that got no answer.
    assert {d.beneficiary_id for d in Vaccination.objects.all()} == {p.pk for p in world.people[:5]}

    page.unroute("**/sync/", flaky)
    page.click("#send-now")
    wait_until_sent(page)
    doses = Vaccination.objects.filter(session=world.session)
    assert doses.count() == 10
    assert {d.beneficiary_id for d in doses} == {p.pk for p in world.people[:10]}

    # Sending everything again (a device restored from a backup, a bug) changes nothing:
    # every client_id is already known and answers with its first record.
    page.evaluate("""async () => {
        const db = await idb.openDB("covax-offline");
        const tx = db.transaction("queue", "readwrite");
        for (const item of await tx.store.getAll()) { item.state = "waiting"; await tx.store.put(item); }
        await tx.done;
    }""")
    page.reload()
    wait_until_sent(page)
    assert Vaccination.objects.count() == 10
    assert page.locator("#outbox-sent-list li[data-state=sent]").count() == 10
    assert_clean(page)


def test_it_refuses_a_dose_given_elsewhere_meanwhile_and_shows_it_until_seen(open_page, world):
    page = open_list(open_page, world)
    sunita, rajesh = world.people[0], world.people[1]
    page.context.set_offline(True)
    mark(page, sunita)
    mark(page, rajesh)
    # Rajesh feels faint a few minutes later: the adverse event is recorded offline too.
    page.click(f"#row-{rajesh.reference_id} button[data-aefi-client]")
    page.check("#aefi-dialog input[value=minor]")
    page.fill("#aefi-notes", "Dizzy for ten minutes")
    page.click("#aefi-dialog button[value=save]")
    page.wait_for_selector("#outbox-list li[data-state=waiting] >> text=Adverse event")
    assert waiting(page) == 3

    # Meanwhile Sunita was vaccinated at another centre, which was online.
    vaccination_record(beneficiary=sunita, dose=1, vaccine=world.covishield, centre=world.centre_a2, source="form")
    page.context.set_offline(False)
    wait_until_sent(page)
    refused = page.locator("#outbox-list li[data-state=refused]")
    assert refused.count() == 1
    today = timezone.localdate().strftime("%d-%m-%Y")
    reason = f"Dose 1 was already recorded on {today} at Sevak Sabha Hospital."
    assert sunita.name in refused.inner_text() and reason in refused.inner_text()
    assert reason in page.inner_text(f"#row-{sunita.reference_id} [role=alert]")
    assert "Refused: 1" in page.inner_text("#net-banner")
    page.evaluate("document.getElementById('net-banner').scrollIntoView()")
    page.shot("offline-refused", full_page=False)

    assert Vaccination.objects.filter(beneficiary=sunita).count() == 1
    assert Vaccination.objects.get(beneficiary=sunita).centre == world.centre_a2
    dose = Vaccination.objects.get(beneficiary=rajesh)
    assert (dose.source, dose.session_id) == ("offline", world.session.pk)
    event = AdverseEvent.objects.get()  # sent after its dose, attached to it by the dose's client_id
    assert (event.vaccination, event.severity, event.notes) == (dose, "minor", "Dizzy for ten minutes")

    page.reload()  # a refusal stays until a person has seen it
    page.wait_for_selector("#outbox-list li[data-state=refused]")
    page.click("#outbox-list li[data-state=refused] button[data-ack]")
    page.wait_for_selector("#outbox-list li[data-state=refused]", state="detached")
    page.reload()
    page.wait_for_selector("#net-banner[data-state=online]")
    assert page.locator("#outbox-list li[data-state=refused]").count() == 0
    assert "Refused" not in page.inner_text("#net-banner")
    assert_clean(page)


def test_it_verifies_by_id_offline_and_works_at_360_px(open_page, world):
    page = open_list(open_page, world, width=360, height=740)
    person = world.people[3]
    page.context.set_offline(True)
    page.click("text=Verify by ID")  # offline: the in-page check instead of the server's
    page.wait_for_selector("#offline-verify:not([hidden])")
    page.select_option("#ov-type", "aadhaar")
    page.fill("#ov-last4", person.id_last4)
    page.fill("#ov-name", person.name.split()[0])
    page.fill("#ov-year", str(person.birth_year + 1))
    page.click("#ov-form button[type=submit]")
    assert "No one on this list matches" in page.inner_text("#ov-result")
    page.fill("#ov-year", str(person.birth_year))
    page.click("#ov-form button[type=submit]")
    assert "matches the ID type, last 4, name and birth year" in page.inner_text("#ov-result")
    assert page.locator("#due-body tr.person:visible").count() == 1
    mark(page, person)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.evaluate("window.scrollTo(0, 0)")
    page.shot("offline-360", full_page=False)

    page.click("text=Walk-in")  # needs the network: says so instead of failing
    assert "Walk-ins need the network" in page.inner_text("#offline-notice")

    page.go(f"/sessions/{world.session.pk}/print/")  # the paper list, kept when the list was opened
    page.wait_for_selector("#paper-list")
    assert world.people[5].reference_id in page.inner_text("#paper-list")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.go("/staff/")  # today's page too, and from it the list, all without a network
    page.wait_for_selector("#net-banner[data-state=offline]")
    assert "Waiting to be sent: 1" in page.inner_text("#net-banner")
    page.click("text=Open the list")
    page.wait_for_selector(f"#done-body #row-{person.reference_id}[data-status=queued]")
    page.context.set_offline(False)
    wait_until_sent(page)
    assert Vaccination.objects.get().beneficiary_id == person.pk
    assert_clean(page)


def test_it_queues_a_dose_whose_answer_was_lost_and_sends_it_once(open_page, world):
    """The slow, flaky network (Kurukshetra): the browser says online, the request reaches
    the server and is recorded, but the answer never comes back."""
    page = open_list(open_page, world)
    person = world.people[6]

    def lost(route):
        route.fetch()
        route.abort("connectionreset")

    page.route("**/mark/**", lost)
    page.click(f"#row-{person.reference_id} button.mark")
    page.wait_for_selector(f"#done-body #row-{person.reference_id}[data-status=queued]")
    page.wait_for_selector("#net-banner[data-state=unreachable]")
    assert "Nothing was saved" not in page.inner_text("#messages")
    assert Vaccination.objects.count() == 1  # it did arrive
    page.unroute("**/mark/**", lost)

    page.click("#send-now")
    wait_until_sent(page)
    dose = Vaccination.objects.get()  # the queued copy carried the form's client_id: replayed
    assert (dose.beneficiary_id, dose.source) == (person.pk, "form")
    assert page.locator("#outbox-sent-list li[data-state=sent]").count() == 1
    assert_clean(page)
