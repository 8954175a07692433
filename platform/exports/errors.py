"""The one exception type of the export library."""

from __future__ import annotations

__all__ = ["ExportError"]


class ExportError(ValueError):
    """Bad export input or options; the message names the field or option and the reason."""
