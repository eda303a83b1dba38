"""Content-Security-Policy for every response.

Pages load scripts, styles, fonts and images only from the portal itself: no inline
script (page scripts live in static/js/ and read their data from `json_script` blocks),
no eval (htmx runs with allowEval off), no CDN, no framing. Inline *style attributes*
stay allowed because progress bars set their width server-side; <style> elements do not.
"""

from __future__ import annotations

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    """The same policy for every page, the API docs included (their boot script is a
    file: covax/urls.py, templates/drf_spectacular/swagger_ui.html)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", POLICY)
        return response
