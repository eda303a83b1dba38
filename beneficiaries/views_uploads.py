"""The district officer's upload pages: the form and list, one upload with live
progress, its error report, and rollback.

Parse, authorise (rules + `covax.accounts.scope`), call the same services as the API
(`upload_create`, `upload_rollback`), render. An upload outside the user's scope is a
404; centre staff have no upload pages (they send back-filled doses through the API).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods

from beneficiaries.forms_uploads import UploadForm
from beneficiaries.models import Upload, UploadKind, UploadStatus
from beneficiaries.uploads import selectors, services
from covax import reasons
from covax.accounts.scope import get_scoped, scoped
from covax.errors import ServiceError
from sessions_app.forms import add_service_error
from sessions_app.views import require_perm

VIEW_PERM = "covax.view_reports"  # district officers, state admins, superusers
UPLOAD_PERM = "covax.upload"
ROLLBACK_PERM = "covax.rollback_upload"
LIVE = (UploadStatus.QUEUED, UploadStatus.RUNNING)
ERRORS_SHOWN = 20


def _upload(request, pk: int) -> Upload:
    return get_scoped(Upload.objects.select_related("district", "created_by"), request.user, pk=pk)


@require_http_methods(["GET", "POST"])
@require_perm(VIEW_PERM)
def upload_list(request):
    posted = request.method == "POST"
    form = UploadForm(request.POST if posted else None, request.FILES if posted else None, user=request.user)
    if posted and not request.user.has_perm(UPLOAD_PERM):
        raise PermissionDenied
    status = 400 if posted else 200
    if posted and form.is_valid():
        data = form.cleaned_data
        try:
            intake = services.upload_create(
                district=form.district_for_upload(), kind=data["kind"], file=data["file"], user=request.user
            )
        except ServiceError as exc:
            add_service_error(form, exc)
            status = exc.status
        else:
            if intake.duplicate_of is not None:
                messages.info(request, _same_file_message(intake.duplicate_of))
            else:
                messages.success(request, _("The file is uploaded. It is processed in the background; follow it here."))
            return redirect("upload_detail", pk=intake.upload.pk)
    uploads = scoped(Upload.objects.select_related("district", "created_by"), request.user)
    page = Paginator(uploads, 50).get_page(request.GET.get("page"))
    limit = settings.COVAX_UPLOAD_MAX_BYTES
    context = {"form": form, "page": page, "max_bytes": limit, "max_mb": limit // 2**20}
    return render(request, "uploads/list.html", context, status=status)


def _same_file_message(first: Upload) -> str:
    when = formats.date_format(first.created_at, "d-m-Y H:i") if first.created_at else ""
    return _(
        "This file was already uploaded on %(when)s (upload %(id)s, %(name)s). Nothing new was created: "
        "here is the first upload."
    ) % {"when": when, "id": first.pk, "name": first.original_name}


@require_GET
@require_perm(VIEW_PERM)
def upload_detail(request, pk: int):
    upload = _upload(request, pk)
    return render(request, "uploads/detail.html", _status_context(upload))


@require_GET
@require_perm(VIEW_PERM)
def upload_progress(request, pk: int):
    """The live part of the detail page; htmx asks for it every second while the upload
    is queued or running. The answer for a finished upload does not poll again."""
    upload = _upload(request, pk)
    return render(request, "uploads/_status.html", _status_context(upload))


def _status_context(upload: Upload) -> dict[str, Any]:
    finished = upload.status not in LIVE
    errors = list(upload.errors.order_by("row", "id")[: ERRORS_SHOWN + 1]) if finished else []
    return {
        "upload": upload,
        "live": not finished,
        "errors": errors[:ERRORS_SHOWN],
        "more_errors": len(errors) > ERRORS_SHOWN,
        "can_roll_back": upload.status in (UploadStatus.SUCCEEDED, UploadStatus.FAILED),
        "rollback": _rollback_summary(upload) if upload.status == UploadStatus.ROLLED_BACK else None,
    }


KEPT_BECAUSE = {
    "has_dose": gettext_lazy("has a dose recorded"),
    "has_allocation": gettext_lazy("is allocated to a session"),
    "merged": gettext_lazy("is part of a merge of duplicates"),
}


def _rollback_summary(upload: Upload) -> dict[str, Any] | None:
    """The rollback report of the service, in words: what was removed, what was kept and why."""
    report = upload.rollback_report or {}
    if not report:
        return None
    if upload.kind == UploadKind.BENEFICIARIES:
        kept = [
            {"reason": KEPT_BECAUSE.get(code, code), "count": part["count"], "ids": part["reference_ids"]}
            for code, part in report.get("kept", {}).items()
            if part.get("count")
        ]
        explanation = _(services.ROLLBACK_EXPLANATION) if report.get("explanation") else ""
        return {"people": True, "removed": report.get("removed", 0), "kept": kept, "explanation": explanation}
    part = report.get("kept", {})
    kept = [
        {"reason": reasons.shown(r["reason"], r.get("message")), "count": 1, "ids": [r["vaccination"]]}
        for r in part.get("records", [])
    ]
    return {"people": False, "voided": report.get("voided", 0), "kept": kept}


@require_GET
@require_perm(VIEW_PERM)
def upload_errors(request, pk: int):
    """The error report as CSV: the same selector (and formula escaping) as the API."""
    upload = _upload(request, pk)
    response = HttpResponse(selectors.error_report_csv(upload), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="upload-{upload.pk}-errors.csv"'
    return response


@require_http_methods(["GET", "POST"])
@require_perm(ROLLBACK_PERM)
def upload_rollback(request, pk: int):
    """GET asks for confirmation; POST rolls back through the service and shows the report."""
    upload = _upload(request, pk)
    if request.method == "GET":
        return render(request, "uploads/rollback.html", {"upload": upload})
    try:
        report = services.upload_rollback(upload=upload, user=request.user)
    except ServiceError as exc:
        messages.error(request, str(exc.detail))
        return redirect("upload_detail", pk=upload.pk)
    messages.success(request, _rolled_back_message(upload, report))
    return redirect("upload_detail", pk=upload.pk)


def _rolled_back_message(upload: Upload, report: dict) -> str:
    kept = report.get("kept", {})
    if upload.kind == UploadKind.BENEFICIARIES:
        n_kept = sum(part.get("count", 0) for part in kept.values())
        removed = ngettext("%(n)s person removed", "%(n)s people removed", report["removed"]) % {"n": report["removed"]}
    else:
        n_kept = kept.get("count", 0)
        removed = ngettext("%(n)s dose voided", "%(n)s doses voided", report["voided"]) % {"n": report["voided"]}
    return _("Upload rolled back: %(removed)s, %(kept)s kept (see below why).") % {
        "removed": removed,
        "kept": n_kept,
    }
