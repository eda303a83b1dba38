"""Content-Security-Policy for every response.

Pages load scripts, styles, fonts and images only from the portal itself: no inline
script (page scripts live in static/js/ and read their data from `json_script` blocks),
no eval (htmx runs with allowEval off), no CDN, no framing. Inline *style attributes*
stay allowed because progress bars set their width server-side; <style> elements do not.
"""

from __future__ import annotations

from django.conf import settings

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

# Swagger UI (drf-spectacular's page) boots itself with an inline script.
RELAXED = POLICY.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.relaxed_prefixes = tuple(getattr(settings, "COVAX_CSP_RELAXED_PREFIXES", ("/api/docs/",)))

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" not in response.headers:
            relaxed = request.path.startswith(self.relaxed_prefixes)
            response.headers["Content-Security-Policy"] = RELAXED if relaxed else POLICY
        return response
