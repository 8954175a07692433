from django.contrib import admin

from core.admin import ReadOnlyInline, ReadOnlyModelAdmin

from .models import RunChunk, SimulationRun


class RunChunkInline(ReadOnlyInline):
    model = RunChunk


@admin.register(SimulationRun)
class SimulationRunAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "trial", "status", "size", "chunks_done", "chunks_total", "created_at")
    list_filter = ("status",)
    inlines = [RunChunkInline]
