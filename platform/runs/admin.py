from django.contrib import admin

from .models import RunChunk, SimulationRun


class RunChunkInline(admin.TabularInline):
    model = RunChunk
    extra = 0
    can_delete = False
    readonly_fields = [f.name for f in RunChunk._meta.fields]


@admin.register(SimulationRun)
class SimulationRunAdmin(admin.ModelAdmin):
    """Read-only view; changes go through the services (and the audit trail)."""

    list_display = ("id", "trial", "status", "size", "chunks_done", "chunks_total", "created_at")
    list_filter = ("status",)
    readonly_fields = [f.name for f in SimulationRun._meta.fields]
    inlines = [RunChunkInline]
