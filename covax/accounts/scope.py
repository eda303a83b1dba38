"""Where a user may look and act: the one place scope is enforced (SPEC §2).

Every API view and page filters its queryset through `scoped()` and looks objects up
with `get_scoped()`, so an object outside a user's scope is simply not there: 404,
never 403 (which would confirm it exists) and never the data.

Each model names the lookup from itself to its state, its district and (where it has
one) its centre. A centre's staff see what belongs to their centre, or, for models
that have no centre (people, uploads), what belongs to their centre's district.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from django.db.models import Model, Q, QuerySet
from django.http import Http404

from covax.accounts.models import Role

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Paths:
    state: str
    district: str
    centre: str | None = None


# model label -> lookups from that model to its place
SCOPE_PATHS: dict[str, Paths] = {
    "sessions_app.state": Paths(state="pk", district="districts", centre="districts__centres"),
    "sessions_app.district": Paths(state="state", district="pk", centre="centres"),
    "sessions_app.centre": Paths(state="district__state", district="district", centre="pk"),
    "sessions_app.session": Paths(state="centre__district__state", district="centre__district", centre="centre"),
    "sessions_app.allocation": Paths(
        state="session__centre__district__state", district="session__centre__district", centre="session__centre"
    ),
    "sessions_app.vaccination": Paths(state="centre__district__state", district="centre__district", centre="centre"),
    "sessions_app.adverseevent": Paths(
        state="vaccination__centre__district__state",
        district="vaccination__centre__district",
        centre="vaccination__centre",
    ),
    "beneficiaries.beneficiary": Paths(state="district__state", district="district"),
    "beneficiaries.upload": Paths(state="district__state", district="district"),
    "beneficiaries.duplicatecandidate": Paths(state="district__state", district="district"),
}


def scope_q(model: type[Model], user) -> Q | None:
    """The filter that limits `model` to `user`'s scope; None means no limit."""
    if not user or not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if user.is_superuser or user.role == Role.SUPERUSER:
        return None
    if model._meta.label_lower == "accounts.user":
        return _user_scope(user)
    paths = SCOPE_PATHS[model._meta.label_lower]
    if user.role == Role.STATE_ADMIN:
        return Q(**{paths.state: user.state_id})
    if user.role == Role.DISTRICT_OFFICER:
        return Q(**{paths.district: user.district_id})
    if user.role == Role.CENTRE_STAFF:
        if paths.centre:
            return Q(**{paths.centre: user.centre_id})
        return Q(**{paths.district: user.centre.district_id})
    return Q(pk__in=[])


def _user_scope(user) -> Q:
    # Admins see the users they could have created; everyone sees themselves.
    own = Q(pk=user.pk)
    if user.role == Role.STATE_ADMIN:
        return (
            own | Q(state=user.state_id) | Q(district__state=user.state_id) | Q(centre__district__state=user.state_id)
        )
    if user.role == Role.DISTRICT_OFFICER:
        return own | Q(district=user.district_id) | Q(centre__district=user.district_id)
    return own


@dataclass(frozen=True)
class Reach:
    """`scope_q` as plain ids, for the dose path's hand-written statement
    (sessions_app/doses/sql.py), which reads where things sit and asks these methods.
    At most one id is set; none and not `everything` means nothing. A centre's staff
    reach their centre, and people of its district."""

    everything: bool = False
    state_id: int | None = None
    district_id: int | None = None
    centre_id: int | None = None

    def covers_place(self, centre_id: int | None, district_id: int | None, state_id: int | None) -> bool:
        """A centre, or what is held at one (a session), given where it sits."""
        return self._covers(district_id, state_id, at_centre=centre_id == self.centre_id)

    def covers_person(self, district_id: int | None, state_id: int | None, staff_district_id: int | None) -> bool:
        """A person of this district and state; `staff_district_id`: the district of
        `centre_id` (a centre's staff reach the people of its district)."""
        return self._covers(district_id, state_id, at_centre=district_id == staff_district_id)

    def _covers(self, district_id: int | None, state_id: int | None, *, at_centre: bool) -> bool:
        if self.everything:
            return True
        if self.state_id is not None:
            return state_id == self.state_id
        if self.district_id is not None:
            return district_id == self.district_id
        return self.centre_id is not None and at_centre


def reach(user) -> Reach:
    """The same rules as `scope_q` (tests/test_scope.py holds both to the same answers)."""
    if not user or not user.is_authenticated or not user.is_active:
        return Reach()
    if user.is_superuser or user.role == Role.SUPERUSER:
        return Reach(everything=True)
    if user.role == Role.STATE_ADMIN:
        return Reach(state_id=user.state_id)
    if user.role == Role.DISTRICT_OFFICER:
        return Reach(district_id=user.district_id)
    if user.role == Role.CENTRE_STAFF:
        return Reach(centre_id=user.centre_id)
    return Reach()


def scoped(queryset: QuerySet[M], user) -> QuerySet[M]:
    q = scope_q(queryset.model, user)
    return queryset if q is None else queryset.filter(q)


def get_scoped(queryset: QuerySet[M], user, **lookup) -> M:
    """The object, if it exists inside the user's scope; Http404 otherwise."""
    try:
        return scoped(queryset, user).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404(f"No {queryset.model._meta.verbose_name} found.") from exc


def in_scope(user, obj: Model) -> bool:
    q = scope_q(type(obj), user)
    return q is None or type(obj)._default_manager.filter(q, pk=obj.pk).exists()
