"""Pages of the sessions app (district officer and centre staff)."""

from django.urls import path, register_converter

from sessions_app.centre import offline
from sessions_app.centre import views as staff
from sessions_app.places import views as places
from sessions_app.planning import views as planning
from sessions_app.reports import views as reports


class ReferenceIdConverter:
    """A 14-digit reference id; anything else is a 404 before a query is made."""

    regex = "[0-9]{14}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ReferenceIdConverter, "ref")

urlpatterns = [
    # district officer
    path("officer/", reports.dashboard, name="officer_dashboard"),
    path("officer/centres/", places.centre_list, name="officer_centres"),
    path("officer/centres/new/", places.centre_create, name="officer_centre_create"),
    path("officer/centres/<int:pk>/edit/", places.centre_edit, name="officer_centre_edit"),
    path("officer/sessions/", planning.session_week, name="officer_sessions"),
    path("officer/sessions/new/", planning.session_plan, name="officer_session_plan"),
    path("officer/reports/", reports.reports, name="officer_reports"),
    path("officer/reports.csv", reports.reports_csv, name="officer_reports_csv"),
    path("sessions/<int:pk>/allocate/", planning.session_allocate, name="session_allocate"),
    # centre staff
    path("staff/", staff.staff_today, name="staff_today"),
    path("sessions/<int:pk>/", staff.session_page, name="session_page"),
    path("sessions/<int:pk>/mark/<ref:reference_id>/", staff.session_mark, name="session_mark"),
    path("sessions/<int:pk>/verify/", staff.session_verify, name="session_verify"),
    path("sessions/<int:pk>/walk-in/", staff.session_walk_in, name="session_walk_in"),
    path("vaccinations/<int:pk>/aefi/", staff.vaccination_aefi, name="vaccination_aefi"),
    path("vaccinations/<int:pk>/undo/", staff.vaccination_undo_page, name="vaccination_undo"),
    # centre staff, offline (SPEC §3): the service worker at the root so its scope covers
    # the staff pages, the sync endpoint for queued actions, the paper list
    path("sw.js", offline.service_worker, name="service_worker"),
    path("sessions/<int:pk>/sync/", offline.session_sync, name="session_sync"),
    path("sessions/<int:pk>/print/", offline.session_print, name="session_print"),
]
