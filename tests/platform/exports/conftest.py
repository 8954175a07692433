"""Session-wide export fixtures: one small synthetic run, exported once per layout."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from exports_testdata import make_run_data

from exports import ExportOptions, ExportResult, RunExportData, build_export

#: Imaging is limited to two visits in the shared archive to keep the suite fast; the tabular
#: datasets always cover every visit.
IMAGING_VISITS = (0, 1)


@pytest.fixture(scope="session")
def run_data() -> RunExportData:
    return make_run_data(6)


@pytest.fixture(scope="session")
def bids_options() -> ExportOptions:
    return ExportOptions(visits=IMAGING_VISITS, resolution_mm=2.0, layout="bids")


@pytest.fixture(scope="session")
def bids_build(
    run_data: RunExportData, bids_options: ExportOptions, tmp_path_factory
) -> tuple[ExportResult, list[tuple[int, int]]]:
    """The BIDS-layout export and the progress calls it made."""
    out = tmp_path_factory.mktemp("bids") / "export.zip"
    calls: list[tuple[int, int]] = []
    result = build_export(
        run_data=run_data,
        options=bids_options,
        out_path=out,
        progress=lambda done, total: calls.append((done, total)),
    )
    return result, calls


@pytest.fixture(scope="session")
def bids_export(bids_build: tuple[ExportResult, list[tuple[int, int]]]) -> ExportResult:
    return bids_build[0]


@pytest.fixture(scope="session")
def bids_tree(bids_export: ExportResult, tmp_path_factory) -> Path:
    """The archive extracted to a folder."""
    root = tmp_path_factory.mktemp("bids-tree")
    with zipfile.ZipFile(bids_export.path) as archive:
        archive.extractall(root)
    return root


@pytest.fixture(scope="session")
def brats_export(run_data: RunExportData, tmp_path_factory) -> ExportResult:
    out = tmp_path_factory.mktemp("brats") / "export.zip"
    options = ExportOptions(datasets=(), visits=(0,), resolution_mm=2.0, layout="brats")
    return build_export(run_data=run_data, options=options, out_path=out)
