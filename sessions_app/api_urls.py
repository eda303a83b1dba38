"""API v1 routes of the sessions app (places, vaccines, sessions, doses, reports)."""

from rest_framework.routers import DefaultRouter

from sessions_app.doses.api import VaccinationViewSet
from sessions_app.places.api import CentreViewSet, DistrictViewSet, StateViewSet, VaccineViewSet
from sessions_app.planning.api import SessionViewSet
from sessions_app.reports.api import ReportViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.include_format_suffixes = False  # "/centres/0.5/" is a bad id, not id 0 in format "5"
# Doses first: the busiest route (SPEC §6) is matched without trying the others.
router.register("vaccinations", VaccinationViewSet, basename="vaccination")
router.register("states", StateViewSet, basename="state")
router.register("districts", DistrictViewSet, basename="district")
router.register("centres", CentreViewSet, basename="centre")
router.register("vaccines", VaccineViewSet, basename="vaccine")
router.register("sessions", SessionViewSet, basename="session")
router.register("reports", ReportViewSet, basename="report")

urlpatterns = router.urls
