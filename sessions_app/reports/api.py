"""Reports API (SPEC §4 `GET /api/v1/reports/sessions/`, plus coverage by day and
category for a district or a state). Reads only, through selectors, inside the caller's
scope: a district or state outside it is "not a valid choice", never its numbers."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from covax.accounts.permissions import HasRulePerm
from covax.api_views import ScopedPrimaryKeyRelatedField
from sessions_app.models import District, State
from sessions_app.reports.coverage import coverage_report
from sessions_app.reports.selectors import report_row, session_report_rows

MAX_DAYS = 366
# No record is older than the drive (CoWIN opened on 16 January 2021): an earlier date is a typo.
FIRST_DAY = dt.date(2021, 1, 1)

# ?ordering= of the session report -> the columns of its query
ORDERING = {
    "date": ("date", "centre__name", "id"),
    "centre": ("centre__name", "date", "id"),
    "capacity": ("capacity", "id"),
    "allocated": ("allocated_count", "id"),
    "vaccinated": ("vaccinated", "id"),
}


class ReportQuerySerializer(serializers.Serializer):
    district = ScopedPrimaryKeyRelatedField(queryset=District.objects.all(), required=False)
    state = ScopedPrimaryKeyRelatedField(queryset=State.objects.all(), required=False)
    date = serializers.DateField(required=False, help_text="One day (YYYY-MM-DD); default today.")
    date_from = serializers.DateField(required=False, help_text="First day (YYYY-MM-DD); default `date`.")
    date_to = serializers.DateField(required=False, help_text="Last day (YYYY-MM-DD); default `date_from`.")

    def validate(self, attrs):
        day = attrs.get("date")
        today = timezone.localdate()
        attrs["date_from"] = attrs.get("date_from") or day or today
        attrs["date_to"] = attrs.get("date_to") or day or attrs["date_from"]
        for name in ("date_from", "date_to"):
            if attrs[name] < FIRST_DAY:
                message = _("Reports begin on %(date)s; give a later date.") % {"date": FIRST_DAY.isoformat()}
                raise serializers.ValidationError({name: [message]})
        if attrs["date_to"] < attrs["date_from"]:
            raise serializers.ValidationError({"date_to": [_("date_to is before date_from.")]})
        if (attrs["date_to"] - attrs["date_from"]).days > MAX_DAYS:
            raise serializers.ValidationError(
                {"date_to": [_("Ask for at most %(days)s days at a time.") % {"days": MAX_DAYS}]}
            )
        return attrs


class SessionReportQuerySerializer(ReportQuerySerializer):
    ordering = serializers.ChoiceField(
        choices=[name for field in ORDERING for name in (field, f"-{field}")],
        required=False,
        default="date",
        help_text="Sort by this column; `-` before it for descending.",
    )


class SessionReportSerializer(serializers.Serializer):
    session = serializers.IntegerField(source="session_id")
    date = serializers.DateField()
    centre = serializers.IntegerField(source="centre_id")
    centre_name = serializers.CharField(source="centre")
    vaccine = serializers.CharField()
    dose = serializers.IntegerField()
    status = serializers.CharField()
    capacity = serializers.IntegerField()
    allocated = serializers.IntegerField()
    vaccinated = serializers.IntegerField()
    turnout = serializers.IntegerField(
        allow_null=True, help_text="Vaccinated as a percentage of allocated (walk-ins can pass 100); null if none."
    )


class CoverageDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    category = serializers.CharField()
    dose = serializers.IntegerField()
    vaccinated = serializers.IntegerField()


class CoverageSerializer(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    days = CoverageDaySerializer(many=True, help_text="Doses given per day, category and dose number.")
    registered = serializers.DictField(child=serializers.IntegerField(), help_text="People registered per category.")


@extend_schema(tags=["reports"])
class ReportViewSet(viewsets.GenericViewSet):
    """Reports for state admins and district officers, inside their scope."""

    permission_classes = [HasRulePerm]
    action_perms = {"sessions": "covax.view_reports", "coverage": "covax.view_reports"}
    filter_backends: list = []  # the query serializers below are the filters

    def _query(self, request, serializer_class=ReportQuerySerializer) -> dict:
        query = serializer_class(data=request.query_params, context={"request": request})
        query.is_valid(raise_exception=True)
        data = query.validated_data
        for key in ("district", "state"):
            data[key] = data[key].pk if data.get(key) else None
        return data

    @extend_schema(
        parameters=[SessionReportQuerySerializer],
        responses={200: SessionReportSerializer(many=True)},
        examples=[
            OpenApiExample(
                "Hisar, 16 January 2021",
                response_only=True,
                value={
                    "count": 1,
                    "next": None,
                    "previous": None,
                    "results": [
                        {
                            "session": 17,
                            "date": "2021-01-16",
                            "centre": 3,
                            "centre_name": "Jindal Hospital",
                            "vaccine": "COVISHIELD",
                            "dose": 1,
                            "status": "closed",
                            "capacity": 100,
                            "allocated": 24,
                            "vaccinated": 3,
                            "turnout": 12,
                        }
                    ],
                },
            )
        ],
    )
    @action(detail=False, methods=["get"])
    def sessions(self, request):
        """Per session: capacity, allocated, vaccinated, turnout (paginated)."""
        q = self._query(request, SessionReportQuerySerializer)
        order = q["ordering"]
        rows = session_report_rows(
            user=request.user,
            date_from=q["date_from"],
            date_to=q["date_to"],
            district=q["district"],
            state=q["state"],
        ).order_by(*(f"-{c}" if order.startswith("-") else c for c in ORDERING[order.lstrip("-")]))
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(SessionReportSerializer([report_row(r) for r in page], many=True).data)

    @extend_schema(parameters=[ReportQuerySerializer], responses={200: CoverageSerializer})
    @action(detail=False, methods=["get"])
    def coverage(self, request):
        """Coverage of a district or a state by day and category.

        Doses given per day, category and dose number, and people registered per category."""
        q = self._query(request)
        report = coverage_report(
            user=request.user,
            date_from=q["date_from"],
            date_to=q["date_to"],
            district=q["district"],
            state=q["state"],
        )
        return Response(CoverageSerializer(report).data)
