"""REST API v1 for doses (SPEC §4). Parse, authorise, call, render.

`POST /api/v1/vaccinations/` answers 201 for a new record, 200 with the same record for
a repeated `client_id`, 409 `already_vaccinated`, 422 for a broken dose rule.
"""

from __future__ import annotations

from collections.abc import Mapping

import django_filters
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.fields import SkipField
from rest_framework.response import Response

from covax.accounts.permissions import HasRulePerm
from covax.accounts.scope import scoped
from sessions_app.doses import selectors, services
from sessions_app.models import Source, Vaccination

# The largest id PostgreSQL's bigint holds: anything larger names nothing.
MAX_ID = 2**63 - 1


REFERENCES = ("beneficiary", "centre", "vaccine", "session")


def _input_fields() -> dict[str, serializers.Field]:
    return {
        "beneficiary": serializers.CharField(max_length=14, help_text="The person's reference id."),
        "dose": serializers.IntegerField(min_value=1, max_value=10),
        "vaccine": serializers.CharField(max_length=32, help_text="Vaccine code, e.g. COVISHIELD."),
        "centre": serializers.IntegerField(min_value=1, max_value=MAX_ID),
        "session": serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True),
        "lot_number": serializers.CharField(max_length=50, required=False, default="", allow_blank=True),
        "administered_at": serializers.DateTimeField(
            required=False, help_text="When the dose was given (device time)."
        ),
        "client_id": serializers.UUIDField(required=False, allow_null=True, help_text="Idempotency key."),
        "source": serializers.ChoiceField(
            choices=[Source.API, Source.OFFLINE], default=Source.API, help_text="`offline` for queued device records."
        ),
    }


class VaccinationInSerializer(serializers.Serializer):
    """What `POST /api/v1/vaccinations/` reads. Its fields are built for each request by
    `get_fields()` (DRF's documented hook) instead of declared: DRF deep-copies declared
    fields for every serializer instance, which cost ~0.5 ms of CPU per dose marked."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return _input_fields()

    def to_internal_value(self, data):
        """Parse every field, then resolve the four references in one query
        (selectors.dose_target); a reference outside the caller's scope reads as one
        that does not exist. Every bad field is named in the same answer."""
        try:
            attrs, errors = super().to_internal_value(data), {}
        except serializers.ValidationError as exc:
            if not isinstance(data, Mapping):  # not even an object: nothing to resolve
                raise
            attrs, errors = {}, dict(exc.detail)
        names = {name: attrs.get(name) if not errors else self._parsed(data, name) for name in REFERENCES}
        target = selectors.dose_target(
            user=self.context["request"].user,
            reference_id=names["beneficiary"],
            centre_id=names["centre"],
            vaccine_code=names["vaccine"],
            session_id=names["session"],
        )
        missing = {
            "beneficiary": _("No person with reference id %(value)s."),
            "centre": _("No centre with id %(value)s."),
            "vaccine": _("No vaccine with code %(value)s."),
            "session": _("No session with id %(value)s."),
        }
        for name in REFERENCES:
            found = getattr(target, name)
            if names[name] is not None and found is None and name not in errors:
                errors[name] = [missing[name] % {"value": str(names[name])[:32]}]
            attrs[name] = found
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def _parsed(self, data, name: str):
        """The field's value if it parses, else None (its error is already reported)."""
        field = self.fields[name]
        try:
            return field.run_validation(field.get_value(data))
        except (serializers.ValidationError, SkipField):
            return None


def _record_fields() -> dict[str, serializers.Field]:
    return {
        "id": serializers.IntegerField(read_only=True),
        "beneficiary": serializers.CharField(source="beneficiary.reference_id", help_text="The person's reference id."),
        "dose": serializers.IntegerField(),
        "vaccine": serializers.CharField(source="vaccine.code"),
        "lot_number": serializers.CharField(),
        "centre": serializers.IntegerField(source="centre_id"),
        "centre_name": serializers.CharField(source="centre.name"),
        "session": serializers.IntegerField(source="session_id", allow_null=True),
        "administered_at": serializers.DateTimeField(),
        "received_at": serializers.DateTimeField(),
        "source": serializers.ChoiceField(choices=Source.choices),
        "client_id": serializers.UUIDField(allow_null=True),
        "voided": serializers.BooleanField(read_only=True),
        "voided_at": serializers.DateTimeField(allow_null=True),
        "void_reason": serializers.CharField(),
    }


class VaccinationSerializer(serializers.Serializer):
    """A dose record, as the API answers it (fields built per instance: see
    VaccinationInSerializer)."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return _record_fields()


class VoidSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class VaccinationFilter(django_filters.FilterSet):
    beneficiary = django_filters.CharFilter(field_name="beneficiary__reference_id")
    vaccine = django_filters.CharFilter(field_name="vaccine__code")
    date = django_filters.DateFilter(field_name="administered_at", lookup_expr="date")
    voided = django_filters.BooleanFilter(field_name="voided_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = Vaccination
        fields = ["beneficiary", "centre", "session", "dose", "vaccine", "source", "date", "voided"]


@extend_schema(tags=["vaccinations"])
class VaccinationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Doses given at centres within your scope. A record is never edited: a wrong one is voided with a reason."""

    queryset = Vaccination.objects.select_related("beneficiary", "vaccine", "centre").order_by("-administered_at")
    serializer_class = VaccinationSerializer
    input_serializer_class = VaccinationInSerializer  # what `create` reads
    permission_classes = [HasRulePerm]
    action_perms = {"create": "covax.vaccinate", "void": "covax.void_vaccination"}
    filterset_class = VaccinationFilter
    ordering_fields = ["administered_at", "received_at", "id"]
    # The codes the services raise, for the schema (covax/api_schema.py).
    api_errors = {
        "create": [
            "already_vaccinated",
            "client_id_reused",
            "previous_dose_missing",
            "vaccine_mismatch",
            "dose_not_due",
            "invalid_dose",
            "session_mismatch",
            "session_cancelled",
            "administered_in_future",
            "beneficiary_merged",
            "try_again",
        ],
        "void": ["reason_required", "already_voided", "later_dose_recorded"],
    }

    def get_queryset(self):
        return scoped(super().get_queryset(), self.request.user)

    @extend_schema(
        request=VaccinationInSerializer,
        responses={
            201: VaccinationSerializer,
            200: OpenApiResponse(VaccinationSerializer, description="The same record, for a repeated client_id."),
        },
        examples=[
            OpenApiExample(
                "Dose 1",
                request_only=True,
                value={
                    "beneficiary": "12345678901234",
                    "dose": 1,
                    "vaccine": "COVISHIELD",
                    "centre": 1,
                    "session": 1,
                    "lot_number": "4121Z025",
                    "administered_at": "2021-01-16T10:15:00+05:30",
                    "client_id": "0b6a3b0e-6f0c-4a55-9b0e-7d6f1f1f2a01",
                },
            ),
            OpenApiExample(
                "Recorded",
                response_only=True,
                status_codes=["201", "200"],
                value={
                    "id": 4021,
                    "beneficiary": "12345678901234",
                    "dose": 1,
                    "vaccine": "COVISHIELD",
                    "lot_number": "4121Z025",
                    "centre": 1,
                    "centre_name": "Jindal Hospital",
                    "session": 1,
                    "administered_at": "2021-01-16T10:15:00+05:30",
                    "received_at": "2021-01-16T10:15:02+05:30",
                    "source": "api",
                    "client_id": "0b6a3b0e-6f0c-4a55-9b0e-7d6f1f1f2a01",
                    "voided": False,
                    "voided_at": None,
                    "void_reason": "",
                },
            ),
        ],
    )
    def create(self, request):
        """Record a dose. The same `client_id` again returns the same record (200) and writes nothing."""
        data = self.input_serializer_class(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        record, created = services.vaccination_record(given_by=request.user, **data.validated_data)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(VaccinationSerializer(record).data, status=code)

    @extend_schema(request=VoidSerializer, responses={200: VaccinationSerializer})
    @action(detail=True, methods=["post"])
    def void(self, request, pk=None):
        """Void a wrong record, with a reason (audited); the person is due for that dose again."""
        record = self.get_object()
        body = VoidSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        record = services.vaccination_void(vaccination=record, reason=body.validated_data["reason"], user=request.user)
        return Response(VaccinationSerializer(record).data)
