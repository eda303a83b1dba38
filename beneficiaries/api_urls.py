"""API v1 routes of the beneficiaries app (people, uploads, duplicates)."""

from rest_framework.routers import DefaultRouter

from beneficiaries.api import BeneficiaryViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("beneficiaries", BeneficiaryViewSet, basename="beneficiary")

# --- probable duplicates (guard 2) ---
from beneficiaries.duplicates_api import DuplicateViewSet  # noqa: E402

router.register("duplicates", DuplicateViewSet, basename="duplicate")
# --- end probable duplicates ---

urlpatterns = router.urls
