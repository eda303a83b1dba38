"""Scope-aware building blocks for every endpoint: related fields that resolve only
inside the caller's scope, and a viewset that lists through `scoped()` and creates
through a service (filters: covax/api_filters.py)."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from covax.accounts.permissions import HasRulePerm
from covax.accounts.scope import scoped
from covax.errors import Conflict


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A reference by id that only resolves inside the caller's scope: an id outside it
    reads as "does not exist", exactly like an id that does not exist."""

    def get_queryset(self):
        return scoped(super().get_queryset(), self.context["request"].user)


class ScopedViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """List, retrieve and create, always through `scoped()`; creation goes through
    `perform_service()` which calls the app's service with validated data."""

    permission_classes = [HasRulePerm]
    output_serializer_class: type[serializers.Serializer] | None = None
    api_errors = {"create": ["already_exists"]}

    def get_queryset(self):
        return scoped(super().get_queryset(), self.request.user)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            with transaction.atomic():
                obj = self.perform_service(serializer.validated_data)
        except IntegrityError:
            # Two requests creating the same name or code at once: the validators passed
            # for both, the unique index refused the second.
            raise Conflict(_("Something with the same name or code exists already."), code="already_exists") from None
        out = (self.output_serializer_class or self.get_serializer_class())(obj, context=self.get_serializer_context())
        return Response(out.data, status=status.HTTP_201_CREATED)

    def perform_service(self, data: dict):  # pragma: no cover - every subclass defines it
        raise NotImplementedError
