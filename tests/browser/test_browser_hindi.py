"""Hindi pages in a real Chromium: the language switch, every string in Hindi, and the
Devanagari actually drawn with the Noto Sans Devanagari font shipped in static/."""

from __future__ import annotations

import pytest

from sessions_app.services import allocation_create
from tests.browser.world import build_world, health_workers
from tests.factories import SessionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FONT_LOADED = """async () => {
  await document.fonts.ready;
  const face = [...document.fonts].find(f => f.family.replace(/["']/g, '') === 'Noto Sans Devanagari'
                                          && f.status === 'loaded');
  return {
    check: document.fonts.check('16px "Noto Sans Devanagari"', 'हिन्दी'),
    loaded: Boolean(face),
    family: getComputedStyle(document.querySelector('h1')).fontFamily,
  };
}"""


def test_it_renders_hindi_pages_in_devanagari(open_page):
    world = build_world()
    session = SessionFactory(centre=world.centre_a, vaccine=world.covishield)
    people = health_workers(world, 3)
    allocation_create(session=session, reference_ids=[p.reference_id for p in people])

    page = open_page(width=360, height=780)
    page.login("staff_a")
    page.select_option("#language", "hi")  # switches on change (static/js/covax.js)
    page.wait_for_selector("html[lang=hi]")
    assert page.inner_text("h1").startswith("आज के सत्र")
    page.click("text=सूची खोलें")
    page.wait_for_selector("#due-body tr.person")
    assert page.inner_text("h1") == "जिंदल अस्पताल"
    assert "खुराक 1 दर्ज करें" in page.inner_text("#due-body")
    assert page.get_attribute("#q", "placeholder") == "नाम, संदर्भ आईडी, पहचान पत्र के अंतिम 4, मोबाइल"
    font = page.evaluate(FONT_LOADED)
    assert font["check"] and font["loaded"], font
    assert font["family"].startswith('"Noto Sans Devanagari"')

    # A refusal from a service speaks Hindi too.
    page.go(f"/sessions/{session.pk}/verify/")
    page.fill("#id_id_number", "123456789012")
    page.click("main button[type=submit]")
    assert "आधार 0 या 1 से शुरू नहीं हो सकता।" in page.inner_text(".errorlist")
    page.shot("hindi-verify-360px", full_page=False)
    page.assert_clean()
