"""Pages of the beneficiaries app (uploads, duplicate review)."""

from django.urls import path

from beneficiaries import views_duplicates, views_uploads

urlpatterns: list = []

# --- uploads (district officer pages) ---
urlpatterns += [
    path("uploads/", views_uploads.upload_list, name="upload_list"),
    path("uploads/<int:pk>/", views_uploads.upload_detail, name="upload_detail"),
    path("uploads/<int:pk>/progress/", views_uploads.upload_progress, name="upload_progress"),
    path("uploads/<int:pk>/errors.csv", views_uploads.upload_errors, name="upload_errors_csv"),
    path("uploads/<int:pk>/rollback/", views_uploads.upload_rollback, name="upload_rollback"),
]
# --- end uploads ---

# --- probable duplicates (guard 2) ---
urlpatterns += [
    path("duplicates/", views_duplicates.duplicate_queue, name="duplicate_queue"),
    path("duplicates/scan/", views_duplicates.duplicate_scan, name="duplicate_scan"),
    path("duplicates/<int:pk>/", views_duplicates.duplicate_pair, name="duplicate_pair"),
    path("duplicates/<int:pk>/merge/", views_duplicates.duplicate_merge, name="duplicate_merge"),
    path("duplicates/<int:pk>/distinct/", views_duplicates.duplicate_distinct, name="duplicate_distinct"),
    path("duplicates/<int:pk>/unmerge/", views_duplicates.duplicate_unmerge, name="duplicate_unmerge"),
    path("duplicates/<int:pk>/reopen/", views_duplicates.duplicate_reopen, name="duplicate_reopen"),
]
# --- end probable duplicates ---
