"""Token sign-in and user management (SPEC §4)."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
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


class TokenView(APIView):
    """Exchange a username and password for an API token. Failures count towards the
    same brute-force lockout as the login page (django-axes)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle]

    @extend_schema(
        request=TokenInSerializer,
        responses={200: inline_serializer("Token", {"token": serializers.CharField()})},
        tags=["auth"],
    )
    def post(self, request):
        data = TokenInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request=request._request, **data.validated_data)
        if user is None:
            raise ServiceError(
                "Wrong username or password, or too many failed attempts.", code="invalid_credentials", status=400
            )
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key}, status=status.HTTP_200_OK)


class UserSerializer(serializers.ModelSerializer):
    password = serializers.CharField(write_only=True, style={"input_type": "password"})
    role = serializers.ChoiceField(choices=[r for r in Role.choices if r[0] != Role.SUPERUSER])
    state = ScopedPrimaryKeyRelatedField(queryset=State.objects.all(), required=False, allow_null=True)
    district = ScopedPrimaryKeyRelatedField(queryset=District.objects.all(), required=False, allow_null=True)
    centre = ScopedPrimaryKeyRelatedField(queryset=Centre.objects.all(), required=False, allow_null=True)

    class Meta:
        model = User
        fields = ["id", "username", "password", "role", "state", "district", "centre"]


@extend_schema(tags=["users"])
class UserViewSet(ScopedViewSet):
    queryset = User.objects.all().order_by("id")
    serializer_class = UserSerializer
    write_perm = "covax.add_user"
    filterset_fields = ["role", "state", "district", "centre"]

    def perform_service(self, data):
        place = data.get("state") or data.get("district") or data.get("centre")
        return services.user_create(
            creator=self.request.user,
            username=data["username"],
            password=data["password"],
            role=data["role"],
            place=place,
        )
