"""Creating users within the creator's scope (SPEC §2, §4 `POST /api/v1/users/`)."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from covax.accounts.models import Role, User
from covax.accounts.rules import CREATABLE_ROLES
from covax.errors import Conflict, ServiceError


def user_create(*, creator: User, username: str, password: str, role: str, place) -> User:
    """Create a user of `role` tied to `place` (a State, District or Centre).

    The caller has already looked `place` up inside the creator's scope.
    """
    creator_role = Role.SUPERUSER if creator.is_superuser else creator.role
    if role not in CREATABLE_ROLES.get(creator_role, set()):
        raise ServiceError(
            _("You cannot create a user with the role %(role)s.") % {"role": role},
            field="role",
            status=403,
            code="permission_denied",
        )
    field = {Role.STATE_ADMIN: "state", Role.DISTRICT_OFFICER: "district", Role.CENTRE_STAFF: "centre"}[role]
    if place is None or place._meta.model_name != field:
        raise ServiceError(_("A %(role)s needs a %(field)s.") % {"role": role, "field": field}, field=field)
    user = User(username=username.strip(), role=role, **{field: place})
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ServiceError(" ".join(exc.messages), field="password") from None
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise Conflict(_("The username %(name)s is taken.") % {"name": username}, code="username_taken") from None
    return user


def user_set_active(*, actor: User, user: User, active: bool) -> User:
    """Switch a user's access off (someone left the district) or back on. Their tokens
    stop working at once; their history stays."""
    if user.pk == actor.pk:
        raise ServiceError(_("You cannot switch off your own account."), code="cannot_change_self")
    actor_role = Role.SUPERUSER if actor.is_superuser else actor.role
    if user.is_superuser or user.role not in CREATABLE_ROLES.get(actor_role, set()):
        raise ServiceError(
            _("You cannot change a user with the role %(role)s.") % {"role": user.role},
            status=403,
            code="permission_denied",
        )
    user.is_active = active
    user.save(update_fields=["is_active"])
    if not active:
        Token.objects.filter(user=user).delete()
    return user


def token_issue(*, user: User) -> Token:
    """The user's API token, made on their first sign-in (TokenView): the same one after
    that, until switching the user off ends it (user_set_active)."""
    token, _created = Token.objects.get_or_create(user=user)
    return token
