"""Pages of the sessions app (district officer and centre staff)."""

urlpatterns: list = []
