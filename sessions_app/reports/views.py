"""District officer pages for reading: the dashboard and the session report (page and CSV)."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from beneficiaries.models import CandidateStatus, DuplicateCandidate, Upload, UploadStatus
from covax.accounts.scope import scoped
from covax.csvsafe import csv_text
from sessions_app.forms import ReportForm
from sessions_app.models import Session, SessionStatus
from sessions_app.reports.selectors import centre_progress, session_report, turnout_by_day
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
