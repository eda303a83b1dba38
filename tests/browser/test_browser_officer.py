"""A district officer in a real Chromium: the dashboard, planning sessions for several
centres at once, allocating and reading the skip reasons."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from sessions_app.models import Allocation, Session
from sessions_app.planning.services import allocation_create
from tests.browser.world import build_world, health_workers
from tests.factories import SessionFactory
from tests.guard import give

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world():
    return build_world()


def test_it_lets_an_officer_plan_sessions_and_allocate(open_page, world):
    people = health_workers(world, 8)
    already = people[0]
    give(already, dose=1, vaccine=world.covishield, centre=world.centre_a2, days=3)
    tomorrow = timezone.localdate() + dt.timedelta(days=1)

    page = open_page()
    page.login("hisar_officer")
    page.click("nav >> text=Sessions")
    page.click("text=Plan sessions")
    page.check(f"input[name=centres][value='{world.centre_a.pk}']")
    page.check(f"input[name=centres][value='{world.centre_a3.pk}']")
    page.fill("#id_date", tomorrow.isoformat())
    page.fill("#id_days", "2")
    page.select_option("#id_vaccine", "COVISHIELD")
    page.fill("#id_capacity", "5")
    page.check("input[name=categories][value=HCW]")
    page.click("text=Create sessions")
    page.wait_for_selector("text=4 sessions planned.")
    assert Session.objects.filter(date__gte=tomorrow).count() == 4
    assert page.locator("#week a.chip").count() == 4

    session = Session.objects.get(centre=world.centre_a, date=tomorrow)
    page.click(f"#week a[href='/sessions/{session.pk}/allocate/']")
    page.fill("#id_reference_ids", f"{already.reference_id}\n{people[1].reference_id}")
    page.click("button[value=list]")
    page.wait_for_selector("#allocation-result")
    assert "1 person allocated" in page.inner_text("#allocation-result")
    reason = page.inner_text("#skipped tr[data-reason=already_vaccinated]")
    assert already.reference_id in reason and "Sevak Sabha Hospital" in reason

    page.click("button[value=auto]")  # 4 places left, 6 due: 2 skipped as full
    page.wait_for_selector("#allocation-result")
    assert "4 people allocated" in page.inner_text("#allocation-result")
    assert page.locator("#skipped tr[data-reason=capacity_full]").count() == 2
    assert page.inner_text("#skipped-count tr[data-reason=capacity_full]").split() == ["No", "place", "left", "2"]
    assert "5 of 5 places allocated" in page.inner_text("#capacity")
    assert Allocation.objects.filter(session=session).count() == 5

    page.fill("#id_reference_id", already.reference_id)
    page.click("button[value=why]")
    assert "Not on the list: dose 1 recorded" in page.inner_text("#why-answer")
    page.shot("officer-allocation")
    page.assert_clean()


def test_it_shows_the_dashboard_with_a_chart(open_page, world):
    today = timezone.localdate()
    people = health_workers(world, 12)
    for centre, n_people, n_done in ((world.centre_a, 6, 5), (world.centre_a2, 4, 1), (world.centre_a3, 2, 0)):
        session = SessionFactory(centre=centre, vaccine=world.covishield, capacity=10, date=today)
        group, people = people[:n_people], people[n_people:]
        allocation_create(session=session, reference_ids=[p.reference_id for p in group])
        for person in group[:n_done]:
            give(person, dose=1, vaccine=world.covishield, centre=centre, session=session)
    for days in range(1, 8):  # earlier days, for the turnout chart
        past = SessionFactory(centre=world.centre_a, vaccine=world.covaxin, date=today - dt.timedelta(days=days))
        Session.objects.filter(pk=past.pk).update(allocated_count=10 + days)
        for person in health_workers(world, 8 - days // 2):
            give(person, dose=1, vaccine=world.covaxin, centre=world.centre_a, session=past, days=days)

    page = open_page()
    page.login("hisar_officer")
    page.wait_for_selector("#turnout-chart[data-ready='1']")
    assert "6 of 12" in page.inner_text("#kpi-vaccinated")
    bars = page.locator(".bars li")
    assert bars.count() == 3
    assert "5 of 6" in bars.nth(1).inner_text()  # Jindal, after Civil Hospital in name order
    assert page.evaluate("Chart.getChart('turnout-chart').data.datasets[1].data.at(-1)") == 6
    page.shot("officer-dashboard")
    page.assert_clean()
