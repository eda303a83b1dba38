"""REST API v1 for places and vaccines: states, districts, centres, vaccines (SPEC §4)."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import mixins, serializers
from rest_framework.response import Response

from covax.api_views import ScopedPrimaryKeyRelatedField, ScopedViewSet
from sessions_app.models import Centre, District, FeeType, State, Vaccine
from sessions_app.places import services


class StateSerializer(serializers.ModelSerializer):
    code = serializers.RegexField(r"^[A-Za-z]{2,4}$", help_text="2–4 letters, e.g. HR; stored upper-case.")

    class Meta:
        model = State
        fields = ["id", "name", "name_hi", "code"]

    def validate_code(self, value: str) -> str:
        # The service stores the code upper-case: "hr" must clash with "HR" here, not
        # in the unique index.
        if State.objects.filter(code=value.upper()).exists():
            raise serializers.ValidationError(_("A state with this code exists."))
        return value.upper()


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
    pincode = serializers.RegexField(
        r"^[1-9][0-9]{5}$", error_messages={"invalid": gettext_lazy("Pincode must be 6 digits.")}
    )
    fee_type = serializers.ChoiceField(choices=FeeType.choices, default=FeeType.FREE)
    # Numbers in JSON (not DRF's default decimal strings), as maps and CoWIN clients read them.
    lat = serializers.DecimalField(
        max_digits=9,
        decimal_places=6,
        min_value=-90,
        max_value=90,
        required=False,
        allow_null=True,
        coerce_to_string=False,
    )
    long = serializers.DecimalField(
        max_digits=9,
        decimal_places=6,
        min_value=-180,
        max_value=180,
        required=False,
        allow_null=True,
        coerce_to_string=False,
    )
    fees = serializers.DictField(
        child=serializers.IntegerField(min_value=0, max_value=100000),
        required=False,
        default=dict,
        help_text='Paid centres only: rupees per vaccine code, e.g. {"COVISHIELD": 780}.',
    )

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


class CentreUpdateSerializer(CentreSerializer):
    """A centre's details change; its district does not (its sessions and people stay)."""

    district = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta(CentreSerializer.Meta):
        validators: list = []  # name unique in its district: the index answers 409 `already_exists`


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
            raise serializers.ValidationError(_("A vaccine with this code exists."))
        return value.upper()


class DistrictFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = District
        fields = ["state", "name"]


class CentreFilter(django_filters.FilterSet):
    state = django_filters.ModelChoiceFilter(field_name="district__state", queryset=State.objects.all())
    name = django_filters.CharFilter(lookup_expr="icontains", help_text="Part of the name.")

    class Meta:
        model = Centre
        fields = ["district", "state", "pincode", "block", "fee_type", "name"]


@extend_schema(tags=["states"])
class StateViewSet(ScopedViewSet):
    """States: a state admin sees their own, a superuser every state and creates them."""

    queryset = State.objects.all()
    serializer_class = StateSerializer
    write_perm = "covax.add_state"
    filterset_fields = ["code"]
    ordering_fields = ["name", "code", "id"]

    def perform_service(self, data):
        return services.state_create(**data)


@extend_schema(tags=["districts"])
class DistrictViewSet(ScopedViewSet):
    """Districts within your scope; a state admin creates them in their state."""

    queryset = District.objects.all()
    serializer_class = DistrictSerializer
    write_perm = "covax.add_district"
    filterset_class = DistrictFilter
    ordering_fields = ["name", "id"]

    def perform_service(self, data):
        return services.district_create(**data)


@extend_schema(tags=["centres"])
class CentreViewSet(mixins.UpdateModelMixin, ScopedViewSet):
    """Vaccination centres within your scope; state admins and district officers create and change them."""

    queryset = Centre.objects.all()
    serializer_class = CentreSerializer
    write_perm = "covax.add_centre"
    action_perms = {"partial_update": "covax.change_centre"}
    filterset_class = CentreFilter
    ordering_fields = ["name", "id", "pincode"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    api_errors = {"partial_update": ["already_exists"]}

    def perform_service(self, data):
        return services.centre_create(**data)

    @extend_schema(
        request=CentreUpdateSerializer,
        responses={200: CentreSerializer},
        examples=[
            OpenApiExample(
                "Now a paid centre",
                request_only=True,
                value={"fee_type": "Paid", "fees": {"COVISHIELD": 780}, "closes": "18:00"},
            )
        ],
    )
    def partial_update(self, request, *args, **kwargs):
        """Change a centre's details: names, address, pincode, place on the map, hours, fee type and fees."""
        centre = self.get_object()
        body = CentreUpdateSerializer(centre, data=request.data, partial=True, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        centre = services.centre_update(centre=centre, **body.validated_data)
        return Response(CentreSerializer(centre, context=self.get_serializer_context()).data)


@extend_schema(tags=["vaccines"])
class VaccineViewSet(ScopedViewSet):
    """Vaccines are national reference data: everyone signed in reads them; state admins add them."""

    queryset = Vaccine.objects.all()
    serializer_class = VaccineSerializer
    write_perm = "covax.add_vaccine"
    lookup_field = "code"
    ordering_fields = ["code", "name"]

    def get_queryset(self):
        return Vaccine.objects.all()

    def perform_service(self, data):
        return services.vaccine_create(**data)
