from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "exports"
    verbose_name = "Exports (CDISC SDTM/ADaM, BIDS, provenance)"
