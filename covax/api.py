"""API plumbing shared by every endpoint: pagination and the error format.

Every error answers JSON with at least `code` (a stable machine word) and `detail`
(a sentence a person can act on), SPEC §4. Field errors add `errors: {field: [..]}`.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DataError
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.defaults import page_not_found
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from covax.errors import ServiceError


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 1000


def _first_message(data) -> str:
    if isinstance(data, list) and data:
        return _first_message(data[0])
    if isinstance(data, dict) and data:
        key, value = next(iter(data.items()))
        message = _first_message(value)
        return message if key in ("non_field_errors", "detail") else f"{key}: {message}"
    return str(data)


def not_found(request, exception=None):
    """Django's handler404: a path under /api/v1/ that matches no route (an id with a dot or
    a slash in it) answers the API's JSON error, not the HTML page."""
    if request.path.startswith("/api/v1/"):
        return JsonResponse({"code": "not_found", "detail": str(exceptions.NotFound.default_detail)}, status=404)
    return page_not_found(request, exception)


def lockout_response(request, original_response=None, credentials=None):
    """django-axes' answer to a locked-out sign-in (AXES_LOCKOUT_CALLABLE): the API's JSON
    error with Retry-After for the token endpoint, the lockout page for the login form."""
    from axes.helpers import get_cool_off

    detail = _(
        "Too many wrong passwords for this account from this device. "
        "Try again in 30 minutes, or ask your district officer to unlock it."
    )
    if request.path.startswith("/api/"):
        response = JsonResponse({"code": "locked_out", "detail": detail}, status=429)
        cool_off = get_cool_off(request)
        if cool_off:
            response["Retry-After"] = str(int(cool_off.total_seconds()))
        return response
    return render(request, settings.AXES_LOCKOUT_TEMPLATE, status=429)


_JSON_ERROR = "JSON parse error - "


def exception_handler(exc, context):
    if isinstance(exc, ServiceError):
        body = {"code": exc.code, "detail": str(exc.detail), **exc.extra}
        return Response(body, status=exc.status)
    if isinstance(exc, DataError):
        # A value the database cannot hold (NUL bytes, out-of-range numbers) that slipped
        # past validation: the caller's input is at fault, not the server.
        body = {
            "code": "invalid",
            "detail": _("A value in the request cannot be stored (for example a NUL character)."),
        }
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, exceptions.ParseError) and str(exc.detail).startswith(_JSON_ERROR):
        # DRF writes this one without gettext: translated here, the parser's words kept.
        exc = exceptions.ParseError(_("JSON parse error - {detail}").format(detail=str(exc.detail)[len(_JSON_ERROR) :]))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {
            "code": "invalid",
            "detail": _first_message(exc.detail),
            "errors": exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail},
        }
        response.status_code = status.HTTP_400_BAD_REQUEST
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        response.data = {"code": code, "detail": str(exc.detail)}
    return response
