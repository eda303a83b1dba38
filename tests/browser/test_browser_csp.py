"""The Content-Security-Policy breaks nothing: the admin and the API docs run in
Chromium under the same strict policy without a single CSP violation, and no page asks
for anything off the portal."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("path", ["/login/", "/admin/login/", "/api/docs/"])
def test_it_runs_every_page_under_the_csp(open_page, path):
    from covax.security import POLICY

    page = open_page()
    response = page.go(path)
    assert response.headers["content-security-policy"] == POLICY  # the strict one, on every page
    page.wait_for_load_state("networkidle")
    if path == "/api/docs/":
        page.wait_for_selector(".swagger-ui .info")  # Swagger UI booted (its boot script ran)
        page.wait_for_selector(".opblock-tag")  # and read the schema: the operations are listed
    page.assert_clean()
