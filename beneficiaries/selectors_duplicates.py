"""Reads for the duplicate review: the queue and one pair side by side."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from beneficiaries.merge import allocation_summary, dose_summary, merge_conflicts
from beneficiaries.models import Beneficiary, CandidateStatus, DuplicateCandidate
from covax.accounts.scope import get_scoped, scoped
from sessions_app.models import Allocation, AllocationStatus, Vaccination


def duplicate_candidate_list(*, user, status: str | None = None) -> QuerySet[DuplicateCandidate]:
    """The user's pairs, best score first, in one query. An open pair whose person was
    merged in another pair waits (it is not decidable) and is left out of "open"."""
    qs = scoped(DuplicateCandidate.objects.all(), user).select_related("first", "second", "decided_by", "district")
    if status:
        qs = qs.filter(status=status)
    if status == CandidateStatus.OPEN:
        qs = qs.filter(first__merged_into__isnull=True, second__merged_into__isnull=True)
    return qs.order_by("-score", "id")


def duplicate_candidate_get(*, user, pk) -> DuplicateCandidate:
    """The pair if it is in the user's scope; Http404 otherwise."""
    qs = DuplicateCandidate.objects.select_related("first", "second", "decided_by", "district")
    return get_scoped(qs, user, pk=pk)


def _person(person: Beneficiary) -> dict[str, Any]:
    doses = Vaccination.objects.filter(beneficiary=person).select_related("beneficiary", "vaccine", "centre")
    allocations = Allocation.objects.filter(beneficiary=person, status=AllocationStatus.ACTIVE).select_related(
        "beneficiary", "session__centre", "session__vaccine"
    )
    return {
        "reference_id": person.reference_id,
        "name": person.name,
        "gender": person.gender,
        "birth_year": person.birth_year,
        "phone": person.phone,
        "id_type": person.id_type,
        "id_last4": person.id_last4,
        "category": person.category,
        "employer": person.employer,
        "merged_into": person.merged_into.reference_id if person.merged_into_id else None,
        "doses": [dose_summary(v) for v in doses.order_by("dose", "id")],
        "allocations": [allocation_summary(a) for a in allocations.order_by("dose", "id")],
    }


def duplicate_pair(*, candidate: DuplicateCandidate) -> dict[str, Any]:
    """Both people with their doses and allocations, and what a merge would have to resolve."""
    first = Beneficiary.objects.select_related("merged_into").get(pk=candidate.first_id)
    second = Beneficiary.objects.select_related("merged_into").get(pk=candidate.second_id)
    open_ = candidate.status == CandidateStatus.OPEN
    return {
        "people": [_person(first), _person(second)],
        "conflicts": merge_conflicts(first=first, second=second) if open_ else [],
        "decidable": open_ and not (first.merged_into_id or second.merged_into_id),
    }
