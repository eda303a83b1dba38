"""Users and their roles (SPEC §2). A user's scope is the place their role names."""

from __future__ import annotations

import pghistory
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    SUPERUSER = "superuser", _("Superuser")
    STATE_ADMIN = "state_admin", _("State admin")
    DISTRICT_OFFICER = "district_officer", _("District officer")
    CENTRE_STAFF = "centre_staff", _("Centre staff")


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), exclude=["password", "last_login"])
class User(AbstractUser):
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CENTRE_STAFF)
    state = models.ForeignKey("sessions_app.State", null=True, blank=True, on_delete=models.PROTECT)
    district = models.ForeignKey("sessions_app.District", null=True, blank=True, on_delete=models.PROTECT)
    centre = models.ForeignKey("sessions_app.Centre", null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        constraints = [
            # Each role is tied to exactly the one place that defines its scope, so a
            # half-configured user can never see "everything" by accident.
            models.CheckConstraint(
                name="user_role_matches_scope",
                condition=(
                    Q(role="superuser", state__isnull=True, district__isnull=True, centre__isnull=True)
                    | Q(role="state_admin", state__isnull=False, district__isnull=True, centre__isnull=True)
                    | Q(role="district_officer", state__isnull=True, district__isnull=False, centre__isnull=True)
                    | Q(role="centre_staff", state__isnull=True, district__isnull=True, centre__isnull=False)
                ),
            ),
        ]

    def save(self, *args, **kwargs):
        # `createsuperuser --noinput` creates a plain user with is_superuser set.
        if self.is_superuser:
            self.role = Role.SUPERUSER
        super().save(*args, **kwargs)
