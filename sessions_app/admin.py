from django.contrib import admin

from sessions_app.models import Allocation, Centre, District, Session, State, Vaccination, Vaccine


@admin.register(State)
class StateAdmin(admin.ModelAdmin):
    list_display = ["name", "name_hi", "code"]


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    list_display = ["name", "name_hi", "state"]
    list_filter = ["state"]


@admin.register(Centre)
class CentreAdmin(admin.ModelAdmin):
    list_display = ["name", "district", "pincode", "fee_type"]
    list_filter = ["district__state", "fee_type"]
    search_fields = ["name", "pincode"]


@admin.register(Vaccine)
class VaccineAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "doses", "min_interval_days", "max_interval_days"]


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ["date", "centre", "vaccine", "dose", "capacity", "allocated_count", "status"]
    list_filter = ["status", "vaccine", "date"]
    raw_id_fields = ["centre"]
    # Seats move with allocations and a status change may release them: only through
    # the services (allocation_create / allocation_cancel, session_update).
    readonly_fields = ["allocated_count", "status"]


@admin.register(Allocation)
class AllocationAdmin(admin.ModelAdmin):
    # Read-only: an allocation made or cancelled here would not move its session's seats
    # (allocation_create / allocation_cancel do).
    list_display = ["session", "beneficiary", "dose", "status"]
    raw_id_fields = ["session", "beneficiary", "created_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Vaccination)
class VaccinationAdmin(admin.ModelAdmin):
    # Read-only: doses are corrected by voiding with a reason, never edited silently.
    list_display = ["beneficiary", "dose", "vaccine", "centre", "administered_at", "received_at", "source", "voided_at"]
    list_filter = ["source", "vaccine"]
    raw_id_fields = ["beneficiary", "centre", "session", "given_by", "voided_by", "upload"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
