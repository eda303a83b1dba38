"""Django admin for superusers, and `createsuperuser --noinput` from the environment."""

from __future__ import annotations

import os
from unittest import mock

from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

from covax.accounts.models import Role, User
from sessions_app.models import Allocation
from sessions_app.planning.services import allocation_create
from tests.base import ApiTestCase
from tests.factories import BeneficiaryFactory, SessionFactory


class AdminTestCase(ApiTestCase):
    def test_it_opens_every_admin_list_for_a_superuser(self):
        BeneficiaryFactory(district=self.hisar)
        self.client.force_login(self.superuser)
        for model in admin.site._registry:
            url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
            self.assertEqual(self.client.get(url).status_code, 200, url)

    def test_it_keeps_the_admin_closed_to_other_roles(self):
        self.client.force_login(self.hisar_officer)
        r = self.client.get(reverse("admin:beneficiaries_beneficiary_changelist"))
        self.assertEqual(r.status_code, 302)

    def test_it_creates_a_superuser_from_django_superuser_variables(self):
        env = {
            "DJANGO_SUPERUSER_USERNAME": "ops",
            "DJANGO_SUPERUSER_PASSWORD": "a-long-pass-9",
            "DJANGO_SUPERUSER_EMAIL": "ops@example.in",
        }
        with mock.patch.dict(os.environ, env):
            call_command("createsuperuser", "--noinput", verbosity=0)
        user = User.objects.get(username="ops")
        self.assertTrue(user.is_superuser and user.check_password("a-long-pass-9"))
        self.assertEqual(user.role, Role.SUPERUSER)

    def test_it_leaves_seats_and_allocations_to_the_services(self):
        session = SessionFactory(centre=self.centre_a, vaccine=self.covishield, capacity=10)
        allocation_create(session=session, reference_ids=[BeneficiaryFactory(district=self.hisar).reference_id])
        allocation = Allocation.objects.get(session=session)
        self.client.force_login(self.superuser)
        url = reverse("admin:sessions_app_allocation_change", args=[allocation.pk])
        self.assertEqual(self.client.get(url).status_code, 200)  # to read
        self.assertEqual(self.client.post(url, {"status": "cancelled"}).status_code, 403)
        self.assertEqual(self.client.get(reverse("admin:sessions_app_allocation_add")).status_code, 403)
        self.assertEqual(
            self.client.post(reverse("admin:sessions_app_allocation_delete", args=[allocation.pk])).status_code, 403
        )
        r = self.client.get(reverse("admin:sessions_app_session_change", args=[session.pk]))
        self.assertNotContains(r, 'name="allocated_count"')
        self.assertNotContains(r, 'name="status"')
        self.assertContains(r, 'name="capacity"')
        allocation.refresh_from_db()
        session.refresh_from_db()
        self.assertEqual((allocation.status, session.allocated_count), ("active", 1))
