"""Shared plumbing of the page views (the officer's in places/, planning/ and reports/, the
centre staff's in centre/). Page views parse, authorise (scope + rules), call a service
and render."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied


def require_perm(perm: str):
    """Sign-in, then the role's permission (covax.accounts.rules). Scope is checked per
    object with get_scoped() inside the view: outside it, 404."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not request.user.has_perm(perm):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"
