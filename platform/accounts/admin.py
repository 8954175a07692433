"""The Django admin for organisations and memberships, through the audited services.

The admin's own ``save_model``/``delete_model`` would write the rows directly and leave no audit
event; here every save and delete calls the service that changes the data, which audits it in
the same transaction (the admin wraps each change form and delete in one). Organisations cannot
be deleted: their audit trail refers to them for ever.
"""

from django.contrib import admin
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from audit.services import ClientInfo

from .models import Membership, Organisation
from .services import (
    membership_delete,
    membership_set,
    organisation_create,
    organisation_update,
)


def _adopt(obj: Organisation | Membership, saved: Organisation | Membership) -> None:
    """Give the admin's unsaved instance the identity of the row the service saved."""
    obj.pk = saved.pk
    obj.created_at = saved.created_at
    obj._state.adding = False


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "created_at")
    fields = ("name", "slug")

    def save_model(
        self, request: HttpRequest, obj: Organisation, form: ModelForm, change: bool
    ) -> None:
        client = ClientInfo.from_request(request)
        if change:
            changes = {field: form.cleaned_data[field] for field in form.changed_data}
            organisation_update(
                organisation=obj, changes=changes, actor=request.user, client=client
            )
        else:
            saved = organisation_create(
                name=obj.name, slug=obj.slug, actor=request.user, client=client
            )
            _adopt(obj, saved)

    def has_delete_permission(self, request: HttpRequest, obj: Organisation | None = None) -> bool:
        return False


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organisation", "role")
    list_filter = ("role", "organisation")
    fields = ("user", "organisation", "role")

    def get_readonly_fields(
        self, request: HttpRequest, obj: Membership | None = None
    ) -> tuple[str, ...]:
        # A membership is a user's role in one organisation: change the role, or delete it and
        # add another, so that the trail says which organisation gained or lost whom.
        return ("user", "organisation") if obj is not None else ()

    def save_model(
        self, request: HttpRequest, obj: Membership, form: ModelForm, change: bool
    ) -> None:
        saved = membership_set(
            user=obj.user,
            organisation=obj.organisation,
            role=obj.role,
            actor=request.user,
            client=ClientInfo.from_request(request),
        )
        _adopt(obj, saved)

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        membership_delete(
            membership=obj, actor=request.user, client=ClientInfo.from_request(request)
        )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        client = ClientInfo.from_request(request)
        for membership in queryset:
            membership_delete(membership=membership, actor=request.user, client=client)
