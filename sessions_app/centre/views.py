"""Centre staff pages: today's sessions, the session list with instant search, verify
by ID, mark a dose in one step, walk-ins, adverse events and undo.

Every dose goes through sessions_app.doses.services.vaccination_record (source "form"),
exactly as the API's does.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from beneficiaries.identity import IdentityError, identify
from beneficiaries.models import Beneficiary
from beneficiaries.selectors import beneficiary_by_id_number
from covax.accounts.scope import get_scoped, scoped
from covax.errors import ServiceError
from sessions_app.centre.offline import offline_context
from sessions_app.doses.aefi import adverse_event_record, vaccination_undo
from sessions_app.doses.services import vaccination_record_in_session, walk_in_record
from sessions_app.forms import AefiForm, ReasonForm, VerifyForm, WalkInForm, add_service_error
from sessions_app.models import Session, SessionStatus, Source, Vaccination
from sessions_app.planning.selectors import ListEntry, session_list, why_on_list
from sessions_app.views import is_htmx, require_perm


@require_perm("covax.vaccinate")
def staff_today(request):
    today = timezone.localdate()
    sessions = (
        scoped(Session.objects.select_related("centre", "vaccine"), request.user)
        .filter(date=today)
        .exclude(status=SessionStatus.CANCELLED)
        .order_by("centre__name", "id")
    )
    upcoming = (
        scoped(Session.objects.select_related("centre", "vaccine"), request.user)
        .filter(date__gt=today)
        .exclude(status=SessionStatus.CANCELLED)
        .order_by("date", "id")[:10]
    )
    context = {"sessions": sessions, "upcoming": upcoming, "today": today, **offline_context()}
    return render(request, "staff/today.html", context)


# --- the session list ----------------------------------------------------------------


def _lot_key(session: Session) -> str:
    return f"covax_lot_{session.pk}"


@require_perm("covax.vaccinate")
def session_page(request, pk: int):
    session = get_scoped(Session.objects.select_related("centre", "vaccine"), request.user, pk=pk)
    entries = session_list(session=session)
    # Without JavaScript the search box submits ?q=; with it, static/js/covax.js filters
    # the rows already on the page as the person types (no network needed).
    query = request.GET.get("q", "").replace("\x00", "").strip()[:100]
    shown = session_list(session=session, search=query) if query else entries
    due = [e for e in shown if e.status == "due"]
    done = [e for e in shown if e.status == "vaccinated"]
    context = {
        "session": session,
        "due": due,
        "done": done,
        "due_total": sum(1 for e in entries if e.status == "due"),
        "done_total": sum(1 for e in entries if e.status == "vaccinated"),
        "query": query,
        "lot_number": request.session.get(_lot_key(session), ""),
        "can_allocate": request.user.has_perm("covax.allocate"),
        "printing": request.GET.get("print") == "1",
        **offline_context(session),
    }
    return render(request, "staff/session_list.html", context)


def _row(person: Beneficiary, vaccination: Vaccination | None) -> ListEntry:
    """The person's line of the session list, as the selector draws it, after a dose."""
    if vaccination is None:
        return ListEntry.of(person, vaccination_id=None, vaccinated_at=None)
    return ListEntry.of(person, vaccination_id=vaccination.pk, vaccinated_at=vaccination.administered_at)


def _client_id(request) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.POST.get("client_id", ""))
    except ValueError:
        return None


@require_POST
@require_perm("covax.vaccinate")
def session_mark(request, pk: int, reference_id: str):
    """Mark the session's dose for one person: one tap, vaccine from the session, lot
    remembered from the last dose given at this session on this device."""
    session = get_scoped(Session.objects.select_related("centre", "vaccine"), request.user, pk=pk)
    person = get_scoped(Beneficiary.objects.all(), request.user, reference_id=reference_id)
    lot = request.POST.get("lot_number", "").strip()[:50] or request.session.get(_lot_key(session), "")
    try:
        record, created = vaccination_record_in_session(
            session=session,
            beneficiary=person,
            source=Source.FORM,
            lot_number=lot,
            client_id=_client_id(request),
            given_by=request.user,
        )
    except ServiceError as exc:
        return _refused(request, session, person, exc)
    if lot:
        request.session[_lot_key(session)] = lot
    if is_htmx(request):
        return render(request, "staff/_marked.html", {"session": session, "row": _row(person, record)})
    messages.success(request, _("Dose %(dose)s recorded for %(name)s.") % {"dose": record.dose, "name": person.name})
    return redirect("session_page", pk=session.pk)


def _refused(request, session: Session, person: Beneficiary, exc: ServiceError):
    if is_htmx(request):
        existing = (
            Vaccination.objects.select_related("vaccine", "centre")
            .live()
            .filter(beneficiary=person, dose=session.dose)
            .first()
        )
        context = {"session": session, "row": _row(person, existing), "error": str(exc.detail), "code": exc.code}
        return render(request, "staff/_refused.html", context, status=exc.status)
    messages.error(request, f"{person.name}: {exc.detail}")
    return redirect("session_page", pk=session.pk)


# --- verify by ID --------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@require_perm("covax.vaccinate")
def session_verify(request, pk: int):
    """Find a person by the ID they show. The number is hashed and compared; it is never
    shown, stored or sent back to the page."""
    session = get_scoped(Session.objects.select_related("centre", "vaccine"), request.user, pk=pk)
    form = VerifyForm(request.POST or None)
    found = explanation = None
    searched = False
    status = 200
    if request.method == "POST" and form.is_valid():
        id_type, number = form.cleaned_data["id_type"], form.cleaned_data["id_number"]
        try:
            identify(id_type, number)
        except IdentityError as exc:
            form.add_error("id_number", str(exc))
            status = 400
        else:
            searched = True
            people = scoped(Beneficiary.objects.live(), request.user)
            found = beneficiary_by_id_number(people, id_type=id_type, id_number=number).first()
            if found is not None:
                explanation = why_on_list(session=session, beneficiary=found)
            form = VerifyForm(initial={"id_type": id_type})  # a fresh form: the number is gone
    if form.errors:
        status = 400
    existing = None
    if found is not None:
        existing = (
            Vaccination.objects.select_related("centre", "vaccine")
            .live()
            .filter(beneficiary=found, dose=session.dose)
            .first()
        )
    context = {
        "session": session,
        "form": form,
        "found": found,
        "existing": existing,
        "explanation": explanation,
        "searched": searched,
        "client_id": uuid.uuid4(),
        "lot_number": request.session.get(_lot_key(session), ""),
    }
    return render(request, "staff/verify.html", context, status=status)


# --- walk-in -------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@require_perm("covax.vaccinate")
def session_walk_in(request, pk: int):
    """Register a person who walked in and give them the session's dose, in one step:
    both or neither."""
    session = get_scoped(Session.objects.select_related("centre__district", "vaccine"), request.user, pk=pk)
    if not request.user.has_perm("covax.add_beneficiary"):
        return redirect("session_page", pk=session.pk)
    lot = request.session.get(_lot_key(session), "")
    form = WalkInForm(request.POST or None, initial={"lot_number": lot, "category": "18+"})
    existing_ref = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            person, _record = walk_in_record(
                session=session,
                given_by=request.user,
                name=data["name"],
                gender=data["gender"],
                birth_year=data["birth_year"],
                phone=data["phone"],
                id_type=data["id_type"],
                id_number=data["id_number"],
                category=data["category"],
                lot_number=data["lot_number"] or lot,
            )
        except ServiceError as exc:
            add_service_error(form, exc)
            existing_ref = exc.extra.get("reference_id")
        else:
            if data["lot_number"]:
                request.session[_lot_key(session)] = data["lot_number"]
            messages.success(
                request,
                _("%(name)s registered as %(ref)s and dose %(dose)s recorded.")
                % {"name": person.name, "ref": person.reference_id, "dose": session.dose},
            )
            return redirect("session_page", pk=session.pk)
    in_scope = (
        bool(existing_ref)
        and scoped(Beneficiary.objects.all(), request.user).filter(reference_id=existing_ref).exists()
    )
    context = {"session": session, "form": form, "existing_ref": existing_ref if in_scope else None}
    return render(request, "staff/walk_in.html", context, status=400 if form.errors else 200)


# --- after the dose: adverse events and undo -----------------------------------------


def _back_to_list(vaccination: Vaccination) -> str:
    if vaccination.session_id:
        return reverse("session_page", args=[vaccination.session_id])
    return reverse("staff_today")


def _scoped_vaccination(request, pk: int) -> Vaccination:
    return get_scoped(
        Vaccination.objects.select_related("beneficiary", "vaccine", "centre", "session"), request.user, pk=pk
    )


@require_http_methods(["GET", "POST"])
@require_perm("covax.vaccinate")
def vaccination_aefi(request, pk: int):
    vaccination = _scoped_vaccination(request, pk)
    form = AefiForm(request.POST or None, initial={"observed_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")})
    if request.method == "POST" and form.is_valid():
        try:
            adverse_event_record(
                vaccination=vaccination,
                severity=form.cleaned_data["severity"],
                notes=form.cleaned_data["notes"],
                observed_at=form.cleaned_data["observed_at"],
                user=request.user,
                client_id=_client_id(request),
            )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request, _("Adverse event recorded for %(name)s.") % {"name": vaccination.beneficiary.name}
            )
            return redirect(_back_to_list(vaccination))
    context = {
        "vaccination": vaccination,
        "form": form,
        "events": vaccination.adverse_events.order_by("observed_at"),
        "client_id": uuid.uuid4(),
        "back": _back_to_list(vaccination),
    }
    return render(request, "staff/aefi.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@require_perm("covax.void_vaccination")
def vaccination_undo_page(request, pk: int):
    vaccination = _scoped_vaccination(request, pk)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            vaccination_undo(vaccination=vaccination, reason=form.cleaned_data["reason"], user=request.user)
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                _("Dose %(dose)s of %(name)s was undone; they are due again.")
                % {"dose": vaccination.dose, "name": vaccination.beneficiary.name},
            )
            return redirect(_back_to_list(vaccination))
    context = {"vaccination": vaccination, "form": form, "back": _back_to_list(vaccination)}
    return render(request, "staff/undo.html", context, status=400 if form.errors else 200)
