"""Hindi pages in a real Chromium: the language switch, every string in Hindi, and the
Devanagari actually drawn with the Noto Sans Devanagari font shipped in static/."""

from __future__ import annotations

import pytest

from sessions_app.planning.services import allocation_create
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


# The legend as Chart.js drew it: its labels, the family it was told to use, and its pixels.
LEGEND = """() => {
  const chart = Chart.getChart('turnout-chart');
  const legend = chart.legend, ratio = chart.currentDevicePixelRatio;
  const pixels = () => Array.from(chart.ctx.getImageData(
    Math.floor(legend.left * ratio), Math.floor(legend.top * ratio),
    Math.ceil(legend.width * ratio), Math.ceil(legend.height * ratio)).data).join(',');
  const drawnWith = font => Chart.helpers.toFont(font).family;  // as Chart.js reads a font option
  const found = {
    texts: legend.legendItems.map(item => item.text),
    family: Chart.defaults.font.family,
    legendFamily: drawnWith(legend.options.labels.font),
    tickFamily: drawnWith(chart.scales.x.options.ticks.font),
    tooltipFamily: drawnWith(chart.tooltip.options.bodyFont),
    loaded: document.fonts.check('12px "Noto Sans Devanagari"', 'हिन्दी'),
  };
  const drawn = pixels();
  chart.draw();  // again, now that every font on the page has certainly loaded
  found.drawnAsNow = drawn === pixels();
  const labels = chart.options.plugins.legend.labels;
  labels.font = {family: 'sans-serif'};  // what a canvas falls back to: no Devanagari here
  chart.update();
  found.differsFromFallback = drawn !== pixels();
  labels.font = {family: found.legendFamily};  // as it was, for the screenshot
  chart.update();
  return found;
}"""


def test_it_draws_the_dashboard_chart_legend_in_devanagari(open_page):
    """Text on a canvas uses only the font Chart.js names, loaded before it draws: without
    both, the Hindi legend was boxes (issue #15)."""
    build_world()
    page = open_page()
    page.login("hisar_officer")
    page.select_option("#language", "hi")
    page.wait_for_selector("html[lang=hi]")
    page.wait_for_selector("#turnout-chart[data-ready='1']")
    legend = page.evaluate(LEGEND)
    assert legend["texts"] == ["नियोजित", "टीकाकृत"], legend
    for key in ("family", "legendFamily", "tickFamily", "tooltipFamily"):
        assert "Noto Sans Devanagari" in legend[key], (key, legend)
    assert legend["loaded"], legend
    assert legend["drawnAsNow"], "the legend was drawn before the Devanagari font had loaded"
    assert legend["differsFromFallback"], "the legend looks as it does in the fallback font"
    page.shot("hindi-dashboard-chart")
    page.assert_clean()
