"""Pages of the beneficiaries app (uploads, duplicate review)."""

urlpatterns: list = []
