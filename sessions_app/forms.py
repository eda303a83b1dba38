"""Page forms: they parse and validate what a person typed; the services decide.

A ServiceError raised by a service is put back on the form next to its field
(`add_service_error`), so the person sees the reason where they typed the value.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from beneficiaries.identity import ID_TYPE_CHOICES
from beneficiaries.models import Category, Gender
from covax.errors import ServiceError
from sessions_app.models import AefiSeverity, Centre, FeeType, Vaccine
from sessions_app.slots import validate_slot


class NoEchoInput(forms.TextInput):
    """A text box that never renders what was typed back into the page: a full ID
    number must not travel back to the browser, not even to redisplay a form."""

    def format_value(self, value):
        return None


def add_service_error(form: forms.Form, exc: ServiceError) -> None:
    field = exc.extra.get("field")
    field = getattr(form, "service_field_map", {}).get(field, field)
    form.add_error(field if field in form.fields else None, str(exc.detail))


class CentreForm(forms.ModelForm):
    pincode = forms.RegexField(
        regex=r"^[1-9][0-9]{5}$",
        label=_("Pincode"),
        error_messages={"invalid": _("A pincode is 6 digits and does not start with 0.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "postal-code"}),
    )
    fees_text = forms.CharField(
        label=_("Fees (paid centres)"),
        required=False,
        help_text=_("One per line: vaccine code and rupees, e.g. COVISHIELD 780"),
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    class Meta:
        model = Centre
        fields = [
            "district",
            "name",
            "name_hi",
            "address",
            "address_hi",
            "block",
            "block_hi",
            "pincode",
            "lat",
            "long",
            "fee_type",
            "opens",
            "closes",
        ]
        labels = {
            "district": _("District"),
            "name": _("Name"),
            "name_hi": _("Name in Hindi"),
            "address": _("Address"),
            "address_hi": _("Address in Hindi"),
            "block": _("Block"),
            "block_hi": _("Block in Hindi"),
            "lat": _("Latitude"),
            "long": _("Longitude"),
            "fee_type": _("Fee type"),
            "opens": _("Opens at"),
            "closes": _("Closes at"),
        }
        widgets = {
            "opens": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "closes": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }

    # The service names `fees`; on this form the person types them into `fees_text`.
    service_field_map = {"fees": "fees_text"}

    def __init__(self, *args, districts=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["district"].queryset = districts
        self.fields["lat"].min_value, self.fields["lat"].max_value = -90, 90
        self.fields["long"].min_value, self.fields["long"].max_value = -180, 180
        for name in ("lat", "long"):
            field = self.fields[name]
            field.validators += [MinValueValidator(field.min_value), MaxValueValidator(field.max_value)]
        self.fields["fee_type"].choices = FeeType.choices
        if self.instance.pk:
            # The district of an existing centre is fixed: people and sessions hang on it.
            self.fields["district"].disabled = True
            self.fields["fees_text"].initial = "\n".join(f"{k} {v}" for k, v in self.instance.fees.items())
        elif districts is not None and districts.count() == 1:
            self.fields["district"].initial = districts.first()

    def clean_fees_text(self) -> dict[str, int]:
        fees: dict[str, int] = {}
        for line in self.cleaned_data["fees_text"].splitlines():
            if not line.strip():
                continue
            parts = line.replace(":", " ").replace("=", " ").split()
            if len(parts) != 2 or not parts[1].isdigit():
                raise ValidationError(
                    _("Write each fee as a vaccine code and a number of rupees, e.g. COVISHIELD 780.")
                )
            fees[parts[0].upper()] = int(parts[1])
        return fees

    def _post_clean(self):
        """Field values and unique names are checked here; the check constraints are the
        service's to explain (its messages say what to fix, the database's only name
        the constraint)."""
        exclude = self._get_validation_exclusions()
        try:
            self.instance = forms.models.construct_instance(self, self.instance, self._meta.fields)
            self.instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
            self.instance.validate_unique(exclude=exclude)
        except ValidationError as exc:
            self._update_errors(exc)

    def service_fields(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k not in ("district", "fees_text")}
        data["fees"] = self.cleaned_data["fees_text"]
        return data


class SessionPlanForm(forms.Form):
    """Sessions for several centres (and days) at once."""

    centres = forms.ModelMultipleChoiceField(
        queryset=Centre.objects.none(), label=_("Centres"), widget=forms.CheckboxSelectMultiple
    )
    date = forms.DateField(label=_("First day"), widget=forms.DateInput(attrs={"type": "date"}))
    days = forms.IntegerField(
        label=_("Number of days"),
        min_value=1,
        max_value=14,
        initial=1,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    vaccine = forms.ModelChoiceField(queryset=Vaccine.objects.all(), label=_("Vaccine"), to_field_name="code")
    dose = forms.IntegerField(label=_("Dose"), min_value=1, max_value=10, initial=1)
    capacity = forms.IntegerField(label=_("Capacity per session"), min_value=1, max_value=100000, initial=100)
    min_age = forms.IntegerField(label=_("Minimum age"), min_value=0, max_value=130, initial=18)
    max_age = forms.IntegerField(label=_("Maximum age"), min_value=0, max_value=130, required=False)
    categories = forms.MultipleChoiceField(
        label=_("Eligible categories (none ticked: everyone)"),
        choices=Category.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    slots = forms.CharField(
        label=_("Time slots"),
        required=False,
        help_text=_("One per line, e.g. 09:00AM-11:00AM. Empty: two-hour slots over the centre's hours."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, centres=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["centres"].queryset = centres
        self.fields["date"].initial = timezone.localdate() + dt.timedelta(days=1)

    def clean_slots(self) -> list[str]:
        slots = [s.strip().upper().replace(" ", "") for s in self.cleaned_data["slots"].splitlines() if s.strip()]
        for slot in slots:
            validate_slot(slot)
        return slots

    def dates(self) -> list[dt.date]:
        first = self.cleaned_data["date"]
        return [first + dt.timedelta(days=i) for i in range(self.cleaned_data["days"])]


class AllocateForm(forms.Form):
    reference_ids = forms.CharField(
        label=_("Reference ids"),
        required=False,
        help_text=_("One or more 14-digit reference ids, separated by spaces, commas or new lines."),
        widget=forms.Textarea(attrs={"rows": 4, "inputmode": "numeric"}),
    )

    def clean_reference_ids(self) -> list[str]:
        text = self.cleaned_data["reference_ids"].replace(",", " ")
        return list(dict.fromkeys(text.split()))


class WhyForm(forms.Form):
    reference_id = forms.CharField(
        label=_("Reference id"), max_length=14, widget=forms.TextInput(attrs={"inputmode": "numeric"})
    )


class VerifyForm(forms.Form):
    id_type = forms.ChoiceField(label=_("Photo ID"), choices=ID_TYPE_CHOICES)
    # Never rendered back with its value: the full number must not travel back to the page.
    id_number = forms.CharField(
        label=_("ID number"),
        max_length=40,
        widget=NoEchoInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )


class WalkInForm(VerifyForm):
    name = forms.CharField(label=_("Name"), max_length=200)
    gender = forms.ChoiceField(label=_("Gender"), choices=Gender.choices, widget=forms.RadioSelect)
    birth_year = forms.IntegerField(
        label=_("Year of birth"),
        min_value=1900,
        max_value=2100,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    lot_number = forms.CharField(label=_("Lot number"), max_length=50, required=False)

    field_order = ["name", "gender", "birth_year", "phone", "id_type", "id_number", "category", "lot_number"]


class AefiForm(forms.Form):
    severity = forms.ChoiceField(label=_("Severity"), choices=AefiSeverity.choices, widget=forms.RadioSelect)
    notes = forms.CharField(label=_("Observation notes"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    observed_at = forms.DateTimeField(
        label=_("Observed at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Say what went wrong, e.g. the wrong person was marked. This is kept in the audit log."),
    )


class ReportForm(forms.Form):
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def period(self) -> tuple[dt.date, dt.date]:
        today = timezone.localdate()
        data = self.cleaned_data if self.is_valid() else {}
        date_to = data.get("date_to") or today
        date_from = data.get("date_from") or date_to - dt.timedelta(days=6)
        if date_from > date_to:
            date_from, date_to = date_to, date_from
        return date_from, date_to
