"""SAS transport (XPORT) version 5 files via pyreadstat, made byte-reproducible.

pyreadstat's ``write_xport`` writes version 8 unless told ``file_format_version=5``; FDA and PMDA
accept only version 5 (FDA Study Data Technical Conformance Guide). The V5 header records
carry a created/modified timestamp (SAS TS-140: ``ddMMMyy:hh:mm:ss``); we overwrite it with a
fixed value so that the same data always give the same bytes.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pyreadstat

from .errors import ExportError
from .tables import Dataset

__all__ = ["FIXED_TIMESTAMP", "V5_LIBRARY_HEADER", "write_xpt", "xpt_bytes"]

#: First 48 bytes of every transport file (SAS TS-140); version 8 files say ``LIBV8`` instead.
V5_LIBRARY_HEADER = b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!"
#: Replaces the header timestamps: midnight, 1 January 1980 (the zip epoch used by archive.py).
FIXED_TIMESTAMP = b"01JAN80:00:00:00"
_OBS_HEADER = b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!"
_TIMESTAMP_RE = re.compile(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d")


def xpt_bytes(dataset: Dataset) -> bytes:
    """The dataset as XPT v5 bytes (validated first; timestamps fixed)."""
    dataset.validate()
    formats = {v.name: v.display_format for v in dataset.variables if v.display_format}
    fd, tmp_name = tempfile.mkstemp(suffix=".xpt")
    os.close(fd)
    try:
        try:
            pyreadstat.write_xport(
                dataset.frame,
                tmp_name,
                file_label=dataset.label,
                column_labels=[variable.label for variable in dataset.variables],
                table_name=dataset.name,
                file_format_version=5,
                variable_format=formats or None,
            )
        except Exception as error:  # readstat reports limits as generic errors
            raise ExportError(f"{dataset.name}: SAS XPORT writer failed ({error})") from error
        raw = Path(tmp_name).read_bytes()
    finally:
        Path(tmp_name).unlink(missing_ok=True)
    if not raw.startswith(V5_LIBRARY_HEADER):
        raise ExportError(f"{dataset.name}: writer did not produce an XPORT v5 header")
    end = raw.find(_OBS_HEADER)
    if end < 0:
        raise ExportError(f"{dataset.name}: XPORT file has no observation header")
    header = _TIMESTAMP_RE.sub(FIXED_TIMESTAMP, raw[:end])
    return header + raw[end:]


def write_xpt(dataset: Dataset, path: Path) -> Path:
    """Write ``dataset`` to ``path`` as XPT v5; return the path."""
    path.write_bytes(xpt_bytes(dataset))
    return path
