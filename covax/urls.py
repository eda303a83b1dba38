from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from covax.accounts.api import TokenView, UserViewSet
from covax.views import healthz

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.include_format_suffixes = False  # "/centres/0.5/" is a bad id, not id 0 in format "5"
router.register("users", UserViewSet, basename="user")

urlpatterns = [
    path("api/v1/", include("sessions_app.api_urls")),  # first: it holds the dose route (SPEC §6)
    path("api/v1/auth/token/", TokenView.as_view(), name="api-token"),
    path("api/v1/", include(router.urls)),
    path("api/v1/", include("beneficiaries.api_urls")),
    path("api/v2/", include("sessions_app.public_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its boot script as a file: the page runs under the strict CSP.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("covax.pages")),
    path("", include("sessions_app.urls")),
    path("", include("beneficiaries.urls")),
]

# Unmatched paths under /api/v1/ answer the API's JSON error (covax/api.py).
handler404 = "covax.api.not_found"

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
