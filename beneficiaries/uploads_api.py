"""Uploads API (SPEC §4): intake answers 202 at once, the work runs on a worker."""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from beneficiaries.models import Upload, UploadKind
from beneficiaries.uploads import selectors, services
from covax.accounts.permissions import HasRulePerm
from covax.accounts.scope import scoped
from covax.api_views import ScopedPrimaryKeyRelatedField
from sessions_app.models import District


class UploadInSerializer(serializers.Serializer):
    file = serializers.FileField()
    kind = serializers.ChoiceField(choices=UploadKind.choices)
    district = ScopedPrimaryKeyRelatedField(queryset=District.objects.all())


class UploadSerializer(serializers.ModelSerializer):
    errors_url = serializers.SerializerMethodField()
    duplicate_of = serializers.SerializerMethodField()
    failure_reason = serializers.CharField(
        source="failure_text", read_only=True, help_text="Why the file could not be processed, in your language."
    )

    class Meta:
        model = Upload
        fields = [
            "id",
            "kind",
            "district",
            "original_name",
            "size",
            "status",
            "progress",
            "rows_total",
            "rows_created",
            "rows_existing",
            "rows_duplicate_in_file",
            "rows_invalid",
            "failure_reason",
            "errors_url",
            "duplicate_of",
            "created_at",
            "started_at",
            "finished_at",
            "rollback_report",
        ]

    def get_errors_url(self, obj) -> str:
        request = self.context.get("request")
        url = reverse("upload-errors", args=[obj.pk])
        return request.build_absolute_uri(url) if request else url

    def get_duplicate_of(self, obj) -> int | None:
        return self.context.get("duplicate_of")


class RollbackSerializer(serializers.Serializer):
    removed = serializers.IntegerField(required=False, help_text="A `beneficiaries` upload: people removed.")
    voided = serializers.IntegerField(required=False, help_text="A `vaccinations` upload: doses voided.")
    kept = serializers.DictField(
        child=serializers.JSONField(),
        help_text="What was kept and why. People: `has_dose`, `has_allocation`, `merged`, each "
        "`{count, reference_ids}`. Doses: `{count, records}`.",
    )
    explanation = serializers.CharField(required=False)


@extend_schema(tags=["uploads"])
class UploadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Uploads of your scope's districts: intake answers at once, the rows are read on a worker."""

    queryset = Upload.objects.all()
    serializer_class = UploadSerializer
    permission_classes = [HasRulePerm]
    action_perms = {"create": "covax.upload", "rollback": "covax.rollback_upload"}
    parser_classes = [MultiPartParser, FormParser]
    filterset_fields = ["kind", "status", "district"]
    ordering_fields = ["id", "created_at", "rows_total", "rows_invalid"]
    api_errors = {
        "create": ["unsupported_file", "empty_file", "file_too_large"],
        "rollback": ["already_rolled_back", "running"],
    }

    def get_queryset(self):
        return scoped(super().get_queryset(), self.request.user)

    @extend_schema(
        request={"multipart/form-data": UploadInSerializer},
        responses={
            202: OpenApiResponse(UploadSerializer, description="Queued: follow `status` and `progress`."),
            200: OpenApiResponse(
                UploadSerializer, description="The same file again (same bytes, district, kind): the first upload."
            ),
        },
        examples=[
            OpenApiExample(
                "A list of health workers",
                request_only=True,
                media_type="multipart/form-data",
                value={"file": "hisar-hcw.csv", "kind": "beneficiaries", "district": 2},
            ),
            OpenApiExample(
                "Queued",
                response_only=True,
                status_codes=["202"],
                value={
                    "id": 7,
                    "kind": "beneficiaries",
                    "district": 2,
                    "original_name": "hisar-hcw.csv",
                    "size": 81234,
                    "status": "queued",
                    "progress": 0,
                    "rows_total": 0,
                    "rows_created": 0,
                    "rows_existing": 0,
                    "rows_duplicate_in_file": 0,
                    "rows_invalid": 0,
                    "failure_reason": "",
                    "errors_url": "https://covax.example/api/v1/uploads/7/errors/",
                    "duplicate_of": None,
                    "created_at": "2021-01-14T11:02:00+05:30",
                    "started_at": None,
                    "finished_at": None,
                    "rollback_report": {},
                },
            ),
        ],
    )
    def create(self, request):
        """Upload a CSV or XLSX list of people (`beneficiaries`) or of doses given on paper (`vaccinations`).

        Columns (SPEC §3): people `name, gender, birth_year, phone, id_type, id_number, category`
        and optional `employer, centre_id`; doses `reference_id` (as on the session list; or
        `id_type, id_number`), `dose, vaccine, administered_on, centre_id, lot_number` and
        optional `vaccinator`."""
        body = UploadInSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        intake = services.upload_create(user=request.user, **body.validated_data)
        context = self.get_serializer_context()
        if intake.duplicate_of is not None:
            context["duplicate_of"] = intake.duplicate_of.pk
            return Response(UploadSerializer(intake.upload, context=context).data, status=status.HTTP_200_OK)
        return Response(UploadSerializer(intake.upload, context=context).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={(200, "text/csv"): OpenApiResponse(description="row, column, reason")})
    @action(detail=True, methods=["get"])
    def errors(self, request, pk=None):
        """The error report as CSV, cells escaped against formula injection."""
        upload = self.get_object()
        response = HttpResponse(selectors.error_report_csv(upload), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="upload-{upload.pk}-errors.csv"'
        return response

    @extend_schema(request=None, responses={200: RollbackSerializer})
    @action(detail=True, methods=["post"])
    def rollback(self, request, pk=None):
        """Undo an upload made by mistake: what was removed, what was kept and why.

        People it created with no dose, allocation or merge are removed; doses it recorded
        are voided (a later dose keeps one)."""
        report = services.upload_rollback(upload=self.get_object(), user=request.user)
        return Response(report)
