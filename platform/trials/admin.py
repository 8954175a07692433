from django.contrib import admin

from .models import CohortSpec, Trial


@admin.register(Trial)
class TrialAdmin(admin.ModelAdmin):
    list_display = ("name", "organisation", "phase", "created_at")
    readonly_fields = [f.name for f in Trial._meta.fields]


@admin.register(CohortSpec)
class CohortSpecAdmin(admin.ModelAdmin):
    list_display = ("trial", "version", "frozen_at", "created_at")
    readonly_fields = [f.name for f in CohortSpec._meta.fields]
