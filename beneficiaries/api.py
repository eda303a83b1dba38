"""REST API v1 for people (SPEC §4). Parse, authorise, call, render."""

from __future__ import annotations

import django_filters
from django import forms
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers

from beneficiaries import selectors, services
from beneficiaries.identity import ID_TYPE_CHOICES, IdentityError, normalise_id_type
from beneficiaries.models import Beneficiary, Category, Gender
from covax.api_views import ScopedPrimaryKeyRelatedField, ScopedViewSet
from sessions_app.models import Centre, District


class DoseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    dose = serializers.IntegerField()
    vaccine = serializers.CharField(source="vaccine.code")
    centre = serializers.IntegerField(source="centre_id")
    centre_name = serializers.CharField(source="centre.name")
    administered_at = serializers.DateTimeField()
    received_at = serializers.DateTimeField()
    source = serializers.CharField()


class BeneficiaryOutSerializer(serializers.ModelSerializer):
    district = serializers.IntegerField(source="district_id")
    centre_id = serializers.IntegerField(source="preferred_centre_id", allow_null=True)
    doses = serializers.SerializerMethodField()

    class Meta:
        model = Beneficiary
        fields = [
            "reference_id",
            "name",
            "gender",
            "birth_year",
            "phone",
            "id_type",
            "id_last4",
            "category",
            "employer",
            "district",
            "centre_id",
            "doses",
            "created_at",
        ]

    @extend_schema_field(DoseSerializer(many=True))
    def get_doses(self, obj):
        doses = getattr(obj, "active_doses", None)
        if doses is None:
            doses = obj.vaccinations.live().select_related("vaccine", "centre").order_by("dose")
        return DoseSerializer(doses, many=True).data


class BeneficiaryInSerializer(serializers.Serializer):
    """The full ID number is accepted here and never leaves the service un-hashed."""

    name = serializers.CharField(max_length=200)
    gender = serializers.ChoiceField(choices=Gender.choices)
    birth_year = serializers.IntegerField(min_value=1900, max_value=2100)
    phone = serializers.CharField(max_length=32)
    id_type = serializers.CharField(max_length=40, help_text="aadhaar, pan, epic, passport, driving_licence, other")
    id_number = serializers.CharField(max_length=64, write_only=True)
    category = serializers.ChoiceField(choices=Category.choices)
    employer = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    district = ScopedPrimaryKeyRelatedField(queryset=District.objects.all())
    centre_id = ScopedPrimaryKeyRelatedField(
        queryset=Centre.objects.all(), required=False, allow_null=True, source="preferred_centre"
    )


class IdTypeField(forms.CharField):
    """An ID type read as the create reads it (identity.normalise_id_type): its code or
    any alias, in any case. What it cleans to is the code."""

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return ""
        try:
            return normalise_id_type(value)
        except IdentityError as exc:
            # As a parameter: the message repeats what was sent, which may hold a "%".
            raise forms.ValidationError("%(message)s", code="invalid", params={"message": str(exc)}) from None


_ID_TYPE_CODES = ", ".join(f"`{code}`" for code, _label in ID_TYPE_CHOICES)


@extend_schema_field(
    {
        "type": "string",
        "example": "aadhaar",
        "description": f"ID type: {_ID_TYPE_CODES}, or any spelling a registration accepts "
        "(“Aadhaar card”, “uid”, “voter id”, “DL”, “आधार”, …), in any case. Alone, people with "
        "that type of ID; with `id_number`, the type of that number. An unknown type answers 400.",
    }
)
class IdTypeFilter(django_filters.CharFilter):
    field_class = IdTypeField


class BeneficiaryFilter(django_filters.FilterSet):
    id_type = IdTypeFilter()
    id_number = django_filters.CharFilter(method="by_id_number")

    class Meta:
        model = Beneficiary
        fields = ["district", "category", "reference_id", "id_type", "id_number"]

    def by_id_number(self, queryset, name, value):
        # Applied with id_type in filter_queryset below.
        return queryset

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        id_type, id_number = self.form.cleaned_data.get("id_type"), self.form.cleaned_data.get("id_number")
        if id_number:
            queryset = selectors.beneficiary_by_id_number(queryset, id_type=id_type or "aadhaar", id_number=id_number)
        return queryset


_PERSON_IN = {
    "name": "Sunita Sharma",
    "gender": "F",
    "birth_year": 1985,
    "phone": "98765 43210",
    "id_type": "aadhaar",
    "id_number": "2345 6789 0124",
    "category": "HCW",
    "employer": "Civil Hospital Hisar",
    "district": 2,
}
_PERSON_OUT = {
    "reference_id": "31948613005647",
    "name": "Sunita Sharma",
    "gender": "F",
    "birth_year": 1985,
    "phone": "+919876543210",
    "id_type": "aadhaar",
    "id_last4": "0124",
    "category": "HCW",
    "employer": "Civil Hospital Hisar",
    "district": 2,
    "centre_id": None,
    "doses": [],
    "created_at": "2021-01-10T09:30:00+05:30",
}


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "id_number",
                str,
                description="Full ID number (with `id_type`, default aadhaar), matched through its keyed hash; "
                "never stored or echoed. An invalid number matches nobody.",
            )
        ]
    ),
    create=extend_schema(
        request=BeneficiaryInSerializer,
        responses={201: BeneficiaryOutSerializer},
        examples=[
            OpenApiExample("A health care worker", request_only=True, value=_PERSON_IN),
            OpenApiExample("Registered", response_only=True, status_codes=["201"], value=_PERSON_OUT),
        ],
    ),
)
@extend_schema(tags=["beneficiaries"])
class BeneficiaryViewSet(ScopedViewSet):
    """People registered in your scope, with their doses. The full ID number goes in and
    never comes out: answers carry `id_last4` only."""

    queryset = selectors.beneficiary_list()
    serializer_class = BeneficiaryOutSerializer
    output_serializer_class = BeneficiaryOutSerializer
    write_perm = "covax.add_beneficiary"
    lookup_field = "reference_id"
    filterset_class = BeneficiaryFilter
    ordering_fields = ["id", "name", "birth_year", "created_at", "reference_id"]
    api_errors = {"create": ["duplicate_identity", "try_again@503"]}

    def get_serializer_class(self):
        return BeneficiaryInSerializer if self.action == "create" else BeneficiaryOutSerializer

    def perform_service(self, data):
        return services.beneficiary_create(**data)
