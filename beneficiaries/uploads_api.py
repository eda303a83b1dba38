"""Uploads API (SPEC §4): intake answers 202 at once, the work runs on a worker."""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
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


@extend_schema(tags=["uploads"])
class UploadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Upload.objects.all()
    serializer_class = UploadSerializer
    permission_classes = [HasRulePerm]
    action_perms = {"create": "covax.upload", "rollback": "covax.rollback_upload"}
    parser_classes = [MultiPartParser, FormParser]
    filterset_fields = ["kind", "status", "district"]

    def get_queryset(self):
        return scoped(super().get_queryset(), self.request.user)

    @extend_schema(
        request={"multipart/form-data": UploadInSerializer},
        responses={
            202: UploadSerializer,
            200: OpenApiResponse(UploadSerializer, description="The same file again: the first upload."),
            413: OpenApiResponse(description="The file is over the size limit."),
        },
    )
    def create(self, request):
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

    @extend_schema(request=None, responses={200: serializers.DictField(), 409: OpenApiResponse()})
    @action(detail=True, methods=["post"])
    def rollback(self, request, pk=None):
        report = services.upload_rollback(upload=self.get_object(), user=request.user)
        return Response(report)
