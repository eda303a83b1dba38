"""DRF permission that asks `rules` for a view's action permission."""

from rest_framework.permissions import SAFE_METHODS, BasePermission


class HasRulePerm(BasePermission):
    """Allow safe methods to any signed-in user (scope filters the rows); writes need
    the view's `write_perm` (or `action_perms[action]`)."""

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        perm = getattr(view, "action_perms", {}).get(getattr(view, "action", None))
        if perm is None and request.method not in SAFE_METHODS:
            perm = getattr(view, "write_perm", None)
        return perm is None or request.user.has_perm(perm)
