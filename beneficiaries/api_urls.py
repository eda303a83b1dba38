"""API v1 routes of the beneficiaries app (people, uploads, duplicates)."""

from rest_framework.routers import DefaultRouter

from beneficiaries.api import BeneficiaryViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("beneficiaries", BeneficiaryViewSet, basename="beneficiary")

urlpatterns = router.urls
