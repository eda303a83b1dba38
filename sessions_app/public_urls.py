"""CoWIN-compatible public API (SPEC §5), mounted at /api/v2/."""

urlpatterns: list = []
