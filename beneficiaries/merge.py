"""Deciding a probable duplicate: merge, undo a merge, or mark the pair distinct.

A merge keeps every dose and allocation: the merged person's live doses and active
allocations move to the kept person. Where both hold the same dose (two dose-1 records)
or both hold an active allocation for the same dose, the officer chooses which record
to void (with a reason) or which allocation to cancel; until every such conflict has a
choice the merge answers 409 `merge_conflict` listing both records, and nothing moves.

Everything a merge changes is written to `candidate.merge_record`, so that
`duplicate_unmerge` puts back exactly what was there.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from beneficiaries.models import Beneficiary, CandidateStatus, DuplicateCandidate
from covax.audit import audit_context
from covax.errors import Conflict, ServiceError
from sessions_app.doses.services import vaccination_summary, vaccination_void
from sessions_app.models import Allocation, AllocationStatus, Session, Vaccination
from sessions_app.seats import session_seats_move


# --- reading both people --------------------------------------------------------------
def _live_doses(person: Beneficiary) -> dict[int, Vaccination]:
    records = Vaccination.objects.live().select_related("beneficiary", "vaccine", "centre").filter(beneficiary=person)
    return {v.dose: v for v in records}


def _active_allocations(person: Beneficiary) -> dict[int, Allocation]:
    records = Allocation.objects.select_related("beneficiary", "session__centre", "session__vaccine").filter(
        beneficiary=person, status=AllocationStatus.ACTIVE
    )
    return {a.dose: a for a in records}


def dose_summary(vaccination: Vaccination) -> dict[str, Any]:
    return {
        **vaccination_summary(vaccination),
        "given_on": timezone.localtime(vaccination.administered_at).strftime("%d-%m-%Y"),
        "voided": vaccination.voided_at is not None,
        "void_reason": vaccination.void_reason,
    }


def allocation_summary(allocation: Allocation) -> dict[str, Any]:
    session = allocation.session
    return {
        "id": allocation.pk,
        "beneficiary": allocation.beneficiary.reference_id,
        "dose": allocation.dose,
        "session": session.pk,
        "date": session.date.isoformat(),
        "vaccine": session.vaccine.code,
        "centre": session.centre_id,
        "centre_name": session.centre.name,
        "status": allocation.status,
        "date_display": session.date.strftime("%d-%m-%Y"),
    }


def merge_conflicts(*, first: Beneficiary, second: Beneficiary) -> list[dict[str, Any]]:
    """What a merge of the two would have to resolve: doses and allocations both hold."""
    conflicts: list[dict[str, Any]] = []
    doses_a, doses_b = _live_doses(first), _live_doses(second)
    for dose in sorted(doses_a.keys() & doses_b.keys()):
        records = [dose_summary(doses_a[dose]), dose_summary(doses_b[dose])]
        conflicts.append({"kind": "vaccination", "dose": dose, "records": records})
    alloc_a, alloc_b = _active_allocations(first), _active_allocations(second)
    for dose in sorted(alloc_a.keys() & alloc_b.keys()):
        records = [allocation_summary(alloc_a[dose]), allocation_summary(alloc_b[dose])]
        conflicts.append({"kind": "allocation", "dose": dose, "records": records})
    return conflicts


# --- shared steps ---------------------------------------------------------------------
def _lock_pair(candidate: DuplicateCandidate) -> tuple[DuplicateCandidate, Beneficiary, Beneficiary]:
    """Lock the candidate, then both people, always in id order.

    The candidate lock makes two officers deciding the same pair queue up (the second
    sees the first one's decision). The people locks are the same row locks that dose
    recording takes (sessions_app.doses.services.vaccination_record), so no dose can be
    recorded for either person while their doses move, and id order means two merges
    sharing a person can never deadlock each other.
    """
    locked = DuplicateCandidate.objects.select_for_update().get(pk=candidate.pk)
    people = {
        p.pk: p
        for p in Beneficiary.objects.select_for_update()
        .filter(pk__in=[locked.first_id, locked.second_id])
        .order_by("pk")
    }
    return locked, people[locked.first_id], people[locked.second_id]


def _set_allocation_status(allocation_ids: list[int], status: str) -> None:
    """Cancel or re-activate allocations, keeping each session's allocated_count in step
    (the count is what the never-oversold constraint checks)."""
    step = -1 if status == AllocationStatus.CANCELLED else 1
    changing = Allocation.objects.filter(pk__in=allocation_ids).exclude(status=status)
    for allocation in changing.order_by("session_id", "pk"):
        session = Session.objects.select_for_update().get(pk=allocation.session_id)
        if step > 0 and session.allocated_count >= session.capacity:
            raise Conflict(
                _("Session %(id)s on %(date)s is full; its allocation cannot be restored.")
                % {"id": session.pk, "date": session.date.strftime("%d-%m-%Y")},
                code="unmerge_blocked",
            )
        session_seats_move(session_id=session.pk, step=step)
        Allocation.objects.filter(pk=allocation.pk).update(status=status)


def _decided(candidate: DuplicateCandidate) -> Conflict:
    return Conflict(
        _("This pair was already decided (%(status)s).") % {"status": candidate.get_status_display()},
        code="already_decided",
        status_now=candidate.status,
    )


def _require_unmerged(*people: Beneficiary) -> None:
    for person in people:
        if person.merged_into_id:
            raise Conflict(
                _("%(ref)s was merged into another person; undo that merge first.") % {"ref": person.reference_id},
                code="already_merged",
                reference_id=person.reference_id,
            )


# --- merge ----------------------------------------------------------------------------
def _parse_choices(resolutions: dict | None) -> tuple[dict[int, dict], dict[int, dict]]:
    resolutions = resolutions or {}
    if not isinstance(resolutions, dict):
        raise ServiceError(_("Resolutions must be an object."), code="invalid_resolution", field="resolutions")
    parsed = []
    for kind in ("vaccinations", "allocations"):
        section = resolutions.get(kind) or {}
        try:
            parsed.append({int(dose): dict(choice) for dose, choice in section.items()})
        except (AttributeError, TypeError, ValueError):
            raise ServiceError(
                _("Resolutions for %(kind)s must map a dose number to a choice.") % {"kind": kind},
                code="invalid_resolution",
                field="resolutions",
            ) from None
    return parsed[0], parsed[1]


def _chosen_id(choice: dict, key: str, records: dict[int, Any], dose: int) -> int:
    """The record the officer chose for a conflict; it must be one of the two in it."""
    try:
        chosen = int(choice.get(key))
    except (TypeError, ValueError):
        chosen = None
    if chosen not in {r.pk for r in records.values()}:
        raise ServiceError(
            _("For dose %(dose)s choose one of the two records shown.") % {"dose": dose},
            code="invalid_resolution",
            field="resolutions",
        )
    return chosen


def _resolve(
    *, keep: Beneficiary, other: Beneficiary, resolutions: dict | None
) -> tuple[list[tuple[int, str]], list[int]]:
    """Which records to void (id, reason) and which allocations to cancel, from the
    officer's choices; 409 `merge_conflict` if any conflict has no choice."""
    conflicts = merge_conflicts(first=keep, second=other)
    dose_choices, alloc_choices = _parse_choices(resolutions)
    unresolved = [
        c for c in conflicts if c["dose"] not in (dose_choices if c["kind"] == "vaccination" else alloc_choices)
    ]
    if unresolved:
        raise Conflict(
            _("Both people hold the same dose or allocation. Choose which record to void or cancel, then merge."),
            code="merge_conflict",
            conflicts=unresolved,
        )
    voids, cancels = [], []
    keep_doses, other_doses = _live_doses(keep), _live_doses(other)
    keep_allocs, other_allocs = _active_allocations(keep), _active_allocations(other)
    for c in conflicts:
        dose = c["dose"]
        if c["kind"] == "vaccination":
            pair = {0: keep_doses[dose], 1: other_doses[dose]}
            chosen = _chosen_id(dose_choices[dose], "void", pair, dose)
            voids.append((chosen, str(dose_choices[dose].get("reason") or "").strip()))
        else:
            pair = {0: keep_allocs[dose], 1: other_allocs[dose]}
            cancels.append(_chosen_id(alloc_choices[dose], "cancel", pair, dose))
    return voids, cancels


def _void_chosen(voids: list[tuple[int, str]], user) -> None:
    # Highest dose first: a dose can only be voided once no later dose stands on it.
    records = {v.pk: v for v in Vaccination.objects.filter(pk__in=[pk for pk, _r in voids])}
    for pk, reason in sorted(voids, key=lambda item: -records[item[0]].dose):
        vaccination_void(vaccination=records[pk], reason=reason, user=user)


def _already_given(keep: Beneficiary) -> list[int]:
    """Active allocations of the kept person for a dose they now have: cancelled so that
    they never appear on a list for a dose already given (SPEC §3 guard 3)."""
    given = Vaccination.objects.live().filter(beneficiary=keep).values("dose")
    return list(
        Allocation.objects.filter(beneficiary=keep, status=AllocationStatus.ACTIVE, dose__in=given).values_list(
            "pk", flat=True
        )
    )


def _move(keep: Beneficiary, other: Beneficiary) -> tuple[list[int], list[int]]:
    doses = list(Vaccination.objects.live().filter(beneficiary=other).values_list("pk", flat=True))
    allocs = list(
        Allocation.objects.filter(beneficiary=other, status=AllocationStatus.ACTIVE).values_list("pk", flat=True)
    )
    try:
        with transaction.atomic():
            Vaccination.objects.filter(pk__in=doses).update(beneficiary=keep)
            Allocation.objects.filter(pk__in=allocs).update(beneficiary=keep)
    except IntegrityError:
        # Only if a writer bypassed the person locks: nothing moved, ask to try again.
        raise Conflict(_("The records changed during the merge; please try again."), code="try_again") from None
    return doses, allocs


def duplicate_merge(
    *,
    candidate: DuplicateCandidate,
    keep: Beneficiary,
    user,
    resolutions: dict | None = None,
    note: str = "",
) -> DuplicateCandidate:
    """Merge the pair into `keep`. Raises Conflict `merge_conflict` (with the records
    that need a choice), `already_decided`, `already_merged`; ServiceError
    `invalid_keep` / `invalid_resolution`, `reason_required`."""
    metadata = {"action": "duplicate_merge", "candidate": candidate.pk, "reason": note or "probable duplicate merged"}
    with transaction.atomic(), audit_context(**metadata):
        candidate, first, second = _lock_pair(candidate)
        if candidate.status != CandidateStatus.OPEN:
            raise _decided(candidate)
        if keep.pk not in (first.pk, second.pk):
            raise ServiceError(_("Keep one of the two people of this pair."), code="invalid_keep", field="keep")
        keep, other = (first, second) if keep.pk == first.pk else (second, first)
        _require_unmerged(keep, other)
        voids, cancels = _resolve(keep=keep, other=other, resolutions=resolutions)
        _void_chosen(voids, user)
        # vaccination_void entered its own audit context; the rest is the merge's again.
        with audit_context(**metadata):
            _set_allocation_status(cancels, AllocationStatus.CANCELLED)
            moved_doses, moved_allocs = _move(keep, other)
            stale = _already_given(keep)
            _set_allocation_status(stale, AllocationStatus.CANCELLED)
            Beneficiary.objects.filter(pk=other.pk).update(merged_into=keep)
            candidate.status = CandidateStatus.MERGED
            candidate.decided_by = user if getattr(user, "pk", None) else None
            candidate.decided_at = timezone.now()
            candidate.note = note.strip()
            candidate.merge_record = {
                "keep": keep.pk,
                "merged": other.pk,
                "vaccinations_moved": moved_doses,
                "vaccinations_voided": [pk for pk, _reason in voids],
                "allocations_moved": moved_allocs,
                "allocations_cancelled": cancels,
                # cancelled because the kept person now has that dose
                "allocations_already_given": stale,
                "merged_at": candidate.decided_at.isoformat(),
            }
            candidate.save(update_fields=["status", "decided_by", "decided_at", "note", "merge_record"])
    return candidate


# --- undo and distinct ----------------------------------------------------------------
def _unvoid(vaccination_ids: list[int]) -> None:
    for record in Vaccination.objects.select_related("beneficiary").filter(pk__in=vaccination_ids):
        live = Vaccination.objects.live().filter(beneficiary_id=record.beneficiary_id, dose=record.dose)
        if live.exclude(pk=record.pk).exists():
            raise Conflict(
                _("%(ref)s has a new dose %(dose)s since the merge; void it before undoing the merge.")
                % {"ref": record.beneficiary.reference_id, "dose": record.dose},
                code="unmerge_blocked",
            )
    Vaccination.objects.filter(pk__in=vaccination_ids).update(voided_at=None, voided_by=None, void_reason="")


def duplicate_unmerge(*, candidate: DuplicateCandidate, user, reason: str = "") -> DuplicateCandidate:
    """Undo a merge exactly: moved records go back, voided ones live again, cancelled
    allocations are active again, and the pair is open for review. Raises Conflict
    `not_merged`, `merged_later` or `unmerge_blocked` (with what changed since)."""
    metadata = {"action": "duplicate_unmerge", "candidate": candidate.pk, "reason": reason or "merge undone"}
    with transaction.atomic(), audit_context(**metadata):
        candidate, first, second = _lock_pair(candidate)
        if candidate.status != CandidateStatus.MERGED:
            raise Conflict(_("This pair is not merged."), code="not_merged")
        record = candidate.merge_record
        people = {first.pk: first, second.pk: second}
        keep, other = people[record["keep"]], people[record["merged"]]
        if keep.merged_into_id:
            raise Conflict(
                _("%(ref)s was merged again later; undo that merge first.") % {"ref": keep.reference_id},
                code="merged_later",
            )
        try:
            with transaction.atomic():
                Vaccination.objects.filter(pk__in=record["vaccinations_moved"]).update(beneficiary=other)
                Allocation.objects.filter(pk__in=record["allocations_moved"]).update(beneficiary=other)
                _unvoid(record["vaccinations_voided"])
                cancelled = record["allocations_cancelled"] + record["allocations_already_given"]
                _set_allocation_status(cancelled, AllocationStatus.ACTIVE)
        except IntegrityError:
            raise Conflict(
                _("New doses or allocations since the merge stand in the way; undo those first."),
                code="unmerge_blocked",
            ) from None
        Beneficiary.objects.filter(pk=other.pk).update(merged_into=None)
        candidate.status = CandidateStatus.OPEN
        candidate.decided_by, candidate.decided_at, candidate.merge_record = None, None, {}
        candidate.save(update_fields=["status", "decided_by", "decided_at", "merge_record"])
    return candidate


def duplicate_mark_distinct(*, candidate: DuplicateCandidate, user, note: str = "") -> DuplicateCandidate:
    """Record that the two are different people; the pair is never flagged again."""
    with transaction.atomic(), audit_context(action="duplicate_distinct", candidate=candidate.pk, reason=note):
        candidate = DuplicateCandidate.objects.select_for_update().get(pk=candidate.pk)
        if candidate.status != CandidateStatus.OPEN:
            raise _decided(candidate)
        candidate.status = CandidateStatus.DISTINCT
        candidate.decided_by = user if getattr(user, "pk", None) else None
        candidate.decided_at = timezone.now()
        candidate.note = note.strip()
        candidate.save(update_fields=["status", "decided_by", "decided_at", "note"])
    return candidate


def duplicate_reopen(*, candidate: DuplicateCandidate, user, reason: str = "") -> DuplicateCandidate:
    """Take back a "distinct" decision: the pair waits for review again."""
    with transaction.atomic(), audit_context(action="duplicate_reopen", candidate=candidate.pk, reason=reason):
        candidate = DuplicateCandidate.objects.select_for_update().get(pk=candidate.pk)
        if candidate.status != CandidateStatus.DISTINCT:
            raise Conflict(_("Only a pair marked distinct can be reopened."), code="not_distinct")
        candidate.status = CandidateStatus.OPEN
        candidate.decided_by, candidate.decided_at = None, None
        candidate.save(update_fields=["status", "decided_by", "decided_at"])
    return candidate
