"""Token sign-in for the API: DRF's TokenAuthentication, read in one plain statement.

Every API call pays for this lookup, dose marking most of all (SPEC §6, bench/http.py):
DRF's `Token.objects.select_related("user").get(key=…)` costs ~0.6 ms of CPU to build
and load on the 2-core box, this ~0.35 ms. Same answers: 401 for an unknown token or an
inactive user.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from covax.accounts.models import User

_SQL = f"SELECT u.* FROM {User._meta.db_table} u JOIN {Token._meta.db_table} t ON t.user_id = u.id WHERE t.key = %s"


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key: str):
        # A NUL cannot be in a token, and PostgreSQL cannot even compare text holding one.
        user = None if "\x00" in key else next(iter(User.objects.raw(_SQL, [key])), None)
        if user is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return user, Token(key=key, user=user)
