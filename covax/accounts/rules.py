"""What each role may do (SPEC §2), as `rules` permissions.

Scope (which objects) is covax.accounts.scope; this file is only "which actions".
"""

import rules

from covax.accounts.models import Role


@rules.predicate
def is_superuser(user) -> bool:
    return bool(user.is_authenticated and (user.is_superuser or user.role == Role.SUPERUSER))


def _role(role: str):
    @rules.predicate(name=f"is_{role}")
    def predicate(user) -> bool:
        return bool(user.is_authenticated and user.role == role)

    return predicate


is_state_admin = _role(Role.STATE_ADMIN)
is_district_officer = _role(Role.DISTRICT_OFFICER)
is_centre_staff = _role(Role.CENTRE_STAFF)

can_run_state = is_superuser | is_state_admin
can_run_district = can_run_state | is_district_officer
anyone_with_a_role = can_run_district | is_centre_staff

rules.add_perm("covax.add_state", is_superuser)
rules.add_perm("covax.add_district", can_run_state)
rules.add_perm("covax.add_vaccine", can_run_state)
rules.add_perm("covax.add_user", can_run_district)
rules.add_perm("covax.add_centre", can_run_district)
rules.add_perm("covax.change_centre", can_run_district)
rules.add_perm("covax.add_session", can_run_district)
rules.add_perm("covax.allocate", can_run_district)
rules.add_perm("covax.upload", anyone_with_a_role)
rules.add_perm("covax.rollback_upload", can_run_district)
rules.add_perm("covax.review_duplicates", can_run_district)
rules.add_perm("covax.add_beneficiary", anyone_with_a_role)
rules.add_perm("covax.vaccinate", anyone_with_a_role)
rules.add_perm("covax.void_vaccination", anyone_with_a_role)
rules.add_perm("covax.view_reports", can_run_district)

# Which roles a user may create: superusers make state admins and below; a state admin
# makes district officers and centre staff; a district officer makes centre staff.
CREATABLE_ROLES = {
    Role.SUPERUSER: {Role.STATE_ADMIN, Role.DISTRICT_OFFICER, Role.CENTRE_STAFF},
    Role.STATE_ADMIN: {Role.DISTRICT_OFFICER, Role.CENTRE_STAFF},
    Role.DISTRICT_OFFICER: {Role.CENTRE_STAFF},
    Role.CENTRE_STAFF: set(),
}
