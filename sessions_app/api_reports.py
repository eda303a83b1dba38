"""Reports API (SPEC §4 `GET /api/v1/reports/sessions/`, plus coverage by day and
category). Reads only, through selectors, inside the caller's scope."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from covax.accounts.permissions import HasRulePerm
from sessions_app.selectors_coverage import coverage_report
from sessions_app.selectors_reports import session_report

MAX_DAYS = 366


class ReportQuerySerializer(serializers.Serializer):
    district = serializers.IntegerField(required=False, min_value=1)
    state = serializers.IntegerField(required=False, min_value=1)
    date = serializers.DateField(required=False, help_text="One day (YYYY-MM-DD); default today.")
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)

    def validate(self, attrs):
        day = attrs.get("date")
        today = timezone.localdate()
        attrs["date_from"] = attrs.get("date_from") or day or today
        attrs["date_to"] = attrs.get("date_to") or day or attrs["date_from"]
        if attrs["date_to"] < attrs["date_from"]:
            raise serializers.ValidationError({"date_to": ["date_to is before date_from."]})
        if (attrs["date_to"] - attrs["date_from"]).days > MAX_DAYS:
            raise serializers.ValidationError({"date_to": [f"Ask for at most {MAX_DAYS} days at a time."]})
        return attrs


class SessionReportSerializer(serializers.Serializer):
    session = serializers.IntegerField(source="session_id")
    date = serializers.DateField()
    centre = serializers.CharField()
    vaccine = serializers.CharField()
    dose = serializers.IntegerField()
    status = serializers.CharField()
    capacity = serializers.IntegerField()
    allocated = serializers.IntegerField()
    vaccinated = serializers.IntegerField()
    turnout = serializers.IntegerField(allow_null=True, help_text="Vaccinated as a percentage of allocated.")


class CoverageDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    category = serializers.CharField()
    dose = serializers.IntegerField()
    vaccinated = serializers.IntegerField()


class CoverageSerializer(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    days = CoverageDaySerializer(many=True)
    registered = serializers.DictField(child=serializers.IntegerField(), help_text="People registered per category.")


_PARAMS = [
    OpenApiParameter("district", int),
    OpenApiParameter("state", int),
    OpenApiParameter("date", dt.date, description="One day; default today."),
    OpenApiParameter("date_from", dt.date),
    OpenApiParameter("date_to", dt.date),
]


@extend_schema(tags=["reports"])
class ReportViewSet(viewsets.ViewSet):
    permission_classes = [HasRulePerm]
    action_perms = {"sessions": "covax.view_reports", "coverage": "covax.view_reports"}

    def _query(self, request) -> dict:
        query = ReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return query.validated_data

    @extend_schema(parameters=_PARAMS, responses={200: SessionReportSerializer(many=True)})
    @action(detail=False, methods=["get"])
    def sessions(self, request):
        """Per session: capacity, allocated, vaccinated, turnout."""
        q = self._query(request)
        rows = session_report(
            user=request.user,
            date_from=q["date_from"],
            date_to=q["date_to"],
            district=q.get("district"),
            state=q.get("state"),
        )
        return Response(SessionReportSerializer(rows, many=True).data)

    @extend_schema(parameters=_PARAMS, responses={200: CoverageSerializer})
    @action(detail=False, methods=["get"])
    def coverage(self, request):
        """Doses per day, category and dose number; people registered per category."""
        q = self._query(request)
        report = coverage_report(
            user=request.user,
            date_from=q["date_from"],
            date_to=q["date_to"],
            district=q.get("district"),
            state=q.get("state"),
        )
        return Response(CoverageSerializer(report).data)
