"""Provenance manifest: what was exported, from what, with the SHA-256 of every file.

The manifest holds no wall-clock time, host or user, so exporting the same run with the same
options twice gives the same manifest (and archive) byte for byte; who exported what and when
belongs to the platform's audit trail. ``verify_archive`` re-hashes an archive against its
manifest (what an auditor runs).
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ExportError
from .imaging_common import json_bytes

__all__ = [
    "EXPORTER_VERSION",
    "MANIFEST_FORMAT",
    "MANIFEST_NAME",
    "FileEntry",
    "build_manifest",
    "jsonable",
    "sha256_bytes",
    "sha256_file",
    "verify_archive",
]

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "sca-export-manifest/1"
#: Version of this export format/library; bump when any output byte layout changes.
EXPORTER_VERSION = "1.0.0"
#: Libraries whose version changes the bytes written.
_LIBRARIES = ("numpy", "pandas", "pyreadstat", "nibabel")
_CHUNK_BYTES = 1 << 20

FileEntry = dict[str, Any]


def sha256_bytes(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def jsonable(value: Any, where: str) -> Any:
    """Plain-JSON copy of ``value`` (numpy scalars converted); anything else is an error."""

    def default(item: Any) -> Any:
        if isinstance(item, np.integer):
            return int(item)
        if isinstance(item, np.floating):
            return float(item)
        if isinstance(item, np.bool_):
            return bool(item)
        if isinstance(item, tuple | set | frozenset):
            return sorted(item) if isinstance(item, set | frozenset) else list(item)
        raise ExportError(f"{where}: {type(item).__name__} value is not JSON-serialisable")

    return json.loads(json.dumps(value, default=default, sort_keys=True))


def _library_versions() -> dict[str, str]:
    versions = {}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover
            versions[name] = "unknown"
    return versions


def build_manifest(
    *,
    study_id: str,
    spec: dict[str, Any],
    seed: int,
    versions: dict[str, str],
    options: dict[str, Any],
    files: Iterable[FileEntry],
    counts: dict[str, Any],
    notes: Iterable[str],
) -> dict[str, Any]:
    """The manifest dict; ``files`` entries are ``{"path", "sha256", "bytes"}``."""
    return {
        "format": MANIFEST_FORMAT,
        "synthetic": True,
        "study_id": study_id,
        "seed": int(seed),
        "spec": jsonable(spec, "spec"),
        "versions": jsonable(dict(versions), "versions"),
        "exporter": {"version": EXPORTER_VERSION, "libraries": _library_versions()},
        "options": jsonable(options, "options"),
        "counts": jsonable(counts, "counts"),
        "notes": sorted(set(notes)),
        "files": sorted(files, key=lambda entry: entry["path"]),
    }


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return json_bytes(manifest)


def verify_archive(path: Path) -> list[str]:
    """Problems found re-hashing ``path`` against its manifest (empty list = intact)."""
    problems: list[str] = []
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        if MANIFEST_NAME not in names:
            return [f"{path}: no {MANIFEST_NAME}"]
        manifest = json.loads(archive.read(MANIFEST_NAME))
        listed = {entry["path"]: entry for entry in manifest["files"]}
        for name in sorted(names - {MANIFEST_NAME} - set(listed)):
            problems.append(f"{name}: in the archive but not in the manifest")
        for name, entry in sorted(listed.items()):
            if name not in names:
                problems.append(f"{name}: in the manifest but not in the archive")
                continue
            digest = hashlib.sha256()
            with archive.open(name) as handle:
                while chunk := handle.read(_CHUNK_BYTES):
                    digest.update(chunk)
            if digest.hexdigest() != entry["sha256"]:
                problems.append(f"{name}: SHA-256 differs from the manifest")
    return problems
