"""State changes for people: registration (one at a time; bulk is in uploads)."""

from __future__ import annotations

import secrets

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from beneficiaries.identity import IdentityError, identify, normalise_name, normalise_phone
from beneficiaries.models import Beneficiary, Category, Gender
from covax.errors import Conflict, ServiceError
from sessions_app.models import Centre, District


def reference_id_new() -> str:
    """A random 14-digit reference id (the unique constraint catches the rare clash)."""
    return str(10**13 + secrets.randbelow(9 * 10**13))


def identity_error(exc: IdentityError) -> ServiceError:
    return ServiceError(str(exc), code="invalid", field=exc.field)


def _duplicate_identity(existing: Beneficiary) -> Conflict:
    return Conflict(
        _("A person with this ID is already registered as %(ref)s.") % {"ref": existing.reference_id},
        code="duplicate_identity",
        reference_id=existing.reference_id,
    )


def check_person_fields(*, gender: str, birth_year: int, category: str) -> None:
    this_year = timezone.localdate().year
    if gender not in Gender.values:
        raise ServiceError(_("Gender must be M, F or O."), field="gender")
    if not (this_year - 120 <= int(birth_year) <= this_year):
        raise ServiceError(_("Birth year %(year)s is not plausible.") % {"year": birth_year}, field="birth_year")
    if category not in Category.values:
        raise ServiceError(
            _("Category must be one of %(values)s.") % {"values": ", ".join(Category.values)}, field="category"
        )


def beneficiary_create(
    *,
    name: str,
    gender: str,
    birth_year: int,
    phone: str,
    id_type: str,
    id_number: str,
    category: str,
    district: District,
    employer: str = "",
    preferred_centre: Centre | None = None,
) -> Beneficiary:
    """Register one person. Raises Conflict `duplicate_identity` with the existing reference id."""
    try:
        identity = identify(id_type, id_number)
        phone_e164 = normalise_phone(phone)
    except IdentityError as exc:
        raise identity_error(exc) from None
    name = normalise_name(name)
    if not name:
        raise ServiceError(_("Name is missing."), field="name")
    check_person_fields(gender=gender, birth_year=birth_year, category=category)
    if preferred_centre is not None and preferred_centre.district_id != district.pk:
        raise ServiceError(_("The preferred centre is not in this district."), field="centre")
    existing = Beneficiary.objects.filter(id_type=identity.id_type, id_hash=identity.id_hash).first()
    if existing:
        raise _duplicate_identity(existing)
    person = Beneficiary(
        name=name,
        gender=gender,
        birth_year=int(birth_year),
        phone=phone_e164,
        id_type=identity.id_type,
        id_hash=identity.id_hash,
        id_last4=identity.id_last4,
        category=category,
        employer=employer.strip(),
        district=district,
        preferred_centre=preferred_centre,
    )
    for _attempt in range(5):
        person.reference_id = reference_id_new()
        try:
            with transaction.atomic():
                person.save(force_insert=True)
            return person
        except IntegrityError:
            # Either a concurrent registration of the same ID won (report it) or the
            # random reference id clashed (try another).
            existing = Beneficiary.objects.filter(id_type=identity.id_type, id_hash=identity.id_hash).first()
            if existing:
                raise _duplicate_identity(existing) from None
            person.pk = None
    raise ServiceError(_("Could not allocate a reference id; try again."), code="try_again", status=503)
