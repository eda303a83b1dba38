"""Domain errors raised by services and shown to people by the API and the pages.

A service checks a rule first so that the person gets a message they can act on; the
database constraint behind it is the guarantee. Each error carries a stable machine
`code` (SPEC §4), an HTTP status for the API and optional facts (`extra`).
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    code = "invalid"
    status = 400

    def __init__(self, detail: str, *, code: str | None = None, status: int | None = None, **extra: Any):
        super().__init__(str(detail))
        self.detail = detail
        if code:
            self.code = code
        if status:
            self.status = status
        self.extra = extra


class NotFound(ServiceError):
    code = "not_found"
    status = 404


class Conflict(ServiceError):
    code = "conflict"
    status = 409


class RuleBroken(ServiceError):
    """A domain rule refuses the request (SPEC §4 answers these with 422)."""

    code = "rule_broken"
    status = 422
