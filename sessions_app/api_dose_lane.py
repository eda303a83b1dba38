"""The quick lane of `POST /api/v1/vaccinations/` (SPEC §6: dose marking sustains half
the rate of a bare view).

Centres mark doses all day, through scripts and devices that send the same well-formed
request every time. For such a request DRF's cycle (its request wrapper, content
negotiation, a serializer that deep-copies and binds nine fields, the response's
rendering through negotiation) costs about 1 ms of CPU on the 2-core box: as much as
the dose rules and their statements together (bench/http.py measures it).

So a request that is plainly well formed takes this lane: a token, a JSON object, and
values that the serializer would take as they are. The lane then does what DRF would
do, with the same parts: the same permission, the same selector
(`selectors.dose_target`, which here also reads the token's user, as TokenAuthentication
would, and the person's facts), the same service (`services.vaccination_record`),
the same error handler (`covax.api.exception_handler`), the same renderer and headers.
Anything else (another way of signing in, a token that signs no one in, a value the serializer would convert or
refuse, a name that resolves to nothing, an `administered_at`) makes `answer` return
None before anything is written, and DRF answers the request exactly as it always did.
tests/test_dose_lane.py holds both lanes to the same answers.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from covax.accounts.permissions import HasRulePerm
from covax.api import exception_handler
from sessions_app import selectors, services

# VaccinationInSerializer's fields, all known here (a test holds the two to the same set);
# a request with `administered_at` goes to DRF, whose DateTimeField parses device times.
# Their limits (lengths, ranges, choices, defaults) are read from the declared fields.
FIELDS = ("beneficiary", "dose", "vaccine", "centre", "session", "lot_number", "source", "client_id", "administered_at")
_ACCEPTS = {"", "*/*", "application/json"}  # a media type with parameters (indent=4) goes to DRF
# A dose is ~250 bytes of JSON. A larger body goes to DRF, which streams it, before
# Django's request.body would refuse it whole (DATA_UPLOAD_MAX_MEMORY_SIZE).
_LARGEST_BODY = 4096


class _Declined(Exception):
    """Not plainly well formed: DRF answers it."""


def answer(view, request: HttpRequest) -> HttpResponse | None:
    """The answer to a dose request, or None to leave the request to DRF."""
    if request.content_type != "application/json" or request.content_params.get("charset", "utf-8") != "utf-8":
        return None
    if request.META.get("HTTP_ACCEPT", "") not in _ACCEPTS or not _small(request):
        return None
    key = _token(request)
    if key is None:
        return None
    try:
        fields = _fields(request.body, view.input_serializer_class._declared_fields)
    except _Declined:
        return None
    # The token's user, the references and the person's facts: one statement.
    target = selectors.dose_target(
        token=key,
        reference_id=fields["beneficiary"],
        centre_id=fields["centre"],
        vaccine_code=fields["vaccine"],
        session_id=fields["session"],
        dose=fields["dose"],
        client_id=fields.get("client_id"),
    )
    user = target.user
    if user is None or not user.is_active or not _may_mark(view, request, user):
        return None  # DRF answers 401 or 403
    if None in (target.beneficiary, target.centre, target.vaccine) or (fields["session"] and not target.session):
        return None  # DRF names what does not resolve, field by field
    fields.update(beneficiary=target.beneficiary, centre=target.centre, vaccine=target.vaccine, session=target.session)
    fields["facts"] = target.facts
    try:
        record, created = services.vaccination_record(given_by=user, **fields)
    except Exception as exc:  # as DRF's handle_exception: the project's handler answers, or it is raised
        handled = exception_handler(exc, {"view": view, "request": request})
        if handled is None:
            raise
        return _rendered(view, handled)
    data = view.get_serializer_class()().to_representation(record)  # what .data holds, unwrapped
    return _rendered(view, Response(data, status=201 if created else 200))


def _small(request: HttpRequest) -> bool:
    length = request.META.get("CONTENT_LENGTH") or "0"
    return length.isdigit() and int(length) <= _LARGEST_BODY


def _token(request: HttpRequest) -> str | None:
    """The key of a plain `Token <key>` header (anything else: DRF's authentication)."""
    scheme, _, key = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return key if scheme == "Token" and key and " " not in key else None


def _may_mark(view, request: HttpRequest, user) -> bool:
    request.user = user  # as DRF sets it: pghistory's audit context records who marked the dose
    view.action = "create"
    return HasRulePerm().has_permission(request, view)


def _fields(body: bytes, declared: Mapping[str, serializers.Field]) -> dict[str, Any]:
    """The request's fields as VaccinationInSerializer (its `declared` fields) would give
    them, for values it takes unchanged; _Declined for anything else."""
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_refuse)  # DRF's parser refuses NaN too
    except ValueError:
        raise _Declined from None
    if not isinstance(data, dict) or "administered_at" in data:
        raise _Declined
    fields = {
        "beneficiary": _text(data.get("beneficiary"), declared["beneficiary"], digits=True),
        "dose": _number(data.get("dose"), declared["dose"]),
        "vaccine": _text(data.get("vaccine"), declared["vaccine"]),
        "centre": _number(data.get("centre"), declared["centre"]),
        "session": None if data.get("session") is None else _number(data["session"], declared["session"]),
        "lot_number": _text(data.get("lot_number", declared["lot_number"].default), declared["lot_number"]),
        "source": data.get("source", declared["source"].default),
    }
    if not isinstance(fields["source"], str) or fields["source"] not in declared["source"].choices:
        raise _Declined
    if "client_id" in data:
        fields["client_id"] = _uuid(data["client_id"])
    return fields


def _refuse(_constant: str):
    raise ValueError


def _text(value, field: serializers.CharField, *, digits: bool = False) -> str:
    """A string DRF's CharField keeps as it is: no surrounding spaces to trim, nothing
    unprintable (NUL, lone surrogates), within its length."""
    if type(value) is not str or len(value) > field.max_length or (not value and not field.allow_blank):
        raise _Declined
    if value != value.strip() or not value.isprintable() or (digits and not (value.isascii() and value.isdigit())):
        raise _Declined
    return value


def _number(value, field: serializers.IntegerField) -> int:
    # Not a bool, a float or "1": DRF converts those.
    if type(value) is not int or not field.min_value <= value <= field.max_value:
        raise _Declined
    return value


def _uuid(value) -> uuid.UUID | None:
    if value is None:
        return None
    if type(value) is not str:
        raise _Declined
    try:
        return uuid.UUID(hex=value)  # what DRF's UUIDField does with a string
    except ValueError:
        raise _Declined from None


def _rendered(view, response: Response) -> HttpResponse:
    """The bytes and headers DRF would send for this Response."""
    answer = HttpResponse(JSONRenderer().render(response.data), status=response.status_code)
    answer["Content-Type"] = "application/json"
    for header, value in view.default_response_headers.items():
        answer[header] = value
    return answer
