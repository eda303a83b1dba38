from django.contrib import admin

from beneficiaries.models import Beneficiary, DuplicateCandidate, Upload


@admin.register(Beneficiary)
class BeneficiaryAdmin(admin.ModelAdmin):
    list_display = ["reference_id", "name", "gender", "birth_year", "id_type", "id_last4", "category", "district"]
    list_filter = ["category", "id_type", "district"]
    search_fields = ["reference_id", "name", "id_last4"]
    # The hash is an implementation detail; the full ID number is never stored.
    exclude = ["id_hash"]
    readonly_fields = ["reference_id", "id_type", "id_last4", "merged_into", "created_by_upload"]
    raw_id_fields = ["district", "preferred_centre"]


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "district", "original_name", "status", "progress", "rows_total", "created_at"]
    list_filter = ["kind", "status"]


@admin.register(DuplicateCandidate)
class DuplicateCandidateAdmin(admin.ModelAdmin):
    list_display = ["first", "second", "score", "status"]
    list_filter = ["status"]
    raw_id_fields = ["first", "second", "decided_by"]
