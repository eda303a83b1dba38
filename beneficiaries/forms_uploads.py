"""The upload form of the district officer's page.

The form only parses: which file, which kind, which district. What a file may be (its
type, size, emptiness) is checked by `upload_create`, the same service the API calls,
and its refusals are shown next to the field they name.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import UploadKind
from covax.accounts.models import Role
from covax.accounts.scope import scoped
from sessions_app.models import District


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_("CSV (UTF-8) or Excel .xlsx. The first row is the header."),
        error_messages={"required": _("Choose a file to upload."), "empty": _("The file is empty.")},
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,.txt"}),
    )
    kind = forms.ChoiceField(
        label=_("What the file lists"),
        choices=[
            (UploadKind.BENEFICIARIES, _("People to vaccinate (beneficiaries)")),
            (UploadKind.VACCINATIONS, _("Doses recorded on paper (vaccinations)")),
        ],
        initial=UploadKind.BENEFICIARIES,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": _("Choose beneficiaries or vaccinations."), "required": _("Choose a kind.")},
    )
    district = forms.ModelChoiceField(
        label=_("District"),
        queryset=District.objects.none(),
        error_messages={"invalid_choice": _("Choose one of your districts."), "required": _("Choose a district.")},
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if user.role == Role.DISTRICT_OFFICER:
            del self.fields["district"]  # an officer uploads for their own district only
        else:
            self.fields["district"].queryset = scoped(District.objects.order_by("name"), user)

    def district_for_upload(self) -> District:
        if "district" in self.fields:
            return self.cleaned_data["district"]
        return self.user.district
