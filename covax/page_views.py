"""The home page: each role lands on what it works with."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from covax.accounts.scope import scoped
from sessions_app.models import Session


@login_required
def home(request):
    today = timezone.localdate()
    sessions = scoped(Session.objects.select_related("centre", "vaccine"), request.user).filter(date__gte=today)[:50]
    return render(request, "home.html", {"sessions": sessions, "today": today})
