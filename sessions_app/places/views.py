"""District officer pages for centres: list, create, edit."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from covax.accounts.scope import get_scoped, scoped
from covax.errors import ServiceError
from sessions_app.forms import CentreForm, add_service_error
from sessions_app.models import Centre, District
from sessions_app.places import services
from sessions_app.views import require_perm


@require_perm("covax.view_reports")
def centre_list(request):
    centres = scoped(Centre.objects.select_related("district"), request.user).order_by("district__name", "name")
    return render(request, "officer/centre_list.html", {"centres": centres})


@require_http_methods(["GET", "POST"])
@require_perm("covax.add_centre")
def centre_create(request):
    districts = scoped(District.objects.all(), request.user)
    form = CentreForm(request.POST or None, districts=districts)
    if request.method == "POST" and form.is_valid():
        try:
            centre = services.centre_create(district=form.cleaned_data["district"], **form.service_fields())
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Centre %(name)s created.") % {"name": centre.name})
            return redirect("officer_centres")
    return render(request, "officer/centre_form.html", {"form": form}, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@require_perm("covax.change_centre")
def centre_edit(request, pk: int):
    centre = get_scoped(Centre.objects.all(), request.user, pk=pk)
    districts = scoped(District.objects.all(), request.user)
    form = CentreForm(request.POST or None, instance=centre, districts=districts)
    if request.method == "POST" and form.is_valid():
        try:
            # The form worked on a copy; the service saves the checked values.
            fresh = Centre.objects.get(pk=centre.pk)
            services.centre_update(centre=fresh, **form.service_fields())
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Centre %(name)s saved.") % {"name": fresh.name})
            return redirect("officer_centres")
    return render(
        request, "officer/centre_form.html", {"form": form, "centre": centre}, status=400 if form.errors else 200
    )
