"""REST API v1 for sessions: planning, allocation, the session list and why someone is (not)
on it (SPEC §4). Parse, authorise, call, render.
"""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from beneficiaries.models import Beneficiary
from covax.accounts.scope import get_scoped, scoped
from covax.api_views import ScopedPrimaryKeyRelatedField, ScopedViewSet
from sessions_app.models import Centre, District, Session, SessionStatus, State, Vaccine
from sessions_app.planning import selectors, services
from sessions_app.slots import validate_slot

CATEGORIES = ["HCW", "FLW", "60+", "45+", "18+"]


class SessionFields(serializers.Serializer):
    """What a session is planned with, one session or many at once."""

    vaccine = serializers.SlugRelatedField(slug_field="code", queryset=Vaccine.objects.all())
    dose = serializers.IntegerField(min_value=1, max_value=10, default=1)
    capacity = serializers.IntegerField(min_value=0, max_value=100000)
    min_age = serializers.IntegerField(min_value=0, max_value=130, default=18)
    max_age = serializers.IntegerField(min_value=0, max_value=130, required=False, allow_null=True)
    slots = serializers.ListField(child=serializers.CharField(validators=[validate_slot]), required=False, default=list)
    categories = serializers.ListField(
        child=serializers.ChoiceField(choices=CATEGORIES),
        required=False,
        default=list,
        help_text="Who may come; empty means every category.",
    )


class SessionSerializer(SessionFields, serializers.ModelSerializer):
    centre = ScopedPrimaryKeyRelatedField(queryset=Centre.objects.all())
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


class SessionFilter(django_filters.FilterSet):
    district = django_filters.ModelChoiceFilter(field_name="centre__district", queryset=District.objects.all())
    state = django_filters.ModelChoiceFilter(field_name="centre__district__state", queryset=State.objects.all())
    vaccine = django_filters.CharFilter(field_name="vaccine__code", help_text="Vaccine code, e.g. COVISHIELD.")
    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte", help_text="On or after (YYYY-MM-DD).")
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte", help_text="On or before (YYYY-MM-DD).")

    class Meta:
        model = Session
        fields = ["centre", "district", "state", "date", "vaccine", "dose", "status"]


class SessionUpdateSerializer(serializers.Serializer):
    capacity = serializers.IntegerField(min_value=0, max_value=100000, required=False)
    min_age = serializers.IntegerField(min_value=0, max_value=130, required=False)
    max_age = serializers.IntegerField(min_value=0, max_value=130, required=False, allow_null=True)
    slots = serializers.ListField(child=serializers.CharField(validators=[validate_slot]), required=False)
    categories = serializers.ListField(child=serializers.ChoiceField(choices=CATEGORIES), required=False)
    status = serializers.ChoiceField(choices=SessionStatus.choices, required=False)


class SessionBulkSerializer(SessionFields):
    centres = serializers.ListField(
        child=ScopedPrimaryKeyRelatedField(queryset=Centre.objects.all()), min_length=1, max_length=500
    )
    date = serializers.DateField()


class ListEntrySerializer(serializers.Serializer):
    reference_id = serializers.CharField()
    name = serializers.CharField()
    gender = serializers.CharField()
    birth_year = serializers.IntegerField()
    id_type = serializers.CharField()
    id_last4 = serializers.CharField()
    category = serializers.CharField()
    status = serializers.ChoiceField(choices=["due", "vaccinated"])
    vaccinated_at = serializers.DateTimeField(allow_null=True)


class AllocateInSerializer(serializers.Serializer):
    beneficiaries = serializers.ListField(
        child=serializers.CharField(max_length=14), required=False, default=list, max_length=20000
    )
    auto = serializers.BooleanField(default=False)

    def validate(self, attrs):
        if not attrs["auto"] and not attrs["beneficiaries"]:
            raise serializers.ValidationError(_('Send "beneficiaries": [reference ids…] or "auto": true.'))
        return attrs


class SkipSerializer(serializers.Serializer):
    reference_id = serializers.CharField()
    reason = serializers.ChoiceField(choices=list(services.SKIP_REASONS))
    detail = serializers.CharField()


# People skipped, per reason: one integer per reason that occurred (the others are left out).
SkippedCountSerializer = type(
    "SkippedCountSerializer",
    (serializers.Serializer,),
    {
        "__doc__": "How many people were skipped, per reason; a reason nobody was skipped for is left out.",
        **{
            reason: serializers.IntegerField(required=False, min_value=1, help_text=label)
            for reason, label in services.SKIP_REASONS.items()
        },
    },
)


class AllocateOutSerializer(serializers.Serializer):
    allocated = serializers.ListField(child=serializers.CharField(), help_text="Reference ids allocated now.")
    allocated_count = serializers.IntegerField()
    skipped_count = SkippedCountSerializer()
    skipped_count_exact = serializers.BooleanField(
        help_text=(
            "False when a count stopped at its bound and is the least it can be: `auto` counts the people due "
            f"whom it did not read (`capacity_full`) up to {services.AUTO_COUNT_BOUND:,} beyond those it read."
        )
    )
    skipped = SkipSerializer(
        many=True,
        help_text=(
            "Skipped people, each with the reason: every one for a list of reference ids; for `auto`, the first "
            f"{services.AUTO_NAMED_SKIPS} (the people due it did not read are counted in `skipped_count`, not named)."
        ),
    )


class WhySerializer(serializers.Serializer):
    on_list = serializers.BooleanField()
    code = serializers.CharField()
    detail = serializers.CharField(source="message")


class SessionListActions:
    """Mixed into SessionViewSet: allocate, the session list and "why (not) on it"."""

    @extend_schema(
        request=AllocateInSerializer,
        responses={200: AllocateOutSerializer},
        examples=[
            OpenApiExample("By list", request_only=True, value={"beneficiaries": ["31948613005647", "20417763002291"]}),
            OpenApiExample("Those due, automatically", request_only=True, value={"auto": True}),
            OpenApiExample(
                "One skipped",
                response_only=True,
                value={
                    "allocated": ["31948613005647"],
                    "allocated_count": 1,
                    "skipped_count": {"already_vaccinated": 1},
                    "skipped_count_exact": True,
                    "skipped": [
                        {
                            "reference_id": "20417763002291",
                            "reason": "already_vaccinated",
                            "detail": "Dose 1 recorded on 16-01-2021 at Jindal Hospital.",
                        }
                    ],
                },
            ),
            OpenApiExample(
                "Automatically, more due than places",
                response_only=True,
                value={
                    "allocated": ["31948613005647", "20417763002291"],
                    "allocated_count": 2,
                    "skipped_count": {"capacity_full": 10012},
                    "skipped_count_exact": False,
                    "skipped": [
                        {
                            "reference_id": "40815530011872",
                            "reason": "capacity_full",
                            "detail": "The session is full.",
                        }
                    ],
                },
            ),
        ],
    )
    @action(detail=True, methods=["post"])
    def allocate(self, request, pk=None):
        """Put people on the session's list, by reference id or `auto` from those due.

        Skipped people are counted per reason (`skipped_count`) and named with the reason
        (`skipped`): all of them for a list, the first few for `auto`. `auto` takes those who
        chose this centre first, then everyone else due in the district, each in the order
        they registered; it reads about as many people as there are free places."""
        session = self.get_object()
        body = AllocateInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = services.allocation_create(
            session=session,
            user=request.user,
            reference_ids=body.validated_data["beneficiaries"],
            auto=body.validated_data["auto"],
            within=scoped(Beneficiary.objects.all(), request.user),
        )
        return Response(AllocateOutSerializer(result).data)

    @extend_schema(
        responses={200: ListEntrySerializer(many=True)},
        parameters=[OpenApiParameter("search", str, description="Name, reference id, last 4 of the ID or mobile.")],
    )
    @action(detail=True, methods=["get"], url_path="list")
    def session_list(self, request, pk=None):
        """The session list: who is due and who is vaccinated here (never anyone with this dose elsewhere)."""
        session = self.get_object()
        entries = selectors.session_list(session=session, search=request.query_params.get("search", ""))
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(ListEntrySerializer(page, many=True).data)

    @extend_schema(
        responses={200: WhySerializer},
        parameters=[OpenApiParameter("beneficiary", str, required=True, description="Reference id.")],
    )
    @action(detail=True, methods=["get"])
    def why(self, request, pk=None):
        """Why is this person (not) on this session's list?"""
        session = self.get_object()
        ref = request.query_params.get("beneficiary", "")
        if not ref:
            raise serializers.ValidationError({"beneficiary": [_("Give the person's reference id.")]})
        person = get_scoped(Beneficiary.objects.select_related("merged_into"), request.user, reference_id=ref)
        return Response(WhySerializer(selectors.why_on_list(session=session, beneficiary=person)).data)


@extend_schema(tags=["sessions"])
class SessionViewSet(SessionListActions, mixins.UpdateModelMixin, ScopedViewSet):
    """Sessions at centres within your scope: plan, change, cancel, allocate, read the list."""

    queryset = Session.objects.select_related("vaccine", "centre")
    serializer_class = SessionSerializer
    write_perm = "covax.add_session"
    action_perms = {"allocate": "covax.allocate", "bulk": "covax.add_session"}
    filterset_class = SessionFilter
    ordering_fields = ["date", "id", "capacity", "centre"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    api_errors = {
        "partial_update": ["invalid_status_change", "capacity_below_allocated"],
        "allocate": ["session_closed"],
    }

    def perform_service(self, data):
        return services.session_create(**data)

    @extend_schema(request=SessionUpdateSerializer, responses={200: SessionSerializer})
    def partial_update(self, request, *args, **kwargs):
        """Change capacity, age limits, slots, categories or status (cancelling frees every place)."""
        session = self.get_object()
        body = SessionUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        session = services.session_update(session=session, user=request.user, **body.validated_data)
        return Response(SessionSerializer(session, context=self.get_serializer_context()).data)

    @extend_schema(
        request=SessionBulkSerializer,
        responses={201: SessionSerializer(many=True)},
        examples=[
            OpenApiExample(
                "Two centres",
                request_only=True,
                value={
                    "centres": [1, 2],
                    "date": "2021-01-16",
                    "vaccine": "COVISHIELD",
                    "dose": 1,
                    "capacity": 100,
                    "slots": ["09:00AM-11:00AM", "11:00AM-01:00PM"],
                    "categories": ["HCW"],
                },
            )
        ],
    )
    @action(detail=False, methods=["post"], pagination_class=None)  # answers the new sessions, unpaged
    def bulk(self, request):
        """Plan the same session at several centres at once (all or none).

        An error names the centre it is about (`centre` in the body)."""
        body = SessionBulkSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        sessions = services.session_create_many(**body.validated_data)
        out = SessionSerializer(sessions, many=True, context=self.get_serializer_context())
        return Response(out.data, status=status.HTTP_201_CREATED)
