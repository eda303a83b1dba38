"""API v1 routes of the beneficiaries app (people, uploads, duplicates)."""

from rest_framework.routers import DefaultRouter

from beneficiaries.api import BeneficiaryViewSet
from beneficiaries.duplicates_api import DuplicateViewSet
from beneficiaries.uploads_api import UploadViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.include_format_suffixes = False  # "/centres/0.5/" is a bad id, not id 0 in format "5"
router.register("beneficiaries", BeneficiaryViewSet, basename="beneficiary")
router.register("uploads", UploadViewSet, basename="upload")
router.register("duplicates", DuplicateViewSet, basename="duplicate")

urlpatterns = router.urls
