"""SAS XPORT v5 files: version, round trip against the CSVs, V5 limits."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from exports import ExportError
from exports.tables import Dataset, Variable, csv_bytes
from exports.xpt import V5_LIBRARY_HEADER, xpt_bytes

SDTM_AND_ADAM = ("sdtm", "adam")
#: pandas decodes the IBM zero (eight 0x00 bytes, as SAS and readstat write it) as 16**-65,
#: the smallest IBM magnitude: pandas-dev/pandas#50670 (open). Map it back before comparing.
PANDAS_IBM_ZERO = 16.0**-65


def _pandas_numbers(values: pd.Series) -> np.ndarray:
    array = values.to_numpy(dtype=float).copy()
    array[np.abs(array) == PANDAS_IBM_ZERO] = 0.0
    return array


def _xpt_files(tree: Path) -> list[Path]:
    files = sorted(path for folder in SDTM_AND_ADAM for path in (tree / folder).glob("*.xpt"))
    assert files, "no .xpt files in the export"
    return files


def test_every_dataset_has_xpt_and_csv(bids_tree: Path) -> None:
    names = {path.stem for path in _xpt_files(bids_tree)}
    assert names == {"dm", "suppdm", "co", "ts", "ex", "tu", "tr", "rs", "ds", "adsl", "adtte"}
    for path in _xpt_files(bids_tree):
        assert path.with_suffix(".csv").is_file()


def test_xpt_header_is_version_5(bids_tree: Path) -> None:
    for path in _xpt_files(bids_tree):
        head = path.read_bytes()[:80]
        assert head.startswith(V5_LIBRARY_HEADER), path.name
        assert b"LIBV8" not in head


def test_xpt_read_back_by_pandas_equals_csv(bids_tree: Path) -> None:
    """An independent reader (pandas' XPORT parser) gives exactly the CSV's values."""
    for path in _xpt_files(bids_tree):
        from_xpt = pd.read_sas(path, format="xport", encoding="ascii")
        from_csv = pd.read_csv(path.with_suffix(".csv"), dtype=str, keep_default_na=False)
        assert list(from_xpt.columns) == list(from_csv.columns), path.name
        assert len(from_xpt) == len(from_csv) > 0, path.name
        for column in from_xpt.columns:
            xpt_values = from_xpt[column]
            csv_values = from_csv[column]
            if pd.api.types.is_numeric_dtype(xpt_values):
                expected = pd.to_numeric(csv_values.replace("", np.nan))
                np.testing.assert_array_equal(
                    _pandas_numbers(xpt_values),
                    expected.to_numpy(dtype=float),
                    err_msg=f"{path.name}:{column}",
                )
            else:
                assert xpt_values.fillna("").tolist() == csv_values.tolist(), (
                    f"{path.name}:{column}"
                )


def test_zero_is_stored_as_ibm_zero(tmp_path: Path) -> None:
    """The pandas work-around above only hides a reader bug, not a writer one."""
    dataset = _dataset(rows=[{"STUDYID": "S", "AVAL": 0.0}])
    raw = xpt_bytes(dataset)
    observations = raw[raw.index(b"OBS     HEADER RECORD") + 80 - 20 :]
    assert bytes(8) in observations


def test_xpt_bytes_do_not_depend_on_the_clock(bids_tree: Path) -> None:
    import pyreadstat

    data, meta = pyreadstat.read_xport(str(bids_tree / "sdtm" / "dm.xpt"))
    assert meta.table_name == "DM"
    assert meta.file_label == "Demographics"
    assert b"01JAN80:00:00:00" in (bids_tree / "sdtm" / "dm.xpt").read_bytes()[:640]


# ---------------------------------------------------------------------- limits


def _dataset(**overrides: object) -> Dataset:
    values: dict[str, object] = {
        "name": "XX",
        "label": "Example",
        "purpose": "Tabulation",
        "dataset_class": "FINDINGS",
        "structure": "One record per row",
        "keys": ("STUDYID",),
        "variables": (Variable("STUDYID", "Study Identifier"), Variable("AVAL", "Value", "float")),
        "rows": [{"STUDYID": "S1", "AVAL": 1.5}],
    }
    values.update(overrides)
    return Dataset.build(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "TOOLONGNM"}, "9 characters"),
        ({"name": "dm"}, "upper-case"),
        ({"label": "L" * 41}, "41 characters"),
        (
            {
                "variables": (Variable("STUDYIDXX", "Study Identifier"),),
                "keys": (),
                "rows": [{"STUDYIDXX": "S"}],
            },
            "STUDYIDXX",
        ),
        (
            {"variables": (Variable("STUDYID", "x" * 41),), "rows": [{"STUDYID": "S"}]},
            "XX.STUDYID: label",
        ),
        (
            {"variables": (Variable("STUDYID", "Study"),), "rows": [{"STUDYID": "v" * 201}]},
            "201 bytes",
        ),
        (
            {"variables": (Variable("STUDYID", "Study"),), "rows": [{"STUDYID": "caf\u00e9"}]},
            "ASCII",
        ),
        (
            {
                "variables": (Variable("STUDYID", "Study"), Variable("SEX", "Sex", codelist="SEX")),
                "rows": [{"STUDYID": "S", "SEX": "MALE"}],
            },
            "controlled terminology SEX",
        ),
        (
            {
                "variables": (Variable("STUDYID", "Study"), Variable("N", "Count", "integer")),
                "rows": [{"STUDYID": "S", "N": 1.5}],
            },
            "fractional",
        ),
    ],
)
def test_limits_raise_clear_errors(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ExportError, match=message.replace("(", r"\(")):
        _dataset(**overrides)


def test_value_of_exactly_200_bytes_is_accepted_and_round_trips(tmp_path: Path) -> None:
    dataset = _dataset(rows=[{"STUDYID": "v" * 200, "AVAL": math.pi}])
    path = tmp_path / "xx.xpt"
    path.write_bytes(xpt_bytes(dataset))
    back = pd.read_sas(path, format="xport", encoding="ascii")
    assert back["STUDYID"].tolist() == ["v" * 200]
    assert back["AVAL"].tolist() == [math.pi]  # IBM double holds every IEEE double exactly
    assert csv_bytes(dataset).decode().splitlines()[1] == f"{'v' * 200},{math.pi!r}"
