"""Pages for the district officer's duplicate review: the queue and one pair.

Parse the form, authorise, call the same services as the API, render. A refused
decision (a conflict, a missing reason) re-renders the pair page with the message and
the HTTP status the API would answer.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from beneficiaries import merge, selectors_duplicates
from beneficiaries.models import CandidateStatus, DuplicateCandidate
from beneficiaries.tasks_duplicates import duplicates_scan_enqueue
from covax.accounts.models import Role
from covax.accounts.scope import get_scoped, scoped
from covax.errors import ServiceError
from sessions_app.models import District

PERM = "covax.review_duplicates"


def reviewer_required(view):
    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.has_perm(PERM):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


@require_GET
@reviewer_required
def duplicate_queue(request):
    status = request.GET.get("status", CandidateStatus.OPEN)
    if status not in CandidateStatus.values and status != "all":
        status = CandidateStatus.OPEN
    pairs = selectors_duplicates.duplicate_candidate_list(user=request.user, status=None if status == "all" else status)
    page = Paginator(pairs, 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "status": status,
        "statuses": [*CandidateStatus.choices, ("all", _("All"))],
        "districts": scoped(District.objects.all(), request.user),
        "pick_district": request.user.role != Role.DISTRICT_OFFICER,
    }
    return render(request, "duplicates/queue.html", context)


def _render_pair(request, candidate: DuplicateCandidate, *, error: ServiceError | None = None, status: int = 200):
    candidate = selectors_duplicates.duplicate_candidate_get(user=request.user, pk=candidate.pk)
    context = {
        "pair": candidate,
        **selectors_duplicates.duplicate_pair(candidate=candidate),
        "error": error,
        "form": request.POST if error else {},
    }
    return render(request, "duplicates/pair.html", context, status=status)


def _candidate(request, pk: int) -> DuplicateCandidate:
    qs = DuplicateCandidate.objects.select_related("first", "second")
    return get_scoped(qs, request.user, pk=pk)


@require_GET
@reviewer_required
def duplicate_pair(request, pk: int):
    return _render_pair(request, _candidate(request, pk))


def _resolutions(post, conflicts: list[dict]) -> dict:
    """The officer's choices from the form: `void_<dose>` + `reason_<dose>` for two
    records of one dose, `cancel_<dose>` for two allocations of one dose."""
    vaccinations, allocations = {}, {}
    for conflict in conflicts:
        dose = conflict["dose"]
        if conflict["kind"] == "vaccination" and post.get(f"void_{dose}"):
            vaccinations[str(dose)] = {"void": post[f"void_{dose}"], "reason": post.get(f"reason_{dose}", "")}
        elif conflict["kind"] == "allocation" and post.get(f"cancel_{dose}"):
            allocations[str(dose)] = {"cancel": post[f"cancel_{dose}"]}
    return {"vaccinations": vaccinations, "allocations": allocations}


def _decide(request, pk: int, decide, success: str):
    candidate = _candidate(request, pk)
    try:
        decide(candidate)
    except ServiceError as exc:
        messages.error(request, str(exc.detail))
        return _render_pair(request, candidate, error=exc, status=exc.status)
    messages.success(request, success)
    return redirect("duplicate_pair", pk=candidate.pk)


@require_POST
@reviewer_required
def duplicate_merge(request, pk: int):
    def decide(candidate):
        keep = {p.reference_id: p for p in (candidate.first, candidate.second)}.get(request.POST.get("keep", ""))
        if keep is None:
            raise ServiceError(_("Choose the person to keep."), code="invalid_keep", field="keep")
        conflicts = selectors_duplicates.duplicate_pair(candidate=candidate)["conflicts"]
        merge.duplicate_merge(
            candidate=candidate,
            keep=keep,
            user=request.user,
            resolutions=_resolutions(request.POST, conflicts),
            note=request.POST.get("note", ""),
        )

    return _decide(request, pk, decide, _("Merged. Every dose and allocation is now with the person kept."))


@require_POST
@reviewer_required
def duplicate_distinct(request, pk: int):
    def decide(candidate):
        merge.duplicate_mark_distinct(candidate=candidate, user=request.user, note=request.POST.get("note", ""))

    return _decide(request, pk, decide, _("Marked as two different people."))


@require_POST
@reviewer_required
def duplicate_unmerge(request, pk: int):
    def decide(candidate):
        merge.duplicate_unmerge(candidate=candidate, user=request.user, reason=request.POST.get("reason", ""))

    return _decide(request, pk, decide, _("Merge undone. Both people are as they were."))


@require_POST
@reviewer_required
def duplicate_reopen(request, pk: int):
    def decide(candidate):
        merge.duplicate_reopen(candidate=candidate, user=request.user, reason=request.POST.get("reason", ""))

    return _decide(request, pk, decide, _("The pair waits for review again."))


@require_POST
@reviewer_required
def duplicate_scan(request):
    if request.user.role == Role.DISTRICT_OFFICER:
        district = request.user.district
    else:
        district = get_scoped(District.objects.all(), request.user, pk=request.POST.get("district"))
    duplicates_scan_enqueue(district_id=district.pk)
    messages.success(
        request, _("Looking for probable duplicates in %(district)s. New pairs appear here.") % {"district": district}
    )
    return redirect("duplicate_queue")
