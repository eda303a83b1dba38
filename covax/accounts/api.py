"""Token sign-in and user management (SPEC §4)."""

from __future__ import annotations

import django_filters
from django.conf import settings
from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from covax.accounts import services
from covax.accounts.models import Role, User
from covax.api_views import ScopedPrimaryKeyRelatedField, ScopedViewSet
from covax.errors import ServiceError
from sessions_app.models import Centre, District, State


class TokenInSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(write_only=True, style={"input_type": "password"})


class TokenThrottle(AnonRateThrottle):
    """Per client address, COVAX_TOKEN_RATE_LIMIT (`off` for none): guessing passwords
    across many usernames from one place, which the per-username lockout cannot see."""

    scope = "token"

    def get_rate(self) -> str | None:
        rate = settings.COVAX_TOKEN_RATE_LIMIT
        return None if rate in ("", "off") else rate


class TokenView(APIView):
    """Exchange a username and password for an API token. Failures count towards the
    same brute-force lockout as the login page (django-axes): 429 `locked_out`."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [TokenThrottle]
    api_errors = {"post": ["invalid_credentials", "locked_out"]}

    @extend_schema(
        request=TokenInSerializer,
        responses={200: inline_serializer("Token", {"token": serializers.CharField()})},
        tags=["auth"],
        summary="Sign in: a token for a username and password",
        examples=[
            OpenApiExample("Sign in", request_only=True, value={"username": "haryana_admin", "password": "…"}),
            OpenApiExample("Token", response_only=True, value={"token": "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"}),
        ],
    )
    def post(self, request):
        data = TokenInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request=request._request, **data.validated_data)
        if user is None:
            raise ServiceError(
                _("Wrong username or password, or too many failed attempts."), code="invalid_credentials", status=400
            )
        token = services.token_issue(user=user)
        return Response({"token": token.key}, status=status.HTTP_200_OK)


# The one place each role is tied to (SPEC §2).
PLACE_OF_ROLE = {Role.STATE_ADMIN: "state", Role.DISTRICT_OFFICER: "district", Role.CENTRE_STAFF: "centre"}


class UserSerializer(serializers.ModelSerializer):
    password = serializers.CharField(write_only=True, style={"input_type": "password"}, max_length=128)
    role = serializers.ChoiceField(choices=[r for r in Role.choices if r[0] != Role.SUPERUSER])
    state = ScopedPrimaryKeyRelatedField(
        queryset=State.objects.all(), required=False, allow_null=True, help_text="For a state admin."
    )
    district = ScopedPrimaryKeyRelatedField(
        queryset=District.objects.all(), required=False, allow_null=True, help_text="For a district officer."
    )
    centre = ScopedPrimaryKeyRelatedField(
        queryset=Centre.objects.all(), required=False, allow_null=True, help_text="For centre staff."
    )

    class Meta:
        model = User
        fields = ["id", "username", "password", "role", "state", "district", "centre", "is_active"]
        read_only_fields = ["is_active"]

    def validate(self, attrs):
        # Exactly the role's place: a second place would be silently dropped otherwise.
        field = PLACE_OF_ROLE[attrs["role"]]
        if attrs.get(field) is None:
            raise serializers.ValidationError({field: [_("A %(role)s needs a %(field)s.") % _role_field(attrs)]})
        for other in set(PLACE_OF_ROLE.values()) - {field}:
            if attrs.get(other) is not None:
                raise serializers.ValidationError(
                    {other: [_("A %(role)s is tied to a %(field)s only; leave this out.") % _role_field(attrs)]}
                )
        return attrs


def _role_field(attrs) -> dict:
    return {"role": attrs["role"], "field": PLACE_OF_ROLE[attrs["role"]]}


class UserActiveSerializer(serializers.Serializer):
    is_active = serializers.BooleanField()


class UserFilter(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(choices=Role.choices)
    username = django_filters.CharFilter(lookup_expr="icontains", help_text="Part of the username.")

    class Meta:
        model = User
        fields = ["role", "state", "district", "centre", "is_active", "username"]


@extend_schema(tags=["users"])
@extend_schema_view(
    create=extend_schema(
        description="A superuser creates state admins; a state admin creates district officers and centre "
        "staff in their state; a district officer creates centre staff for their district's centres. "
        "Name exactly the place of the role: `state`, `district` or `centre`.",
        examples=[
            OpenApiExample(
                "A district officer",
                request_only=True,
                value={
                    "username": "hisar_officer2",
                    "password": "a-long-pass-phrase-9",
                    "role": "district_officer",
                    "district": 2,
                },
            )
        ],
    )
)
class UserViewSet(mixins.UpdateModelMixin, ScopedViewSet):
    """Users you could have created, and yourself (SPEC §2): admins manage users within their scope."""

    queryset = User.objects.all().order_by("id")
    serializer_class = UserSerializer
    write_perm = "covax.add_user"
    filterset_class = UserFilter
    ordering_fields = ["id", "username", "role", "date_joined"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    api_errors = {"create": ["username_taken"], "partial_update": ["cannot_change_self"]}

    @extend_schema(request=UserActiveSerializer, responses={200: UserSerializer})
    def partial_update(self, request, *args, **kwargs):
        """Switch a user off or on (`{"is_active": false}`), within your scope.

        Switching off ends their tokens at once; their history stays."""
        body = UserActiveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = services.user_set_active(
            actor=request.user, user=self.get_object(), **{"active": body.validated_data["is_active"]}
        )
        return Response(UserSerializer(user).data)

    def perform_service(self, data):
        place = data[PLACE_OF_ROLE[data["role"]]]
        return services.user_create(
            creator=self.request.user,
            username=data["username"],
            password=data["password"],
            role=data["role"],
            place=place,
        )
