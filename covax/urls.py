from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from beneficiaries.api import BeneficiaryViewSet
from covax.accounts.api import TokenView, UserViewSet
from covax.views import healthz
from sessions_app.api import CentreViewSet, DistrictViewSet, SessionViewSet, StateViewSet, VaccineViewSet

router = DefaultRouter(trailing_slash=True)
router.register("users", UserViewSet, basename="user")
router.register("states", StateViewSet, basename="state")
router.register("districts", DistrictViewSet, basename="district")
router.register("centres", CentreViewSet, basename="centre")
router.register("vaccines", VaccineViewSet, basename="vaccine")
router.register("beneficiaries", BeneficiaryViewSet, basename="beneficiary")
router.register("sessions", SessionViewSet, basename="session")

urlpatterns = [
    path("api/v1/auth/token/", TokenView.as_view(), name="api-token"),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("covax.pages")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
