"""Exports of a simulation run: CDISC SDTM/ADaM (XPT v5, CSV, Define-XML), BIDS or BraTS
imaging, and a provenance manifest, in one deterministic zip.

A pure library: no Django imports. The platform builds a ``RunExportData`` from its models,
an ``ExportOptions`` from the request, and calls ``build_export`` (from a Celery task).
"""

from .build import ExportResult, build_export
from .errors import ExportError
from .inputs import (
    ADAM_DATASETS,
    ALL_DATASETS,
    SDTM_DATASETS,
    SEQUENCES,
    SUPPORTED_RESOLUTIONS_MM,
    ExportOptions,
    RunExportData,
)
from .manifest import MANIFEST_NAME, verify_archive

__all__ = [
    "ADAM_DATASETS",
    "ALL_DATASETS",
    "MANIFEST_NAME",
    "SDTM_DATASETS",
    "SEQUENCES",
    "SUPPORTED_RESOLUTIONS_MM",
    "ExportError",
    "ExportOptions",
    "ExportResult",
    "RunExportData",
    "build_export",
    "verify_archive",
]
