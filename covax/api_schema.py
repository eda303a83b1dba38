"""The OpenAPI schema of API v1 tells the truth about errors too (SPEC §4).

Every error answers `{code, detail, …}` (the `Error` component). Each operation lists
the error statuses it can give and, for each, the `code` values (an enum) with what
they mean. Most of them follow from the operation itself (a body can be malformed, a
path id can be out of scope, a write needs a role, a token can be missing); the codes
a service raises are declared by the view in `api_errors = {action: [code, …]}` and
looked up in ERRORS below, the one list of error codes of the API.

The fuzz test (tests/test_api_fuzz.py) holds the schema to this: an answer whose
status is not documented, or whose `code` is not in the enum, fails it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS


@dataclass(frozen=True)
class ApiError:
    status: int
    meaning: str
    example: str
    extra: dict[str, Any] = field(default_factory=dict)  # properties this code adds to the body


_VACCINATION_SUMMARY = {
    "type": "object",
    "description": "With `already_vaccinated`: the record that exists (id, dose, vaccine, centre, "
    "centre_name, administered_at, received_at, source).",
    "additionalProperties": True,
}

ERRORS: dict[str, ApiError] = {
    # 400: the request itself is wrong.
    "invalid": ApiError(
        400,
        "A field or parameter is wrong: `errors` maps each field to its messages (or `field` names it).",
        "date: Enter a date as YYYY-MM-DD.",
    ),
    "parse_error": ApiError(400, "The body is not valid JSON (or multipart form data).", "JSON parse error."),
    "invalid_credentials": ApiError(
        400, "Wrong username or password, or locked out after too many failures.", "Wrong username or password."
    ),
    "cannot_change_self": ApiError(400, "You cannot switch off your own account.", "You cannot switch off…"),
    "reason_required": ApiError(400, "Voiding a dose needs a reason.", "Give a reason for voiding this dose."),
    "invalid_keep": ApiError(400, "`keep` is not one of the pair.", "Keep one of the two people of this pair."),
    "invalid_resolution": ApiError(400, "`resolutions` is malformed or names a record not shown.", "…"),
    "unsupported_file": ApiError(400, "Not a .csv or .xlsx file.", "Upload a .csv or .xlsx file."),
    "empty_file": ApiError(400, "The file is empty.", "The file is empty."),
    # 401, 403, 404: who you are and where you may look.
    "not_authenticated": ApiError(401, "No token was sent.", "Authentication credentials were not provided."),
    "authentication_failed": ApiError(401, "The token is unknown, or its user was switched off.", "Invalid token."),
    "permission_denied": ApiError(
        403, "Your role may not do this (SPEC §2).", "You do not have permission to perform this action."
    ),
    "not_found": ApiError(
        404, "No such object in your scope (outside it reads the same), or no such page.", "Not found."
    ),
    # 409: the request clashes with what exists.
    "duplicate_identity": ApiError(
        409,
        "A person with this ID is registered: `reference_id` names them.",
        "A person with this ID is already registered as 12345678901234.",
        {"reference_id": {"type": "string", "description": "With `duplicate_identity`: the existing person."}},
    ),
    "already_vaccinated": ApiError(
        409,
        "This dose is recorded already: `existing` is that record.",
        "Dose 1 was already recorded on 16-01-2021 at Jindal Hospital.",
        {"existing": _VACCINATION_SUMMARY},
    ),
    "client_id_reused": ApiError(409, "This client_id was used for another record.", "…send a new one."),
    "already_voided": ApiError(409, "The dose was voided already.", "This dose was already voided."),
    "already_exists": ApiError(409, "Something with the same name or code exists already.", "…exists already."),
    "username_taken": ApiError(409, "Another user has this username.", "The username hisar2 is taken."),
    "already_rolled_back": ApiError(409, "The upload was rolled back already.", "This upload was already rolled back."),
    "running": ApiError(409, "The upload is still queued or running.", "This upload is still running…"),
    "merge_conflict": ApiError(
        409,
        "Both people hold the same dose or allocation: choose in `resolutions`; `conflicts` lists them.",
        "Both people hold the same dose or allocation…",
        {"conflicts": {"type": "array", "items": {}, "description": "With `merge_conflict`."}},
    ),
    "already_decided": ApiError(
        409, "The pair was merged or marked distinct already.", "This pair was already decided."
    ),
    "already_merged": ApiError(409, "One of the two was merged into someone else.", "…undo that merge first."),
    "unmerge_blocked": ApiError(
        409, "New doses or allocations since the merge stand in the way.", "…undo those first."
    ),
    "not_merged": ApiError(409, "The pair is not merged.", "This pair is not merged."),
    "merged_later": ApiError(409, "The kept person was merged again later.", "…undo that merge first."),
    "not_distinct": ApiError(409, "Only a pair marked distinct can be reopened.", "Only a pair marked distinct…"),
    "try_again": ApiError(409, "A momentary clash or failure; send the same request again.", "Please try again."),
    # 413, 415: the body's size or kind.
    "file_too_large": ApiError(413, "The file is over the upload limit.", "The file is 250 MB; at most 200 MB…"),
    "unsupported_media_type": ApiError(415, "The body's Content-Type is not one listed.", "Unsupported media type."),
    # 422: a domain rule refuses the request (SPEC §3).
    "previous_dose_missing": ApiError(422, "Dose N−1 is not recorded.", "Dose 1 is not recorded, so dose 2…"),
    "vaccine_mismatch": ApiError(422, "Dose N−1 was another vaccine.", "Dose 1 was COVAXIN; dose 2 must be…"),
    "dose_not_due": ApiError(
        422,
        "The minimum interval since dose N−1 has not passed: `due_on` says when it has.",
        "Dose 2 is due from 13-02-2021 (28 days after dose 1).",
        {"due_on": {"type": "string", "format": "date", "description": "With `dose_not_due`."}},
    ),
    "invalid_dose": ApiError(422, "The vaccine has no such dose number.", "COVAXIN has 2 doses; there is no dose 3."),
    "session_mismatch": ApiError(422, "The session is for another centre, vaccine or dose.", "This session is for…"),
    "session_cancelled": ApiError(422, "The session was cancelled.", "This session was cancelled."),
    "session_closed": ApiError(422, "The session is closed or cancelled.", "This session is Closed; nobody…"),
    "administered_in_future": ApiError(422, "The time the dose was given is in the future.", "…in the future."),
    "beneficiary_merged": ApiError(422, "The person was merged into another record.", "…record the dose there."),
    "later_dose_recorded": ApiError(422, "A later dose is recorded; void that one first.", "…void that one first."),
    "invalid_status_change": ApiError(422, "This status cannot follow the current one.", "A Cancelled session…"),
    "capacity_below_allocated": ApiError(
        422, "More people are allocated than the new capacity.", "4 people are already allocated…"
    ),
    # 429: come back later.
    "throttled": ApiError(429, "Too many requests: wait `Retry-After` seconds.", "Request was throttled."),
    "locked_out": ApiError(
        429,
        "Too many wrong passwords for this username from this address: wait `Retry-After` seconds.",
        "Too many wrong passwords for this account from this device. Try again in 30 minutes…",
    ),
}

_STATUS_TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported media type",
    422: "Refused by a rule",
    429: "Too many requests",
    503: "Unavailable for a moment",
}

_STANDARD_SUMMARIES = {
    "list": "{many} (paginated, filtered, ordered)",
    "create": "new {one}",
    "retrieve": "one {one}",
    "partial_update": "change one {one}",
}

_HEADERS = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Token`: send `Authorization: Token …`."}},
    429: {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}},
}


class ErrorSerializer(serializers.Serializer):
    """Every error of API v1 (SPEC §4)."""

    code = serializers.CharField(help_text="A stable machine word; each operation lists its own.")
    detail = serializers.CharField(help_text="A sentence a person can act on (in Hindi with Accept-Language: hi).")
    errors = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        help_text="With `invalid`: each field or parameter at fault and its messages.",
    )
    field = serializers.CharField(required=False, help_text="The field at fault, when the check was a service's.")

    class Meta:
        ref_name = "Error"


def _code_status(code: str) -> tuple[str, int]:
    if "@" in code:  # "try_again@503": a code answered under another status here
        name, status = code.split("@")
        return name, int(status)
    return code, ERRORS[code].status


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's AutoSchema, plus the error answers of every v1 operation."""

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None or not path.startswith("/api/v1/"):
            return operation
        responses = operation["responses"]
        for status, codes in sorted(self._error_codes(operation).items()):
            responses[str(status)] = self._error_response(status, codes)
        return operation

    def get_summary(self) -> str | None:
        # The first line of the action's docstring, or a plain one for the standard actions.
        action = getattr(self.view, "action", None)
        doc = getattr(getattr(self.view, action or "", None), "__doc__", None)
        if doc:  # its first sentence
            return doc.strip().splitlines()[0].split(". ")[0].rstrip(".")
        model = getattr(getattr(self.view, "queryset", None), "model", None)
        if action in _STANDARD_SUMMARIES and model is not None:
            return (
                _STANDARD_SUMMARIES[action]
                .format(one=model._meta.verbose_name, many=model._meta.verbose_name_plural)
                .capitalize()
            )
        return None

    def _declared(self) -> list[str]:
        # `api_errors` of the view and of every class it builds on (ScopedViewSet's create).
        action = getattr(self.view, "action", None) or self.method.lower()
        codes: list[str] = []
        for klass in type(self.view).__mro__:
            codes += vars(klass).get("api_errors", {}).get(action, [])
        return codes

    def _error_codes(self, operation: dict) -> dict[int, list[str]]:
        codes: list[str] = []
        has_body = "requestBody" in operation
        params = {p["name"]: p["in"] for p in operation.get("parameters", [])}
        if has_body:
            codes += ["invalid", "parse_error", "unsupported_media_type"]
        if any(where == "query" and name not in ("page", "page_size", "ordering") for name, where in params.items()):
            codes.append("invalid")
        if {} not in operation.get("security", [{}]):
            codes += ["not_authenticated", "authentication_failed"]
            if self.method not in SAFE_METHODS or self._action_perm():
                codes.append("permission_denied")  # the role's rule, or CSRF for cookie sessions
        if "path" in params.values() or "page" in params:
            codes.append("not_found")
        if self.view.get_throttles():
            codes.append("throttled")
        codes += self._declared()
        by_status: dict[int, list[str]] = {}
        for code in codes:
            name, status = _code_status(code)
            if name not in by_status.setdefault(status, []):
                by_status[status].append(name)
        return by_status

    def _action_perm(self) -> bool:
        return getattr(self.view, "action", None) in getattr(self.view, "action_perms", {})

    def _error_response(self, status: int, codes: list[str]) -> dict:
        error = self.resolve_serializer(ErrorSerializer, "response").ref
        extra: dict[str, Any] = {}
        for code in codes:
            extra.update(ERRORS[code].extra)
        narrowed = {"type": "object", "properties": {"code": {"type": "string", "enum": codes}, **extra}}
        lines = [f"- `{code}`: {ERRORS[code].meaning}" for code in codes]
        examples = {code: {"value": {"code": code, "detail": ERRORS[code].example}, "summary": code} for code in codes}
        response = {
            "description": f"{_STATUS_TITLES.get(status, 'Error')}. `code` is one of:\n" + "\n".join(lines),
            "content": {"application/json": {"schema": {"allOf": [error, narrowed]}, "examples": examples}},
        }
        if status in _HEADERS:
            response["headers"] = _HEADERS[status]
        return response


DESCRIPTION = """\
The REST API of covax for state IT teams' scripts and dashboards (SPEC §4).

**Sign in.** `POST /api/v1/auth/token/` with `{"username", "password"}` returns `{"token"}`;
send it as `Authorization: Token <token>` on every request.

**Scope.** You see and change only what your role's place holds (state, district or
centre). An object outside it answers 404 exactly like one that does not exist; an id
outside it in a body or a filter is "invalid" like an unknown id.

**Errors** are JSON `{code, detail}` (the `Error` component): `code` is a stable machine
word, listed with its meaning under each operation's answers; `detail` is a sentence a
person can act on (Hindi with `Accept-Language: hi`). Field errors add `errors`.

**Lists** are paginated (`count`, `next`, `previous`, `results`; `?page=`, `?page_size=` up
to 1000), filtered by the parameters each list names, and ordered with `?ordering=field`
(`-field` for descending).

**References.** States, districts, centres, sessions, uploads and users by integer `id`; a
person by their 14-digit `reference_id`; a vaccine by its `code` (`COVISHIELD`). Dates are
`YYYY-MM-DD`, times ISO 8601. Full ID numbers are accepted on the way in and never answered.

**Idempotency.** Send a `client_id` (UUID) with a dose: the same key again returns the same
record (200) and writes nothing.
"""

TAGS = [
    {"name": "auth", "description": "Exchange a username and password for a token."},
    {"name": "users", "description": "Admins create users within their scope and switch them off or on."},
    {"name": "states", "description": "States (superusers create them)."},
    {"name": "districts", "description": "Districts of a state."},
    {"name": "centres", "description": "Vaccination centres, with what CoWIN publishes about them."},
    {"name": "vaccines", "description": "Vaccines: doses and intervals. National reference data."},
    {"name": "beneficiaries", "description": "People: register, find (also by ID number, through its hash)."},
    {"name": "sessions", "description": "Plan sessions, allocate people, read the session list."},
    {"name": "vaccinations", "description": "Record doses (idempotent), read and void them."},
    {"name": "uploads", "description": "CSV/XLSX uploads of people or back-filled doses, their progress and rollback."},
    {"name": "duplicates", "description": "Probable duplicates: review, merge, mark distinct, undo."},
    {"name": "reports", "description": "Per-session turnout and coverage by day and category."},
]


def postprocess(result: dict, generator, request, public) -> dict:
    """drf-spectacular hook: the API's description and its tags, in reading order."""
    result["info"]["description"] = DESCRIPTION
    used = {tag for item in result["paths"].values() for op in item.values() for tag in op.get("tags", [])}
    result["tags"] = [tag for tag in TAGS if tag["name"] in used]
    return result
