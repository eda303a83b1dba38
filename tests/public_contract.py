"""Checks every public API answer against two contracts: the project's own schema
(sessions_app/public/schema.py) and, where ../shared/reference/cowin-public-api-v2.yaml
is present (it is in CI), CoWIN's published response schemas themselves."""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path

import yaml
from django.conf import settings
from jsonschema import Draft4Validator, Draft202012Validator

from sessions_app.public import schema as public_schema

# CoWIN's document lives beside the project (../shared/), never in it; CI may run from a
# clone elsewhere and names it with COVAX_COWIN_REFERENCE (.ci/run finds it).
REFERENCE = Path(
    os.environ.get("COVAX_COWIN_REFERENCE")
    or Path(settings.BASE_DIR).parent / "shared" / "reference" / "cowin-public-api-v2.yaml"
)


@functools.cache
def _reference() -> dict | None:
    if not REFERENCE.exists():
        return None
    doc = yaml.safe_load(REFERENCE.read_text())
    schemas = doc["components"]["schemas"]
    # The one documented difference (SPEC §5): the live service, and the clients written
    # against it, use integer pincodes; the April 2021 document still says string.
    # Everything else in the reference is checked as published.
    for name in ("CenterResponseSchema", "SessionCalendarEntrySchema"):
        assert schemas[name]["properties"]["pincode"]["type"] == "string"
        schemas[name]["properties"]["pincode"] = {"type": "integer"}
    return doc


def _reference_validator(schema: dict) -> Draft4Validator:
    """OpenAPI 3.0 schema objects are a draft-4 dialect; $refs resolve inside the document."""
    doc = _reference()
    root = {**copy.deepcopy(schema), "components": doc["components"]}
    return Draft4Validator(root, format_checker=Draft4Validator.FORMAT_CHECKER)


def _reference_schema(path: str, status: int) -> dict | None:
    doc = _reference()
    operation = doc["paths"].get(f"/v2/{path}", {}).get("get") if doc else None
    if not operation:
        return None
    answer = operation["responses"].get(str(status), {})
    return answer.get("content", {}).get("application/json", {}).get("schema")


def check(response, path: str, *, reference: bool = True) -> dict:
    """Validate a public answer; `path` is the template under /api/v2/ (e.g.
    "appointment/sessions/public/findByPin"). Returns the decoded body."""
    body = response.json()
    own = public_schema.RESPONSES[path] if response.status_code == 200 else public_schema.ERROR
    Draft202012Validator(own, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(body)
    if reference and _reference() is not None:
        if path.endswith("calendarByCenter") and response.status_code == 200:
            # Not in the April 2021 document; its one centre is a calendar entry there.
            if body["centers"]:
                _reference_validator({"$ref": "#/components/schemas/SessionCalendarEntrySchema"}).validate(
                    body["centers"]
                )
        elif (schema := _reference_schema(path, response.status_code)) is not None:
            _reference_validator(schema).validate(body)
    return body


def reference_present() -> bool:
    return _reference() is not None
