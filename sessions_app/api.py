"""REST API v1 for places, vaccines and sessions (SPEC §4). Parse, authorise, call, render."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from covax.api_views import ScopedPrimaryKeyRelatedField, ScopedViewSet
from sessions_app import services
from sessions_app.api_doses import SessionListActions
from sessions_app.models import Centre, District, FeeType, Session, SessionStatus, State, Vaccine
from sessions_app.slots import validate_slot


class StateSerializer(serializers.ModelSerializer):
    class Meta:
        model = State
        fields = ["id", "name", "name_hi", "code"]


class DistrictSerializer(serializers.ModelSerializer):
    state = ScopedPrimaryKeyRelatedField(queryset=State.objects.all())

    class Meta:
        model = District
        fields = ["id", "state", "name", "name_hi"]


@extend_schema_field({"type": "string", "pattern": r"^[0-2][0-9]:[0-5][0-9](:[0-5][0-9])?$", "example": "09:00"})
class LocalTimeField(serializers.TimeField):
    """A wall-clock time at the centre ("09:00"): no offset, so not RFC 3339's `time`."""


class CentreSerializer(serializers.ModelSerializer):
    opens = LocalTimeField(required=False)
    closes = LocalTimeField(required=False)
    district = ScopedPrimaryKeyRelatedField(queryset=District.objects.all())
    pincode = serializers.RegexField(r"^[1-9][0-9]{5}$", error_messages={"invalid": "Pincode must be 6 digits."})
    fee_type = serializers.ChoiceField(choices=FeeType.choices, default=FeeType.FREE)
    fees = serializers.DictField(child=serializers.IntegerField(min_value=0), required=False, default=dict)

    class Meta:
        model = Centre
        fields = [
            "id",
            "district",
            "name",
            "name_hi",
            "address",
            "address_hi",
            "block",
            "block_hi",
            "pincode",
            "lat",
            "long",
            "fee_type",
            "fees",
            "opens",
            "closes",
        ]


class VaccineSerializer(serializers.ModelSerializer):
    code = serializers.RegexField(r"^[A-Za-z0-9_\-]+$", max_length=32)
    doses = serializers.IntegerField(min_value=1, max_value=10)
    min_interval_days = serializers.IntegerField(min_value=0, max_value=3650)
    max_interval_days = serializers.IntegerField(min_value=0, max_value=3650, required=False, allow_null=True)

    class Meta:
        model = Vaccine
        fields = ["code", "name", "doses", "min_interval_days", "max_interval_days"]

    def validate_code(self, value: str) -> str:
        if Vaccine.objects.filter(code=value.upper()).exists():
            raise serializers.ValidationError("A vaccine with this code exists.")
        return value.upper()


class SessionSerializer(serializers.ModelSerializer):
    centre = ScopedPrimaryKeyRelatedField(queryset=Centre.objects.all())
    vaccine = serializers.SlugRelatedField(slug_field="code", queryset=Vaccine.objects.all())
    dose = serializers.IntegerField(min_value=1, max_value=10, default=1)
    capacity = serializers.IntegerField(min_value=0, max_value=100000)
    min_age = serializers.IntegerField(min_value=0, max_value=130, default=18)
    max_age = serializers.IntegerField(min_value=0, max_value=130, required=False, allow_null=True)
    slots = serializers.ListField(child=serializers.CharField(validators=[validate_slot]), required=False, default=list)
    categories = serializers.ListField(
        child=serializers.ChoiceField(choices=["HCW", "FLW", "60+", "45+", "18+"]), required=False, default=list
    )
    allocated = serializers.IntegerField(source="allocated_count", read_only=True)

    class Meta:
        model = Session
        fields = [
            "id",
            "public_id",
            "centre",
            "date",
            "vaccine",
            "dose",
            "capacity",
            "allocated",
            "min_age",
            "max_age",
            "slots",
            "categories",
            "status",
        ]
        read_only_fields = ["public_id", "status"]


class CentreFilter(django_filters.FilterSet):
    class Meta:
        model = Centre
        fields = ["district", "pincode", "fee_type"]


class SessionFilter(django_filters.FilterSet):
    district = django_filters.NumberFilter(field_name="centre__district")
    vaccine = django_filters.CharFilter(field_name="vaccine__code")
    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte")
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte")

    class Meta:
        model = Session
        fields = ["centre", "date", "dose", "status"]


@extend_schema(tags=["places"])
class StateViewSet(ScopedViewSet):
    queryset = State.objects.all()
    serializer_class = StateSerializer
    write_perm = "covax.add_state"
    ordering_fields = ["name", "id"]

    def perform_service(self, data):
        return services.state_create(**data)


@extend_schema(tags=["places"])
class DistrictViewSet(ScopedViewSet):
    queryset = District.objects.all()
    serializer_class = DistrictSerializer
    write_perm = "covax.add_district"
    filterset_fields = ["state"]
    ordering_fields = ["name", "id"]

    def perform_service(self, data):
        return services.district_create(**data)


@extend_schema(tags=["places"])
class CentreViewSet(ScopedViewSet):
    queryset = Centre.objects.all()
    serializer_class = CentreSerializer
    write_perm = "covax.add_centre"
    filterset_class = CentreFilter
    ordering_fields = ["name", "id", "pincode"]

    def perform_service(self, data):
        return services.centre_create(**data)


@extend_schema(tags=["vaccines"])
class VaccineViewSet(ScopedViewSet):
    # Vaccines are national reference data: everyone signed in may read them.
    queryset = Vaccine.objects.all()
    serializer_class = VaccineSerializer
    write_perm = "covax.add_vaccine"
    lookup_field = "code"

    def get_queryset(self):
        return Vaccine.objects.all()

    def perform_service(self, data):
        return services.vaccine_create(**data)


class SessionUpdateSerializer(serializers.Serializer):
    capacity = serializers.IntegerField(min_value=0, max_value=100000, required=False)
    min_age = serializers.IntegerField(min_value=0, max_value=130, required=False)
    max_age = serializers.IntegerField(min_value=0, max_value=130, required=False, allow_null=True)
    slots = serializers.ListField(child=serializers.CharField(validators=[validate_slot]), required=False)
    categories = serializers.ListField(
        child=serializers.ChoiceField(choices=["HCW", "FLW", "60+", "45+", "18+"]), required=False
    )
    status = serializers.ChoiceField(choices=SessionStatus.choices, required=False)


class SessionBulkSerializer(serializers.Serializer):
    centres = serializers.ListField(
        child=ScopedPrimaryKeyRelatedField(queryset=Centre.objects.all()), min_length=1, max_length=500
    )
    date = serializers.DateField()
    vaccine = serializers.SlugRelatedField(slug_field="code", queryset=Vaccine.objects.all())
    dose = serializers.IntegerField(min_value=1, max_value=10, default=1)
    capacity = serializers.IntegerField(min_value=0, max_value=100000)
    min_age = serializers.IntegerField(min_value=0, max_value=130, default=18)
    max_age = serializers.IntegerField(min_value=0, max_value=130, required=False, allow_null=True)
    slots = serializers.ListField(child=serializers.CharField(validators=[validate_slot]), required=False, default=list)
    categories = serializers.ListField(
        child=serializers.ChoiceField(choices=["HCW", "FLW", "60+", "45+", "18+"]), required=False, default=list
    )


@extend_schema(tags=["sessions"])
class SessionViewSet(SessionListActions, mixins.UpdateModelMixin, ScopedViewSet):
    queryset = Session.objects.select_related("vaccine", "centre")
    serializer_class = SessionSerializer
    write_perm = "covax.add_session"
    action_perms = {"allocate": "covax.allocate", "bulk": "covax.add_session"}
    filterset_class = SessionFilter
    ordering_fields = ["date", "id", "capacity"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def perform_service(self, data):
        return services.session_create(**data)

    @extend_schema(request=SessionUpdateSerializer, responses={200: SessionSerializer})
    def partial_update(self, request, *args, **kwargs):
        session = self.get_object()
        body = SessionUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        session = services.session_update(session=session, user=request.user, **body.validated_data)
        return Response(SessionSerializer(session, context=self.get_serializer_context()).data)

    @extend_schema(request=SessionBulkSerializer, responses={201: SessionSerializer(many=True)})
    @action(detail=False, methods=["post"])
    def bulk(self, request):
        """Plan the same session at several centres at once (all or none)."""
        body = SessionBulkSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        sessions = services.session_create_many(**body.validated_data)
        out = SessionSerializer(sessions, many=True, context=self.get_serializer_context())
        return Response(out.data, status=status.HTTP_201_CREATED)
