"""Token sign-in and user management (SPEC §4)."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
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
        fields = ["id", "username", "password", "role", "state", "district", "centre", "is_active"]
        read_only_fields = ["is_active"]


class UserActiveSerializer(serializers.Serializer):
    is_active = serializers.BooleanField()


@extend_schema(tags=["users"])
class UserViewSet(mixins.UpdateModelMixin, ScopedViewSet):
    queryset = User.objects.all().order_by("id")
    serializer_class = UserSerializer
    write_perm = "covax.add_user"
    filterset_fields = ["role", "state", "district", "centre", "is_active"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    @extend_schema(request=UserActiveSerializer, responses={200: UserSerializer})
    def partial_update(self, request, *args, **kwargs):
        """Switch a user off or on (`{"is_active": false}`), within your scope."""
        body = UserActiveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = services.user_set_active(
            actor=request.user, user=self.get_object(), **{"active": body.validated_data["is_active"]}
        )
        return Response(UserSerializer(user).data)

    def perform_service(self, data):
        place = data.get("state") or data.get("district") or data.get("centre")
        return services.user_create(
            creator=self.request.user,
            username=data["username"],
            password=data["password"],
            role=data["role"],
            place=place,
        )
