from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from covax.accounts.models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "role", "state", "district", "centre", "is_active"]
    list_filter = ["role", "is_active"]
    fieldsets = BaseUserAdmin.fieldsets + (("Role and scope", {"fields": ("role", "state", "district", "centre")}),)
