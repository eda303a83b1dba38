"""Centre staff in a real Chromium: find a person, mark a dose, see them move to
vaccinated; a second attempt is refused clearly; the list works at 360 px."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from sessions_app.models import Vaccination
from sessions_app.planning.services import allocation_create
from tests.browser.world import build_world, health_workers
from tests.factories import SessionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world():
    w = build_world()
    w.session = SessionFactory(centre=w.centre_a, vaccine=w.covishield, capacity=24)
    w.people = health_workers(w, 12)
    allocation_create(session=w.session, reference_ids=[p.reference_id for p in w.people])
    return w


def test_it_lets_staff_find_a_person_mark_a_dose_and_see_them_move_to_vaccinated(open_page, world):
    page = open_page()
    page.login("staff_a")
    page.click("text=Open the list")
    page.wait_for_selector("#due-body tr.person")
    assert page.locator("#due-body tr.person").count() == 12

    page.fill("#lot_number", "4121Z001")
    page.fill("#q", "sunita")  # instant: no request, rows filter as she types
    visible = page.locator("#due-body tr.person:visible")
    assert visible.count() == 1
    sunita = world.people[0]
    assert visible.first.get_attribute("id") == f"row-{sunita.reference_id}"

    page.click(f"#row-{sunita.reference_id} button.mark")
    page.wait_for_selector(f"#done-body #row-{sunita.reference_id}")
    assert "Vaccinated" in page.inner_text(f"#done-body #row-{sunita.reference_id}")
    assert page.locator(f"#due-body #row-{sunita.reference_id}").count() == 0
    # The counts follow once htmx has settled the swap (a few ms after the row moved).
    # expect() polls from Playwright's side: a string predicate would need eval, which
    # the page's CSP (script-src 'self') refuses.
    expect(page.locator("#count-due-n")).to_have_text("11", timeout=5000)
    expect(page.locator("#count-done-n")).to_have_text("1")
    # The search box is ready for the next person in the queue.
    assert page.evaluate("document.activeElement.id") == "q"

    dose = Vaccination.objects.get(beneficiary=sunita)
    assert (dose.session_id, dose.lot_number, dose.source) == (world.session.pk, "4121Z001", "form")
    # Search by the last 4 of the ID and by mobile find the next person too.
    rajesh = world.people[1]
    page.fill("#q", rajesh.id_last4)
    assert page.locator(f"#row-{rajesh.reference_id}").is_visible()
    page.fill("#q", rajesh.phone[-10:])
    assert page.locator("#due-body tr.person:visible").count() == 1
    page.assert_clean()


def test_it_refuses_a_second_dose_clearly_when_two_devices_mark_the_same_person(open_page, world):
    first, second = open_page(), open_page()
    for page in (first, second):
        page.login("staff_a")
        page.go(f"/sessions/{world.session.pk}/")
    person = world.people[2]
    first.click(f"#row-{person.reference_id} button.mark")
    first.wait_for_selector(f"#done-body #row-{person.reference_id}")

    second.click(f"#row-{person.reference_id} button.mark")  # a stale list on another phone
    alert = second.wait_for_selector(f"#row-{person.reference_id} [role=alert]")
    assert "Dose 1 was already recorded on" in alert.inner_text()
    assert "Jindal Hospital" in alert.inner_text()
    assert second.locator(f"#row-{person.reference_id} button.mark").count() == 0
    assert Vaccination.objects.filter(beneficiary=person).count() == 1
    second.shot("staff-duplicate-refused")
    first.assert_clean()
    second.assert_clean()


def test_it_verifies_by_id_and_vaccinates(open_page, world):
    from tests.factories import BeneficiaryFactory, aadhaar_number

    number = aadhaar_number(5)
    person = BeneficiaryFactory(district=world.hisar, name="Geeta Malik", id_number=number)
    page = open_page(width=360, height=780)
    page.login("staff_a")
    page.go(f"/sessions/{world.session.pk}/verify/")
    page.fill("#id_id_number", number[:4] + " " + number[4:8] + " " + number[8:])
    page.click("button:has-text('Verify')")
    page.wait_for_selector("#verify-result")
    assert "Geeta Malik" in page.inner_text("#verify-result")
    assert number not in page.content()
    page.click("#verify-result button[type=submit]")
    page.wait_for_selector("text=Dose 1 recorded for Geeta Malik")
    assert Vaccination.objects.filter(beneficiary=person, session=world.session).exists()
    page.assert_clean()


def test_it_is_usable_on_a_360_px_phone(open_page, world):
    page = open_page(width=360, height=780)
    page.login("staff_a")
    page.go(f"/sessions/{world.session.pk}/")
    page.wait_for_selector("#due-body tr.person")
    # Nothing wider than the screen: no sideways scrolling at the vaccination desk.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    button = page.locator("#due-body button.mark").first.bounding_box()
    assert button["height"] >= 44 and button["width"] >= 200  # a thumb-sized target
    search = page.locator("#q").bounding_box()
    assert search["x"] >= 0 and search["x"] + search["width"] <= 360
    page.fill("#lot_number", "4121Z001")
    first = world.people[0]
    page.click(f"#row-{first.reference_id} button.mark")
    page.wait_for_selector(f"#done-body #row-{first.reference_id}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.evaluate("window.scrollTo(0, 0)")
    page.shot("staff-list-360px", full_page=False)
    page.assert_clean()
