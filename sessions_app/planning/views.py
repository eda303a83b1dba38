"""District officer pages for planning: the week of sessions, planning several at once,
allocation with every skip explained.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from beneficiaries.models import Beneficiary
from covax.accounts.scope import get_scoped, scoped
from covax.errors import ServiceError
from sessions_app.forms import AllocateForm, SessionPlanForm, WhyForm, add_service_error
from sessions_app.models import Centre, Session
from sessions_app.planning import services
from sessions_app.planning.selectors import why_on_list
from sessions_app.planning.services import SKIP_REASONS, AllocationResult, allocation_create
from sessions_app.views import require_perm


def _week_start(value: str | None) -> dt.date:
    try:
        day = dt.date.fromisoformat(value) if value else timezone.localdate()
    except ValueError:
        day = timezone.localdate()
    return day - dt.timedelta(days=day.weekday())


@require_perm("covax.view_reports")
def session_week(request):
    start = _week_start(request.GET.get("week"))
    days = [start + dt.timedelta(days=i) for i in range(7)]
    centres = list(scoped(Centre.objects.all(), request.user).order_by("name"))
    sessions = (
        scoped(Session.objects.select_related("vaccine"), request.user)
        .filter(date__gte=days[0], date__lte=days[-1])
        .order_by("date", "id")
    )
    cells: dict[tuple[int, dt.date], list[Session]] = {}
    for s in sessions:
        cells.setdefault((s.centre_id, s.date), []).append(s)
    rows = [{"centre": c, "cells": [cells.get((c.pk, d), []) for d in days]} for c in centres]
    context = {
        "days": days,
        "rows": rows,
        "today": timezone.localdate(),
        "previous": days[0] - dt.timedelta(days=7),
        "next": days[0] + dt.timedelta(days=7),
    }
    return render(request, "officer/session_week.html", context)


@require_http_methods(["GET", "POST"])
@require_perm("covax.add_session")
def session_plan(request):
    centres = scoped(Centre.objects.all(), request.user).order_by("name")
    form = SessionPlanForm(request.POST or None, centres=centres)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            # One session per centre and day, all or none (a half-planned week is worse
            # than an error).
            created = services.session_create_days(
                centres=list(data["centres"]),
                dates=form.dates(),
                vaccine=data["vaccine"],
                dose=data["dose"],
                capacity=data["capacity"],
                min_age=data["min_age"],
                max_age=data["max_age"],
                slots=data["slots"],
                categories=data["categories"],
            )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("%(n)s sessions planned.") % {"n": len(created)})
            return redirect(_week_url(data["date"]))
    return render(request, "officer/session_plan.html", {"form": form}, status=400 if form.errors else 200)


def _week_url(day: dt.date) -> str:
    return f"{reverse('officer_sessions')}?week={day.isoformat()}"


def _skip_counts(result: AllocationResult | None) -> list[dict]:
    """The skipped people per reason, in the reasons' order, for the allocate page. A count
    that stopped at its bound (auto's "no place left") is shown as "N or more"."""
    if result is None:
        return []
    return [
        {
            "reason": reason,
            "label": label,
            "count": result.skipped_count[reason],
            "at_least": reason == "capacity_full" and not result.skipped_count_exact,
        }
        for reason, label in SKIP_REASONS.items()
        if result.skipped_count.get(reason)
    ]


@require_http_methods(["GET", "POST"])
@require_perm("covax.allocate")
def session_allocate(request, pk: int):
    session = get_scoped(Session.objects.select_related("centre", "vaccine"), request.user, pk=pk)
    form, why_form = AllocateForm(), WhyForm()
    result = explanation = None
    status = 200
    action = request.POST.get("action")
    if request.method == "POST" and action in ("list", "auto"):
        form = AllocateForm(request.POST)
        if form.is_valid():
            refs = form.cleaned_data["reference_ids"]
            if action == "list" and not refs:
                form.add_error("reference_ids", _("Give at least one reference id, or allocate automatically."))
            else:
                try:
                    result = allocation_create(
                        session=session,
                        user=request.user,
                        reference_ids=refs or None,
                        auto=action == "auto",
                        within=scoped(Beneficiary.objects.all(), request.user),
                    )
                except ServiceError as exc:
                    add_service_error(form, exc)
                else:
                    session.refresh_from_db()
                    form = AllocateForm()
        if form.errors:
            status = 400
    elif request.method == "POST" and action == "why":
        why_form = WhyForm(request.POST)
        if why_form.is_valid():
            person = (
                scoped(Beneficiary.objects.all(), request.user)
                .filter(reference_id=why_form.cleaned_data["reference_id"].strip())
                .first()
            )
            if person is None:
                why_form.add_error("reference_id", _("No one with this reference id is registered in your district."))
                status = 400
            else:
                explanation = (person, why_on_list(session=session, beneficiary=person))
        else:
            status = 400
    context = {
        "session": session,
        "form": form,
        "why_form": why_form,
        "result": result,
        "skip_counts": _skip_counts(result),
        "explanation": explanation,
        "free": max(session.capacity - session.allocated_count, 0),
    }
    return render(request, "officer/session_allocate.html", context, status=status)
