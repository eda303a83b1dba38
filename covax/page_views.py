"""The home page: each role lands on what it works with."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect

from covax.accounts.models import Role


@login_required
def home(request):
    if request.user.role == Role.CENTRE_STAFF:
        return redirect("staff_today")
    return redirect("officer_dashboard")
