"""django-filter for API v1, inside the caller's scope.

A module of its own: DRF reads DEFAULT_FILTER_BACKENDS while its generic views are
being defined, so this must not import them.
"""

from __future__ import annotations

import django_filters
from django_filters.rest_framework import DjangoFilterBackend

from covax.accounts.scope import SCOPE_PATHS, scoped


class FilterBackend(DjangoFilterBackend):
    """django-filter, with every filter by a related id limited to the caller's scope:
    `?district=<a district outside it>` is "not a valid choice", exactly like an id that
    does not exist, and never the other district's rows."""

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is not None:
            for item in filterset.filters.values():
                if isinstance(item, django_filters.ModelChoiceFilter) and _is_scoped(item.queryset):
                    item.queryset = scoped(item.queryset, request.user)
        return filterset


def _is_scoped(queryset) -> bool:
    label = getattr(getattr(queryset, "model", None), "_meta", None)
    return label is not None and (label.label_lower in SCOPE_PATHS or label.label_lower == "accounts.user")
