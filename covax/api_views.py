"""Scope-aware building blocks for every endpoint: related fields that resolve only
inside the caller's scope, and a viewset that lists through `scoped()` and creates
through a service (filters: covax/api_filters.py)."""

from __future__ import annotations

from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from covax.accounts.permissions import HasRulePerm
from covax.accounts.scope import scoped


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
        obj = self.perform_service(serializer.validated_data)  # a name taken meanwhile: the service's Conflict
        out = (self.output_serializer_class or self.get_serializer_class())(obj, context=self.get_serializer_context())
        return Response(out.data, status=status.HTTP_201_CREATED)

    def perform_service(self, data: dict):  # pragma: no cover - every subclass defines it
        raise NotImplementedError
