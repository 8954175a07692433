from django.contrib import admin

from core.admin import ReadOnlyModelAdmin

from .models import CohortSpec, Trial


@admin.register(Trial)
class TrialAdmin(ReadOnlyModelAdmin):
    list_display = ("name", "organisation", "phase", "created_at")


@admin.register(CohortSpec)
class CohortSpecAdmin(ReadOnlyModelAdmin):
    list_display = ("trial", "version", "frozen_at", "created_at")
