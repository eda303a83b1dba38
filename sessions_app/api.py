"""REST API v1 for places, vaccines and sessions (SPEC §4). Parse, authorise, call, render."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from covax.api_views import ScopedPrimaryKeyRelatedField, ScopedViewSet
from sessions_app import services
from sessions_app.api_doses import SessionListActions
from sessions_app.models import Centre, District, FeeType, Session, State, Vaccine
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


class CentreSerializer(serializers.ModelSerializer):
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


@extend_schema(tags=["sessions"])
class SessionViewSet(SessionListActions, ScopedViewSet):
    queryset = Session.objects.select_related("vaccine", "centre")
    serializer_class = SessionSerializer
    write_perm = "covax.add_session"
    action_perms = {"allocate": "covax.allocate"}
    filterset_class = SessionFilter
    ordering_fields = ["date", "id", "capacity"]

    def perform_service(self, data):
        return services.session_create(**data)
