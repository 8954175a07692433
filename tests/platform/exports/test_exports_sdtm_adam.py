"""SDTM and ADaM content: synthetic flags, terminology, dates, exposure, consistency."""

from __future__ import annotations

import dataclasses
import datetime as dt
from itertools import pairwise
from pathlib import Path

import pandas as pd
import pytest

from exports import ExportError, RunExportData
from exports.dates import SAS_EPOCH, reference_start
from exports.exposure import dose_records
from exports.terminology import map_ethnicity, map_race, map_response, map_sex


def _read(tree: Path, folder: str, name: str) -> pd.DataFrame:
    return pd.read_csv(tree / folder / f"{name}.csv", dtype=str, keep_default_na=False)


def _sas_date(value: str) -> str:
    return (SAS_EPOCH + dt.timedelta(days=int(value))).isoformat()


def test_every_subject_is_flagged_synthetic(bids_tree: Path, run_data: RunExportData) -> None:
    dm = _read(bids_tree, "sdtm", "dm")
    supp = _read(bids_tree, "sdtm", "suppdm")
    co = _read(bids_tree, "sdtm", "co")
    adsl = _read(bids_tree, "adam", "adsl")
    assert len(dm) == len(run_data.subjects)
    flags = supp[supp.QNAM == "SYNTHFL"]
    assert set(flags.USUBJID) == set(dm.USUBJID)
    assert set(flags.QVAL) == {"Y"} and set(flags.QLABEL) == {"Synthetic Subject Flag"}
    assert set(co.USUBJID) == set(dm.USUBJID)
    assert co.COVAL.str.contains("Synthetic subject").all()
    assert set(adsl.SYNTHFL) == {"Y"}
    ts = _read(bids_tree, "sdtm", "ts").set_index("TSPARMCD")
    assert ts.loc["SYNTHFL", "TSVAL"] == "Y"
    assert ts.loc["SIMSEED", "TSVAL"] == str(run_data.seed)


def test_dm_identifiers_arms_and_terminology(bids_tree: Path) -> None:
    dm = _read(bids_tree, "sdtm", "dm")
    assert set(dm.STUDYID) == {"GBM-SCA-DEMO"}
    assert (dm.USUBJID == dm.STUDYID + "-" + dm.SUBJID).all()
    assert set(dm.SEX) <= {"M", "F"}
    assert set(dm.RACE) <= {"WHITE", "BLACK OR AFRICAN AMERICAN", "ASIAN", "OTHER"}
    assert set(dm.ETHNIC) <= {"HISPANIC OR LATINO", "NOT HISPANIC OR LATINO"}
    assert (dm.ARM == dm.ACTARM).all() and dm.ARM.str.startswith("Synthetic control arm").all()
    assert set(dm.ARMCD) == {"STUPP_RT_TMZ", "RT_ALONE", "LOMUSTINE", "BEVACIZUMAB"}
    assert set(dm.AGEU) == {"YEARS"}


def test_dates_are_iso8601_from_the_synthetic_reference(
    bids_tree: Path, run_data: RunExportData
) -> None:
    dm = _read(bids_tree, "sdtm", "dm")
    for row in dm.itertuples():
        assert row.RFSTDTC == reference_start(run_data.seed, row.SUBJID).isoformat()
        dt.date.fromisoformat(row.RFENDTC)
    rs = _read(bids_tree, "sdtm", "rs")
    visits = rs[rs.RSTESTCD == "OVRLRESP"].merge(dm[["USUBJID", "RFSTDTC"]], on="USUBJID")
    for row in visits.itertuples():
        days = (dt.date.fromisoformat(row.RSDTC) - dt.date.fromisoformat(row.RFSTDTC)).days
        assert int(row.RSDY) == days + 1  # SDTM study day: no day 0


def test_reference_start_is_stable_per_subject() -> None:
    """Adding subjects never moves existing subjects' dates: the offset hashes seed + id."""
    assert reference_start(7, "SCA-000001") == reference_start(7, "SCA-000001")
    assert reference_start(7, "SCA-000001") != reference_start(8, "SCA-000001")
    assert dt.date(2020, 1, 1) <= reference_start(7, "SCA-000001") < dt.date(2022, 1, 1)


def test_response_values_are_rano_terms(bids_tree: Path) -> None:
    rs = _read(bids_tree, "sdtm", "rs")
    assert set(rs.RSORRES) <= {"CR", "PR", "SD", "PD", "NE"}
    assert (rs.RSORRES == rs.RSSTRESC).all()
    assert set(rs.RSTESTCD) == {"OVRLRESP", "BESTRSP"}
    assert (rs.groupby("USUBJID").RSTESTCD.apply(lambda s: (s == "BESTRSP").sum()) == 1).all()


def test_tr_has_diameters_spd_and_volumes_with_units(bids_tree: Path) -> None:
    tr = _read(bids_tree, "sdtm", "tr")
    units = tr.groupby("TRTESTCD").TRSTRESU.agg(set).to_dict()
    assert units == {"LDIAM": {"mm"}, "LPERP": {"mm"}, "SPD": {"mm2"}, "VOLUME": {"mL"}}
    assert set(tr[tr.TRTESTCD == "VOLUME"].TRTSTDTL) == {"ENHANCING", "NECROSIS", "EDEMA"}
    tu = _read(bids_tree, "sdtm", "tu")
    assert set(tu.TUORRES) <= {"TARGET", "NON-TARGET"}


def test_tr_derives_diameters_from_spd_when_missing(tmp_path: Path) -> None:
    from exports_testdata import make_run_data

    from exports import ExportOptions, build_export

    data = make_run_data(2, with_diameters=False)
    result = build_export(
        run_data=data, options=ExportOptions(imaging=False), out_path=tmp_path / "x.zip"
    )
    assert any("derived as sqrt(SPD)" in note for note in result.manifest["notes"])


def test_exposure_follows_the_standard_schedules() -> None:
    stupp = dose_records("stupp_rt_tmz", last_day=1000, progression_day=None)
    rt = [r for r in stupp if r.treatment == "RADIOTHERAPY"]
    assert sum(r.end_day - r.start_day + 1 for r in rt) == 30  # 60 Gy in 30 x 2 Gy
    assert {r.dose for r in rt} == {2.0} and {r.dose_unit for r in rt} == {"Gy"}
    tmz = [r for r in stupp if r.treatment == "TEMOZOLOMIDE"]
    assert tmz[0].dose == 75.0 and tmz[0].end_day - tmz[0].start_day + 1 == 42
    adjuvant = tmz[1:]
    assert len(adjuvant) == 6 and [r.dose for r in adjuvant] == [150.0] + [200.0] * 5
    assert all(r.end_day - r.start_day + 1 == 5 for r in adjuvant)
    assert [b.start_day - a.start_day for a, b in pairwise(adjuvant)] == [28] * 5
    lomustine = dose_records("lomustine", last_day=200, progression_day=None)
    assert [r.start_day for r in lomustine] == [0, 42, 84, 126, 168]
    assert {r.route for r in lomustine} == {"ORAL"}
    bev = dose_records("bevacizumab", last_day=200, progression_day=57)
    assert [r.start_day for r in bev] == [0, 14, 28, 42, 56]  # stops at progression
    assert {(r.dose, r.dose_unit, r.route) for r in bev} == {(10.0, "mg/kg", "INTRAVENOUS")}
    assert dose_records("rt_alone", last_day=40, progression_day=None)[-1].end_day <= 40


def test_unknown_regimen_is_a_clear_error() -> None:
    with pytest.raises(ExportError, match="subjects.regimen: unknown regimen 'chemo'"):
        dose_records("chemo", last_day=10, progression_day=None)


def test_adtte_is_consistent_with_ds_and_rs(bids_tree: Path, run_data: RunExportData) -> None:
    adtte = _read(bids_tree, "adam", "adtte")
    ds = _read(bids_tree, "sdtm", "ds").set_index("USUBJID")
    rs = _read(bids_tree, "sdtm", "rs")
    dm = _read(bids_tree, "sdtm", "dm").set_index("USUBJID")
    assert set(adtte.PARAMCD) == {"OS", "PFS"}
    assert (adtte.groupby("USUBJID").size() == 2).all()
    for row in adtte.itertuples():
        assert int(row.AVAL) == int(row.ADT) - int(row.STARTDT)
        assert _sas_date(row.STARTDT) == dm.loc[row.USUBJID, "RFSTDTC"]
        assert row.CNSR in {"0", "1"}
        if row.PARAMCD == "OS":
            assert _sas_date(row.ADT) == ds.loc[row.USUBJID, "DSSTDTC"]
            assert (row.CNSR == "0") == (ds.loc[row.USUBJID, "DSDECOD"] == "DEATH")
        elif row.CNSR == "0" and row.SRCDOM == "RS":
            source = rs[(rs.USUBJID == row.USUBJID) & (rs.RSSEQ == row.SRCSEQ)].iloc[0]
            assert source.RSORRES == "PD" and source.RSDTC == _sas_date(row.ADT)
    pfs = adtte[adtte.PARAMCD == "PFS"].set_index("USUBJID")
    os_ = adtte[adtte.PARAMCD == "OS"].set_index("USUBJID")
    assert (pfs.AVAL.astype(int) <= os_.AVAL.astype(int)).all()
    events = pfs[(pfs.CNSR == "0") & (pfs.EVNTDESC == "DISEASE PROGRESSION")]
    assert len(events) == int(run_data.subjects.pfs_event.sum())
    assert (events.SRCDOM == "RS").all()  # every progression traced to its RS PD record


def test_adsl_one_row_per_subject_with_covariates(bids_tree: Path, run_data: RunExportData):
    adsl = _read(bids_tree, "adam", "adsl")
    assert adsl.USUBJID.is_unique and len(adsl) == len(run_data.subjects)
    subjects = run_data.subjects.set_index("subject_id")
    for row in adsl.itertuples():
        subject = subjects.loc[row.SUBJID]
        assert row.MGMTFL == ("Y" if subject.mgmt_methylated else "N")
        assert row.RESECT == subject.resection.upper()
        assert int(row.KPSBL) == subject.kps


@pytest.mark.parametrize(
    ("mapper", "value", "expected"),
    [
        (map_race, "white", "WHITE"),
        (map_race, "Black_or_African_American", "BLACK OR AFRICAN AMERICAN"),
        (map_race, None, "UNKNOWN"),
        (map_ethnicity, "not-hispanic-or-latino", "NOT HISPANIC OR LATINO"),
        (map_sex, "f", "F"),
        (map_response, "pd", "PD"),
    ],
)
def test_terminology_mapping(mapper, value, expected) -> None:
    assert mapper(value, "where") == expected


@pytest.mark.parametrize(
    ("mapper", "value"),
    [(map_race, "martian"), (map_ethnicity, "x"), (map_sex, "Q"), (map_response, "MR")],
)
def test_unmapped_terminology_is_an_error(mapper, value) -> None:
    with pytest.raises(ExportError, match="subjects\\[SCA-1\\]"):
        mapper(value, "subjects[SCA-1]")


def test_simulation_day_columns_take_precedence(tmp_path: Path) -> None:
    """When the run carries os_day/pfs_day (the simulation does), they are used as-is."""
    import io
    import zipfile

    from exports_testdata import make_run_data

    from exports import ExportOptions, build_export
    from exports.dates import months_to_days

    data = make_run_data(2)
    pfs_day = [months_to_days(m) for m in data.subjects.pfs_months]
    subjects = data.subjects.assign(os_day=[700, 650], pfs_day=pfs_day)
    result = build_export(
        run_data=dataclasses.replace(data, subjects=subjects),
        options=ExportOptions(imaging=False),
        out_path=tmp_path / "x.zip",
    )
    with zipfile.ZipFile(result.path) as archive:
        adtte = pd.read_csv(io.BytesIO(archive.read("adam/adtte.csv")))
    assert adtte[adtte.PARAMCD == "OS"].AVAL.tolist() == [700, 650]
