"""State changes for places and vaccines: states, districts, centres (SPEC §3 Places), vaccines."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext_noop

from covax import reasons
from covax.errors import Conflict, ServiceError
from sessions_app.models import (
    Centre,
    District,
    State,
    Vaccine,
)


def state_create(*, name: str, name_hi: str, code: str) -> State:
    state = State(name=name.strip(), name_hi=name_hi.strip(), code=code.strip().upper())
    _save(state, State.objects.filter(Q(name=state.name) | Q(code=state.code)))
    return state


def district_create(*, state: State, name: str, name_hi: str) -> District:
    district = District(state=state, name=name.strip(), name_hi=name_hi.strip())
    _save(district, District.objects.filter(state=state, name=district.name))
    return district


def centre_create(*, district: District, name: str, **fields: Any) -> Centre:
    centre = Centre(district=district, name=name.strip(), **fields)
    _check_centre(centre)
    _save(centre, _same_name(centre))
    return centre


def centre_update(*, centre: Centre, **fields: Any) -> Centre:
    """Change a centre; a name another centre of its district has is Conflict
    `already_exists`, whether found first or refused by the unique index."""
    for key, value in fields.items():
        setattr(centre, key, value)
    _check_centre(centre)
    _save(centre, _same_name(centre))
    return centre


def _same_name(centre: Centre) -> QuerySet[Centre]:
    return Centre.objects.filter(district_id=centre.district_id, name=centre.name).exclude(pk=centre.pk)


def _save(obj: Model, clash: QuerySet) -> None:
    """Save `obj`, unless `clash` (what already holds its name or code) finds something:
    Conflict `already_exists`. Looked for first for the message; two requests at once
    both pass that look, and the unique index refuses the second: told the same way."""
    if clash.exists():
        raise _already_exists()
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError:
        if clash.exists():
            raise _already_exists() from None
        raise


def _already_exists() -> Conflict:
    return Conflict(
        reasons.reason(gettext_noop("Something with the same name or code exists already.")),
        code="already_exists",
        field="name",
    )


def _check_centre(centre: Centre) -> None:
    if centre.opens and centre.closes and centre.opens >= centre.closes:
        raise ServiceError(reasons.reason(gettext_noop("The centre must open before it closes.")), field="closes")
    if centre.fee_type == "Free" and centre.fees:
        raise ServiceError(reasons.reason(gettext_noop("A free centre cannot charge fees.")), field="fees")
    if centre.fee_type == "Paid" and not centre.fees:
        raise ServiceError(
            reasons.reason(gettext_noop('A paid centre needs its fee per vaccine, e.g. {"COVISHIELD": 780}.')),
            field="fees",
        )
    unknown = set(centre.fees) - set(Vaccine.objects.filter(code__in=list(centre.fees)).values_list("code", flat=True))
    if unknown:
        raise ServiceError(
            reasons.reason(gettext_noop("Unknown vaccine in fees: %s.")) % ", ".join(sorted(unknown)), field="fees"
        )


def vaccine_create(
    *, code: str, name: str, doses: int, min_interval_days: int, max_interval_days: int | None = None
) -> Vaccine:
    if max_interval_days is not None and max_interval_days < min_interval_days:
        raise ServiceError(
            reasons.reason(gettext_noop("The maximum interval cannot be shorter than the minimum.")),
            field="max_interval_days",
        )
    vaccine = Vaccine(
        code=code.strip().upper(),
        name=name.strip(),
        doses=doses,
        min_interval_days=min_interval_days,
        max_interval_days=max_interval_days,
    )
    _save(vaccine, Vaccine.objects.filter(code=vaccine.code))
    return vaccine
