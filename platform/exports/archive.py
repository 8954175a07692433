"""Deterministic zip archives, written atomically.

Same files -> same bytes: entries sorted by path, every timestamp 1980-01-01 00:00:00 (the zip
epoch), permissions 0644, Unix as the creating system, no comments or extra fields. Text and
tables are DEFLATEd (zlib's default level 6); files that are already gzip-compressed (``.gz``)
are STORED, since deflating them again costs CPU and saves nothing.

The archive is written to a temporary file next to ``out_path``, flushed and fsync'ed, then
renamed over ``out_path`` (``os.replace``, atomic on POSIX): a crash or a full disk leaves the
old state, never a half-written archive.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["FIXED_DATE_TIME", "write_archive"]

FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644  # regular file, rw-r--r--
_CREATE_SYSTEM_UNIX = 3
_COPY_CHUNK_BYTES = 1 << 20


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_DATE_TIME)
    info.create_system = _CREATE_SYSTEM_UNIX
    info.external_attr = FILE_MODE << 16
    if name.endswith(".gz"):
        info.compress_type = zipfile.ZIP_STORED
    else:
        info.compress_type = zipfile.ZIP_DEFLATED  # zlib default level (6)
    return info


def write_archive(
    entries: Sequence[tuple[str, Path | bytes]],
    out_path: Path,
    *,
    on_entry: Callable[[], None] | None = None,
) -> None:
    """Zip ``entries`` (archive name -> file path or bytes) to ``out_path`` atomically."""
    names = [name for name, _ in entries]
    if len(set(names)) != len(names):
        raise ValueError("archive: duplicate entry names")
    out_path = Path(out_path)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{out_path.name}.", suffix=".part", dir=out_path.parent
    )
    try:
        with os.fdopen(fd, "wb") as handle:
            with zipfile.ZipFile(handle, "w", allowZip64=True) as archive:
                for name, source in sorted(entries, key=lambda entry: entry[0]):
                    info = _info(name)
                    if isinstance(source, bytes):
                        archive.writestr(info, source)
                    else:
                        size = source.stat().st_size
                        with (
                            source.open("rb") as src,
                            archive.open(info, "w", force_zip64=size >= zipfile.ZIP64_LIMIT) as dst,
                        ):
                            shutil.copyfileobj(src, dst, _COPY_CHUNK_BYTES)
                    if on_entry is not None:
                        on_entry()
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, out_path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
