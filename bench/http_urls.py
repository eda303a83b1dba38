"""The product's URLs plus `bench/bare/`, the ceiling of bench/http.py.

Not part of the product: only bench/http_settings.py points at this module.
"""

from django.http import HttpRequest, JsonResponse
from django.urls import path

from covax.urls import urlpatterns as product_urlpatterns
from sessions_app.models import Centre


def bare(request: HttpRequest) -> JsonResponse:
    """The least a Django view can do with the database: read one row, answer JSON."""
    try:
        pk = int(request.GET.get("id", ""))
    except ValueError:
        return JsonResponse({"detail": "id must be an integer"}, status=400)
    centre = Centre.objects.filter(pk=pk).values("id", "name", "pincode").first()
    if centre is None:
        return JsonResponse({"detail": "not found"}, status=404)
    return JsonResponse(centre)


urlpatterns = [path("bench/bare/", bare, name="bench-bare"), *product_urlpatterns]
