"""REST API v1 for the duplicate review (SPEC §3 guard 2). Parse, authorise, call, render.

GET    /api/v1/duplicates/                the queue (filters: status, district)
GET    /api/v1/duplicates/{id}/           both people side by side, and the conflicts
POST   /api/v1/duplicates/{id}/merge/     {"keep": reference_id, "resolutions": {...}, "note"}
POST   /api/v1/duplicates/{id}/distinct/  {"note"}
POST   /api/v1/duplicates/{id}/unmerge/   {"reason"}
POST   /api/v1/duplicates/{id}/reopen/    {"reason"}  (takes back "distinct")
POST   /api/v1/duplicates/scan/           {"district"} → 202
"""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from beneficiaries import merge, selectors_duplicates
from beneficiaries.models import Beneficiary, CandidateStatus, DuplicateCandidate
from beneficiaries.tasks_duplicates import duplicates_scan_enqueue
from covax.accounts.models import Role
from covax.accounts.permissions import HasRulePerm
from covax.api_views import ScopedPrimaryKeyRelatedField
from covax.errors import ServiceError
from sessions_app.models import District

PERM = "covax.review_duplicates"


class PersonBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Beneficiary
        fields = ["reference_id", "name", "gender", "birth_year", "phone", "id_type", "id_last4", "category"]


class CandidateSerializer(serializers.ModelSerializer):
    district = serializers.IntegerField(source="district_id")
    first = PersonBriefSerializer()
    second = PersonBriefSerializer()
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)

    class Meta:
        model = DuplicateCandidate
        fields = [
            "id",
            "district",
            "score",
            "reasons",
            "status",
            "first",
            "second",
            "decided_by",
            "decided_at",
            "note",
            "merge_record",
            "created_at",
        ]


class CandidateDetailSerializer(CandidateSerializer):
    people = serializers.ListField(child=serializers.DictField(), read_only=True)
    conflicts = serializers.ListField(child=serializers.DictField(), read_only=True)
    decidable = serializers.BooleanField(read_only=True)

    class Meta(CandidateSerializer.Meta):
        fields = CandidateSerializer.Meta.fields + ["people", "conflicts", "decidable"]


class MergeSerializer(serializers.Serializer):
    keep = serializers.CharField(max_length=14, help_text="reference_id of the person to keep")
    resolutions = serializers.DictField(
        required=False,
        default=dict,
        help_text='{"vaccinations": {"1": {"void": <id>, "reason": "…"}}, "allocations": {"2": {"cancel": <id>}}}',
    )
    note = serializers.CharField(max_length=1000, required=False, default="", allow_blank=True)


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=1000, required=False, default="", allow_blank=True)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000, required=False, default="", allow_blank=True)


class ScanSerializer(serializers.Serializer):
    district = ScopedPrimaryKeyRelatedField(queryset=District.objects.all(), required=False)


class CandidateFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=CandidateStatus.choices, method="by_status")

    class Meta:
        model = DuplicateCandidate
        fields = ["status", "district"]

    def by_status(self, queryset, name, value):
        # "open" leaves out pairs whose person was merged in another pair (not decidable).
        queryset = queryset.filter(status=value)
        if value == CandidateStatus.OPEN:
            queryset = queryset.filter(first__merged_into__isnull=True, second__merged_into__isnull=True)
        return queryset


@extend_schema(tags=["duplicates"])
class DuplicateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Probable duplicates (same person under another ID) for the district to decide (SPEC §3 guard 2)."""

    permission_classes = [HasRulePerm]
    write_perm = PERM
    action_perms = {"list": PERM, "retrieve": PERM}
    serializer_class = CandidateSerializer
    filterset_class = CandidateFilter
    ordering_fields = ["score", "id", "created_at"]
    queryset = DuplicateCandidate.objects.none()
    api_errors = {
        "merge": [
            "invalid_keep",
            "invalid_resolution",
            "merge_conflict",
            "already_decided",
            "already_merged",
            "try_again",
            "reason_required",
            "already_voided",
            "later_dose_recorded",
        ],
        "distinct": ["already_decided"],
        "unmerge": ["not_merged", "merged_later", "unmerge_blocked"],
        "reopen": ["not_distinct"],
    }

    def get_queryset(self):
        return selectors_duplicates.duplicate_candidate_list(user=self.request.user)

    def _candidate(self) -> DuplicateCandidate:
        return selectors_duplicates.duplicate_candidate_get(user=self.request.user, pk=self.kwargs["pk"])

    def _detail(self, candidate: DuplicateCandidate, status_code: int = status.HTTP_200_OK) -> Response:
        candidate = selectors_duplicates.duplicate_candidate_get(user=self.request.user, pk=candidate.pk)
        for key, value in selectors_duplicates.duplicate_pair(candidate=candidate).items():
            setattr(candidate, key, value)
        return Response(CandidateDetailSerializer(candidate).data, status=status_code)

    def _parse(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @extend_schema(responses=CandidateDetailSerializer)
    def retrieve(self, request, *args, **kwargs):
        """Both people side by side, and the doses or allocations that clash."""
        return self._detail(self._candidate())

    @extend_schema(request=MergeSerializer, responses={200: CandidateDetailSerializer})
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        """Merge the pair into the person to `keep`: every dose and allocation moves, audited and reversible."""
        candidate = self._candidate()
        data = self._parse(MergeSerializer)
        keep = {p.reference_id: p for p in (candidate.first, candidate.second)}.get(data["keep"])
        if keep is None:
            raise ServiceError(_("Keep one of the two people of this pair."), code="invalid_keep", field="keep")
        candidate = merge.duplicate_merge(
            candidate=candidate, keep=keep, user=request.user, resolutions=data["resolutions"], note=data["note"]
        )
        return self._detail(candidate)

    @extend_schema(request=NoteSerializer, responses=CandidateDetailSerializer)
    @action(detail=True, methods=["post"])
    def distinct(self, request, pk=None):
        """Mark the pair as two different people."""
        data = self._parse(NoteSerializer)
        candidate = merge.duplicate_mark_distinct(candidate=self._candidate(), user=request.user, note=data["note"])
        return self._detail(candidate)

    @extend_schema(request=ReasonSerializer, responses=CandidateDetailSerializer)
    @action(detail=True, methods=["post"])
    def unmerge(self, request, pk=None):
        """Undo a merge: both people and their records as they were."""
        data = self._parse(ReasonSerializer)
        candidate = merge.duplicate_unmerge(candidate=self._candidate(), user=request.user, reason=data["reason"])
        return self._detail(candidate)

    @extend_schema(request=ReasonSerializer, responses=CandidateDetailSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        """Take back "distinct": the pair is open for a decision again."""
        data = self._parse(ReasonSerializer)
        candidate = merge.duplicate_reopen(candidate=self._candidate(), user=request.user, reason=data["reason"])
        return self._detail(candidate)

    @extend_schema(
        request=ScanSerializer,
        responses={
            202: inline_serializer(
                "ScanQueued", {"queued": serializers.BooleanField(), "district": serializers.IntegerField()}
            )
        },
    )
    @action(detail=False, methods=["post"])
    def scan(self, request):
        """Look for probable duplicates in a district, on a worker (a district officer's own by default)."""
        district = self._parse(ScanSerializer).get("district")
        if district is None and request.user.role == Role.DISTRICT_OFFICER:
            district = request.user.district
        if district is None:
            raise ServiceError(_("Name the district to scan."), field="district")
        duplicates_scan_enqueue(district_id=district.pk)
        return Response({"queued": True, "district": district.pk}, status=status.HTTP_202_ACCEPTED)
