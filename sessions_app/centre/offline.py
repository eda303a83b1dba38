"""Offline at the centre (SPEC §3): the service worker, the sync endpoint and the paper list.

The session page keeps working without a network (static/js/offline.js, static/js/sw.js):
doses and adverse events marked offline are queued on the device, each with a UUID
client_id and the device's time, and sent here one by one, in order, when the network
returns. Each action goes through the SAME services as the pages and the API
(vaccination_record, adverse_event_record), so a repeated or interrupted sync replays
the record that client_id already wrote and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from functools import lru_cache, wraps
from pathlib import Path

from django.contrib.staticfiles import finders
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from beneficiaries.identity import ID_TYPE_CHOICES
from beneficiaries.models import Beneficiary
from covax.accounts.scope import get_scoped
from covax.errors import RuleBroken, ServiceError
from sessions_app.doses.aefi import adverse_event_record
from sessions_app.doses.services import vaccination_record_in_session, vaccination_summary
from sessions_app.models import AefiSeverity, Session, Source, Vaccination
from sessions_app.planning.selectors import session_list
from sessions_app.views import require_perm

# --- the service worker ----------------------------------------------------------------

# What a centre needs to draw its pages with no network: styles, the Devanagari font,
# htmx, the IndexedDB wrapper and the page scripts.
SHELL = [
    "css/covax.css",
    "css/offline.css",
    "vendor/fonts/noto-sans-devanagari.css",
    "vendor/fonts/noto-sans-devanagari-5.3.0-devanagari-400.woff2",
    "vendor/fonts/noto-sans-devanagari-5.3.0-devanagari-700.woff2",
    "vendor/fonts/noto-sans-devanagari-5.3.0-latin-400.woff2",
    "vendor/fonts/noto-sans-devanagari-5.3.0-latin-700.woff2",
    "vendor/htmx-2.0.11.min.js",
    "vendor/idb-8.0.4.umd.js",
    "js/covax.js",
    "js/offline.js",
]
WORKER = "js/sw.js"


def _stamp(path: str) -> tuple[str, float, int]:
    found = finders.find(path)
    if not found:
        return (path, 0.0, 0)
    stat = Path(found).stat()
    return (found, stat.st_mtime, stat.st_size)


@lru_cache(maxsize=4)
def _worker_source(stamps: tuple[tuple[str, float, int], ...]) -> str:
    """sw.js with its configuration on top. The version is a hash of every shell file,
    so a changed script or stylesheet changes the worker's bytes: the browser installs
    the new worker and it fetches the new shell (static URLs carry no hash here)."""
    digest = hashlib.sha256()
    for found, _mtime, _size in stamps:
        if Path(found).is_file():
            digest.update(Path(found).read_bytes())
    config = {"version": digest.hexdigest()[:16], "shell": [static(p) for p in SHELL]}
    worker = Path(finders.find(WORKER)).read_text(encoding="utf-8")
    return f"self.COVAX_SW = {json.dumps(config)};\n{worker}"


@require_GET
def service_worker(request):
    """The service worker, served from the site's root so that its scope covers the
    staff pages (/staff/, /sessions/…). Never cached by HTTP: the browser must see a new
    version as soon as it is deployed."""
    body = _worker_source(tuple(_stamp(p) for p in [*SHELL, WORKER]))
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache, max-age=0"
    response["Service-Worker-Allowed"] = "/"
    return response


# --- strings and settings for the page script -----------------------------------------


def offline_context(session: Session | None = None) -> dict:
    """What the page script needs, translated here (JavaScript has no gettext): the
    strings it shows, and for a session page the URLs it posts to."""
    strings = {
        "offline": _("Offline. Doses are saved on this device and sent when the network returns."),
        "online": _("Online."),
        "unreachable": _("The server cannot be reached. Doses are saved on this device and sent when it is back."),
        "signedOut": _("Sign in again to send what is waiting on this device."),
        "waiting": _("Waiting to be sent: %(n)s."),
        "allSent": _("Everything marked on this device has been sent."),
        "refusedCount": _("Refused: %(n)s — see the list below."),
        "sending": _("Sending…"),
        "stateWaiting": _("Waiting to be sent"),
        "stateSent": _("Sent"),
        "stateRefused": _("Refused"),
        "dose": _("Dose %(dose)s"),
        "aefi": _("Adverse event"),
        "vaccinated": _("Vaccinated"),
        "acknowledge": _("Seen — remove"),
        "cancel": _("Not given — remove"),
        "cancelAsk": _("Remove this dose from the queue? Only if it was NOT given."),
        "givenAt": _("given at %(time)s"),
        "refusedReason": _("Refused: %(reason)s"),
        "failedGeneric": _("The server refused this record."),
        "verifyOne": _(
            "%(name)s matches the ID type, last 4, name and birth year. Check the photo on the ID card, then mark."
        ),
        "verifyMany": _("%(n)s people match. Ask for the mobile number or the reference id to tell them apart."),
        "verifyNone": _(
            "No one on this list matches. Do not mark: write the person on the printed list, or verify online later."
        ),
        "verifyIncomplete": _("Give the ID type, the last 4 characters of the ID, the name and the year of birth."),
        "walkInOffline": _(
            "Walk-ins need the network (their ID is checked on the server). Write them on the printed list;"
            " paper records come back through the vaccinations upload."
        ),
        "signOutAsk": _("%(n)s records on this device are not sent yet. They stay here and are sent later. Sign out?"),
        "sentCount": _("Sent from this device: %(n)s"),
    }
    context = {"offline_strings": strings, "id_type_choices": ID_TYPE_CHOICES, "severity_choices": AefiSeverity.choices}
    if session is not None:
        context |= {
            "sync_url": reverse("session_sync", args=[session.pk]),
            "aefi_url_zero": reverse("vaccination_aefi", args=[0]),
            # When the server drew this list (a number, compared in the page with the
            # list the device kept: a copy the worker kept is older than what it learnt since).
            "rendered_at": f"{timezone.now().timestamp():.6f}",
        }
    return context


# --- the sync endpoint -----------------------------------------------------------------


def _json_error(status: int, code: str, detail: str, **extra) -> JsonResponse:
    return JsonResponse({"code": code, "detail": detail, **extra}, status=status)


def _signed_in_staff(view):
    """Like require_perm, but a script gets JSON, never a redirect to the login page:
    the device keeps its queue and says "sign in again"."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return _json_error(401, "signed_out", _("Sign in again to send what is waiting on this device."))
        if not request.user.has_perm("covax.vaccinate"):
            return _json_error(403, "forbidden", _("You may not record doses."))
        try:
            return view(request, *args, **kwargs)
        except Http404:
            return _json_error(404, "not_found", _("This session or person is not in your scope."))

    return wrapped


class BadField(Exception):
    def __init__(self, field: str, detail: str):
        super().__init__(detail)
        self.field, self.detail = field, detail


def _uuid(data: dict, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(data.get(field, "")))
    except ValueError:
        raise BadField(field, _("%(field)s must be a UUID.") % {"field": field}) from None


def _when(data: dict, field: str) -> dt.datetime:
    text = str(data.get(field, ""))
    try:
        value = parse_datetime(text) if text.isprintable() else None  # NUL bytes never reach the database
    except ValueError:  # well formed but impossible, e.g. month 13
        value = None
    if value is None:
        raise BadField(field, _("%(field)s must be a date and time (ISO 8601).") % {"field": field})
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def _sync_dose(request, session: Session, data: dict) -> JsonResponse:
    client_id = _uuid(data, "client_id")
    administered_at = _when(data, "administered_at")
    person = get_scoped(Beneficiary.objects.all(), request.user, reference_id=str(data.get("reference_id", ""))[:20])
    record, created = vaccination_record_in_session(
        session=session,
        beneficiary=person,
        source=Source.OFFLINE,
        lot_number=str(data.get("lot_number", ""))[:50],
        administered_at=administered_at,
        client_id=client_id,
        given_by=request.user,
        device_day=session.date,  # a queued dose was given on its session's day
    )
    answer = {"status": "recorded" if created else "replayed", "vaccination": vaccination_summary(record)}
    return JsonResponse(answer, status=201 if created else 200)


def _dose_for_event(request, session: Session, data: dict) -> Vaccination:
    """The dose an offline adverse event belongs to: by its client_id when the dose was
    itself marked offline (it was sent just before, in order), else by its id."""
    doses = Vaccination.objects.select_related("beneficiary")
    if data.get("dose_client_id"):
        dose_client_id = _uuid(data, "dose_client_id")
        found = doses.filter(client_id=dose_client_id, session=session).first()
        if found is None:
            raise RuleBroken(
                _(
                    "The dose this event belongs to was not recorded, so the event cannot be attached to it."
                    " Write it down and tell the district AEFI officer."
                ),
                code="dose_not_recorded",
            )
        return get_scoped(doses, request.user, pk=found.pk)
    try:
        pk = int(data.get("vaccination", ""))
    except (TypeError, ValueError):
        raise BadField("vaccination", _("Give dose_client_id or vaccination.")) from None
    return get_scoped(doses, request.user, pk=pk, session=session)


def _sync_event(request, session: Session, data: dict) -> JsonResponse:
    client_id = _uuid(data, "client_id")
    observed_at = _when(data, "observed_at")
    vaccination = _dose_for_event(request, session, data)
    event, created = adverse_event_record(
        vaccination=vaccination,
        severity=str(data.get("severity", "")),
        notes=str(data.get("notes", ""))[:2000],
        observed_at=observed_at,
        user=request.user,
        client_id=client_id,
    )
    answer = {
        "status": "recorded" if created else "replayed",
        "event": {"id": event.pk, "vaccination": vaccination.pk, "severity": event.severity},
    }
    return JsonResponse(answer, status=201 if created else 200)


SYNC_KINDS = {"dose": _sync_dose, "aefi": _sync_event}


@never_cache
@require_http_methods(["GET", "POST"])
@_signed_in_staff
def session_sync(request, pk: int):
    """GET: is this device still signed in, and may it send to this session? POST: one
    queued action as JSON ({"kind": "dose"|"aefi", "client_id", …}); answers 201 for a new
    record, 200 for a replayed client_id, 400/404/409/422 with {code, detail} to show."""
    session = get_scoped(Session.objects.select_related("centre", "vaccine"), request.user, pk=pk)
    if request.method == "GET":
        return JsonResponse({"session": session.pk, "server_time": timezone.now().isoformat()})
    try:
        data = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _json_error(400, "invalid_json", _("The body must be a JSON object."))
    if not isinstance(data, dict):
        return _json_error(400, "invalid_json", _("The body must be a JSON object."))
    handler = SYNC_KINDS.get(data.get("kind"))
    if handler is None:
        return _json_error(400, "invalid", _("kind must be dose or aefi."), field="kind")
    try:
        return handler(request, session, data)
    except BadField as exc:
        return _json_error(400, "invalid", exc.detail, field=exc.field)
    except ServiceError as exc:
        return _json_error(exc.status, exc.code, str(exc.detail), **_plain(exc.extra))


def _plain(extra: dict) -> dict:
    """The facts a ServiceError carries, as JSON-safe values."""
    return {k: v for k, v in extra.items() if isinstance(v, (str, int, float, bool, dict, list, type(None)))}


# --- the paper fallback ----------------------------------------------------------------


def _upload_url() -> str | None:
    """The uploads page, where paper records come back (the `vaccinations` upload), if
    this installation has it."""
    try:
        return reverse("upload_list")
    except NoReverseMatch:
        return None


BLANK_ROWS = 10


@require_GET
@require_perm("covax.vaccinate")
def session_print(request, pk: int):
    session = get_scoped(Session.objects.select_related("centre", "vaccine"), request.user, pk=pk)
    entries = session_list(session=session)
    id_types = dict(ID_TYPE_CHOICES)
    context = {
        "session": session,
        "due": [(e, id_types.get(e.id_type, e.id_type)) for e in entries if e.status == "due"],
        "done_total": sum(1 for e in entries if e.status == "vaccinated"),
        "blank_rows": range(BLANK_ROWS),
        # The uploads page is the district's (beneficiaries.views_uploads); staff are told who uploads.
        "upload_url": _upload_url() if request.user.has_perm("covax.view_reports") else None,
        "now_time": timezone.localtime().strftime("%H:%M"),
        **offline_context(),
    }
    return render(request, "staff/print.html", context)
