"""Reads about people."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from beneficiaries.identity import IdentityError, identify
from beneficiaries.models import Beneficiary
from sessions_app.models import Vaccination


def beneficiary_list() -> QuerySet[Beneficiary]:
    """People with their (not voided) doses, in a fixed number of queries."""
    doses = Vaccination.objects.live().select_related("vaccine", "centre").order_by("dose")
    return (
        Beneficiary.objects.live()
        .select_related("district")
        .prefetch_related(Prefetch("vaccinations", queryset=doses, to_attr="active_doses"))
        .order_by("id")
    )


def beneficiary_by_id_number(queryset: QuerySet[Beneficiary], *, id_type: str, id_number: str) -> QuerySet[Beneficiary]:
    """Look a person up by the ID number they show, through its keyed hash.

    An ID number that is not even valid matches nobody (and is not echoed back).
    """
    try:
        identity = identify(id_type, id_number)
    except IdentityError:
        return queryset.none()
    return queryset.filter(id_type=identity.id_type, id_hash=identity.id_hash)
