"""CoWIN-compatible public API (SPEC §5), mounted at /api/v2/: CoWIN's paths exactly."""

from django.urls import path

from sessions_app.public import api as public_api

urlpatterns = [
    path("admin/location/states", public_api.states, name="public-states"),
    path("admin/location/districts/<str:state_id>", public_api.districts, name="public-districts"),
    path("appointment/sessions/public/findByPin", public_api.find_by_pin, name="public-find-by-pin"),
    path("appointment/sessions/public/findByDistrict", public_api.find_by_district, name="public-find-by-district"),
    path("appointment/sessions/public/calendarByPin", public_api.calendar_by_pin, name="public-calendar-by-pin"),
    path(
        "appointment/sessions/public/calendarByDistrict",
        public_api.calendar_by_district,
        name="public-calendar-by-district",
    ),
    path(
        "appointment/sessions/public/calendarByCenter", public_api.calendar_by_center, name="public-calendar-by-center"
    ),
]
