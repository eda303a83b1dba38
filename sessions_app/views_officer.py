"""District officer pages: dashboard, centres, session planning, allocation, reports."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from beneficiaries.models import Beneficiary, CandidateStatus, DuplicateCandidate, Upload, UploadStatus
from covax.accounts.scope import get_scoped, scoped
from covax.csvsafe import csv_text
from covax.errors import ServiceError
from sessions_app import services
from sessions_app.forms import AllocateForm, CentreForm, ReportForm, SessionPlanForm, WhyForm, add_service_error
from sessions_app.models import Centre, District, Session, SessionStatus
from sessions_app.selectors import why_on_list
from sessions_app.selectors_reports import centre_progress, session_report, turnout_by_day
from sessions_app.services import allocation_create
from sessions_app.views import require_perm


@require_perm("covax.view_reports")
def dashboard(request):
    user, today = request.user, timezone.localdate()
    progress = centre_progress(user=user, day=today)
    turnout = turnout_by_day(user=user, days=14, until=today)
    chart = {
        "labels": [d.date.strftime("%d-%m") for d in turnout],
        "planned": [d.planned for d in turnout],
        "vaccinated": [d.vaccinated for d in turnout],
        "label_planned": _("Planned"),
        "label_vaccinated": _("Vaccinated"),
    }
    context = {
        "today": today,
        "sessions": scoped(Session.objects.select_related("centre", "vaccine"), user)
        .filter(date=today)
        .order_by("centre__name", "id"),
        "progress": progress,
        "planned_total": sum(p.planned for p in progress),
        "vaccinated_total": sum(p.vaccinated for p in progress),
        "turnout": turnout,
        "chart": chart,
        "uploads": scoped(Upload.objects.all(), user).filter(status__in=[UploadStatus.QUEUED, UploadStatus.RUNNING])[
            :10
        ],
        "duplicates_open": scoped(DuplicateCandidate.objects.all(), user).filter(status=CandidateStatus.OPEN).count(),
    }
    return render(request, "officer/dashboard.html", context)


# --- centres -------------------------------------------------------------------------


@require_perm("covax.view_reports")
def centre_list(request):
    centres = scoped(Centre.objects.select_related("district"), request.user).order_by("district__name", "name")
    return render(request, "officer/centre_list.html", {"centres": centres})


@require_http_methods(["GET", "POST"])
@require_perm("covax.add_centre")
def centre_create(request):
    districts = scoped(District.objects.all(), request.user)
    form = CentreForm(request.POST or None, districts=districts)
    if request.method == "POST" and form.is_valid():
        try:
            centre = services.centre_create(district=form.cleaned_data["district"], **form.service_fields())
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Centre %(name)s created.") % {"name": centre.name})
            return redirect("officer_centres")
    return render(request, "officer/centre_form.html", {"form": form}, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@require_perm("covax.change_centre")
def centre_edit(request, pk: int):
    centre = get_scoped(Centre.objects.all(), request.user, pk=pk)
    districts = scoped(District.objects.all(), request.user)
    form = CentreForm(request.POST or None, instance=centre, districts=districts)
    if request.method == "POST" and form.is_valid():
        try:
            # The form worked on a copy; the service saves the checked values.
            fresh = Centre.objects.get(pk=centre.pk)
            services.centre_change(centre=fresh, **form.service_fields())
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Centre %(name)s saved.") % {"name": fresh.name})
            return redirect("officer_centres")
    return render(
        request, "officer/centre_form.html", {"form": form, "centre": centre}, status=400 if form.errors else 200
    )


# --- session planning ----------------------------------------------------------------


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


# --- allocation ----------------------------------------------------------------------


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
        "explanation": explanation,
        "free": max(session.capacity - session.allocated_count, 0),
    }
    return render(request, "officer/session_allocate.html", context, status=status)


# --- reports -------------------------------------------------------------------------

REPORT_HEADER = [
    "date",
    "centre",
    "vaccine",
    "dose",
    "status",
    "capacity",
    "allocated",
    "vaccinated",
    "turnout_percent",
]


@require_perm("covax.view_reports")
def reports(request):
    form = ReportForm(request.GET or None)
    date_from, date_to = form.period()
    rows = session_report(user=request.user, date_from=date_from, date_to=date_to)
    totals = {
        "capacity": sum(r.capacity for r in rows),
        "allocated": sum(r.allocated for r in rows),
        "vaccinated": sum(r.vaccinated for r in rows),
    }
    context = {
        "form": form,
        "rows": rows,
        "totals": totals,
        "date_from": date_from,
        "date_to": date_to,
        "statuses": dict(SessionStatus.choices),
    }
    return render(request, "officer/reports.html", context)


@require_perm("covax.view_reports")
def reports_csv(request):
    date_from, date_to = ReportForm(request.GET or None).period()
    rows = session_report(user=request.user, date_from=date_from, date_to=date_to)
    body = csv_text(
        REPORT_HEADER,
        (
            [
                r.date.isoformat(),
                r.centre,
                r.vaccine,
                r.dose,
                r.status,
                r.capacity,
                r.allocated,
                r.vaccinated,
                r.turnout if r.turnout is not None else "",
            ]
            for r in rows
        ),
    )
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="covax-sessions-{date_from}-{date_to}.csv"'
    return response
