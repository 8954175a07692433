from django.contrib import admin

from core.admin import ReadOnlyModelAdmin

from .models import Volume


@admin.register(Volume)
class VolumeAdmin(ReadOnlyModelAdmin):
    list_display = ("subject", "visit", "sequence", "engine", "status", "size_bytes")
    list_filter = ("status", "engine", "sequence")
