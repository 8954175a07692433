from django.contrib import admin

from .models import Volume


@admin.register(Volume)
class VolumeAdmin(admin.ModelAdmin):
    list_display = ("subject", "visit", "sequence", "engine", "status", "size_bytes")
    list_filter = ("status", "engine", "sequence")
    readonly_fields = [f.name for f in Volume._meta.fields]
