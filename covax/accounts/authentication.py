"""Token sign-in for the API: DRF's TokenAuthentication, read in one plain statement.

Every API call pays for this lookup, dose marking most of all (SPEC §6, bench/http.py):
DRF's `Token.objects.select_related("user").get(key=…)` costs ~0.6 ms of CPU on the
2-core box to build the query and two model instances; this statement, loaded with
`User.from_db`, a third of that. Same answers: 401 for an unknown token or an inactive
user.
"""

from __future__ import annotations

from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from covax.accounts.models import User
from covax.db import planned_reads

_USER_FIELDS = [f.attname for f in User._meta.concrete_fields]
_SQL = (
    f"SELECT {', '.join('u.' + f.column for f in User._meta.concrete_fields)} "
    f"FROM {Token._meta.db_table} t JOIN {User._meta.db_table} u ON u.{User._meta.pk.column} = t.user_id "
    "WHERE t.key = %(key)s"
)


def user_for_token(key: str) -> User | None:
    if "\x00" in key:  # never in a token, and PostgreSQL cannot even compare text holding one
        return None
    with planned_reads(), connection.cursor() as cursor:
        cursor.execute(_SQL, {"key": key})
        row = cursor.fetchone()
    return None if row is None else User.from_db(connection.alias, _USER_FIELDS, row)


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key: str):
        user = user_for_token(key)
        if user is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return user, Token(key=key, user=user)
