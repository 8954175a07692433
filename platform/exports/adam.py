"""ADaM analysis datasets (ADaMIG 1.3): ADSL and ADTTE (BDS time-to-event).

Derived from the SDTM bundle, never from the raw frames directly, so every ADaM value traces
to an SDTM record: ADTTE OS dates are DS DSSTDTC (SRCDOM/SRCSEQ point at the DS row), PFS event
dates are the first RS PD date when the simulation's progression falls on an assessment, else
the DS death date. Dates are SAS numeric dates (days since 1960-01-01, format DATE9.);
AVAL = ADT - STARTDT in days, STARTDT = RFSTDTC (day 0). CNSR: 0 event, 1 censored.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .dates import sas_date
from .sdtm import SdtmBundle, arm_code, arm_label, resection_code
from .tables import Dataset, Variable
from .terminology import CODELISTS, map_ethnicity, map_race, map_response, map_sex
from .timeline import SubjectTimeline, follow_up_days

__all__ = ["AGE_GROUP_CUTOFF_YEARS", "build_adam"]

#: Median age at GBM diagnosis (CBTRUS): the AGEGR1 split.
AGE_GROUP_CUTOFF_YEARS = 65

_ID = Variable("STUDYID", "Study Identifier", origin="Predecessor")
_USUBJID = Variable("USUBJID", "Unique Subject Identifier", origin="Predecessor")


def _date_var(name: str, label: str) -> Variable:
    return Variable(name, label, "integer", display_format="DATE9.")


def build_adam(
    timelines: Sequence[SubjectTimeline], sdtm: SdtmBundle, study_id: str, spec: dict
) -> dict[str, Dataset]:
    return {
        "ADSL": _adsl(timelines, sdtm, study_id, follow_up_days(spec)),
        "ADTTE": _adtte(timelines, sdtm, study_id),
    }


def _adsl(
    timelines: Sequence[SubjectTimeline],
    sdtm: SdtmBundle,
    study_id: str,
    follow_up_day: int | None,
) -> Dataset:
    variables = (
        _ID,
        _USUBJID,
        Variable("SUBJID", "Subject Identifier for the Study", origin="Predecessor"),
        Variable("SITEID", "Study Site Identifier", origin="Predecessor"),
        Variable("AGE", "Age", "integer", origin="Predecessor"),
        Variable("AGEU", "Age Units", codelist="AGEU", origin="Predecessor"),
        Variable("AGEGR1", "Pooled Age Group 1"),
        Variable("SEX", "Sex", codelist="SEX", origin="Predecessor"),
        Variable("RACE", "Race", codelist="RACE", origin="Predecessor"),
        Variable("ETHNIC", "Ethnicity", codelist="ETHNIC", origin="Predecessor"),
        Variable("KPSBL", "Baseline Karnofsky Performance Status", "integer"),
        Variable("MGMTFL", "MGMT Promoter Methylated Flag", codelist="NY"),
        Variable("IDHFL", "IDH Mutant Flag", codelist="NY"),
        Variable("RESECT", "Extent of Resection", codelist="RESECT"),
        Variable("ARMCD", "Planned Arm Code", origin="Predecessor"),
        Variable("ARM", "Description of Planned Arm", origin="Predecessor"),
        Variable("ACTARMCD", "Actual Arm Code", origin="Predecessor"),
        Variable("ACTARM", "Description of Actual Arm", origin="Predecessor"),
        Variable("TRT01P", "Planned Treatment for Period 01"),
        Variable("TRT01A", "Actual Treatment for Period 01"),
        _date_var("RANDDT", "Date of Enrollment (Day 0)"),
        _date_var("TRTSDT", "Date of First Exposure to Treatment"),
        _date_var("TRTEDT", "Date of Last Exposure to Treatment"),
        Variable("DTHFL", "Subject Died Flag", codelist="NY"),
        _date_var("DTHDT", "Date of Death"),
        _date_var("LSTALVDT", "Date Last Known Alive"),
        Variable("EOSSTT", "End of Study Status"),
        Variable("DCSREAS", "Reason for Discontinuation from Study"),
        Variable("BESTRSP", "Best Overall Response (RANO)", codelist="RSRESP"),
        Variable("ITTFL", "Intent-To-Treat Population Flag", codelist="NY"),
        Variable("SAFFL", "Safety Population Flag", codelist="NY"),
        Variable("SYNTHFL", "Synthetic Subject Flag", codelist="NY"),
    )
    rows = []
    for t in timelines:
        where = f"subjects[{t.subject_id}]"
        regimen = str(t.row["regimen"])
        doses = sdtm.exposure[t.usubjid]
        age = int(math.floor(float(t.row["age"])))
        completed = not t.os_event and (follow_up_day is None or t.os_day >= follow_up_day - 1)
        rows.append(
            {
                "STUDYID": study_id,
                "USUBJID": t.usubjid,
                "SUBJID": t.subject_id,
                "SITEID": "SYNTH",
                "AGE": age,
                "AGEU": "YEARS",
                "AGEGR1": f"<{AGE_GROUP_CUTOFF_YEARS}"
                if age < AGE_GROUP_CUTOFF_YEARS
                else f">={AGE_GROUP_CUTOFF_YEARS}",
                "SEX": map_sex(t.row["sex"], f"{where}.sex"),
                "RACE": map_race(t.row["race"], f"{where}.race"),
                "ETHNIC": map_ethnicity(t.row["ethnicity"], f"{where}.ethnicity"),
                "KPSBL": int(t.row["kps"]),
                "MGMTFL": "Y" if int(t.row["mgmt_methylated"]) else "N",
                "IDHFL": "Y" if int(t.row["idh_mutant"]) else "N",
                "RESECT": resection_code(t.row["resection"], f"{where}.resection"),
                "ARMCD": arm_code(regimen),
                "ARM": arm_label(regimen),
                "ACTARMCD": arm_code(regimen),
                "ACTARM": arm_label(regimen),
                "TRT01P": arm_label(regimen),
                "TRT01A": arm_label(regimen),
                "RANDDT": sas_date(t.start, 0),
                "TRTSDT": sas_date(t.start, doses[0].start_day) if doses else None,
                "TRTEDT": sas_date(t.start, max(d.end_day for d in doses)) if doses else None,
                "DTHFL": "Y" if t.os_event else "N",
                "DTHDT": sas_date(t.start, t.os_day) if t.os_event else None,
                "LSTALVDT": sas_date(t.start, t.os_day),
                "EOSSTT": "COMPLETED" if completed else "DISCONTINUED",
                "DCSREAS": "" if completed else ("DEATH" if t.os_event else "LOST TO FOLLOW-UP"),
                "BESTRSP": map_response(t.row["best_response"], f"{where}.best_response") or "NE",
                "ITTFL": "Y",
                "SAFFL": "Y" if doses else "N",
                "SYNTHFL": "Y",
            }
        )
    return Dataset.build(
        name="ADSL",
        label="Subject-Level Analysis Dataset",
        purpose="Analysis",
        dataset_class="SUBJECT LEVEL ANALYSIS DATASET",
        structure="One record per subject",
        keys=("STUDYID", "USUBJID"),
        variables=variables,
        rows=rows,
        comment="Covariates from DM and SUPPDM; every subject is synthetic (SYNTHFL = Y).",
    )


def _adtte(timelines: Sequence[SubjectTimeline], sdtm: SdtmBundle, study_id: str) -> Dataset:
    params = CODELISTS["PARAMCD"].items
    variables = (
        _ID,
        _USUBJID,
        Variable("PARAMCD", "Parameter Code", codelist="PARAMCD"),
        Variable("PARAM", "Parameter"),
        Variable("AVAL", "Analysis Value (days)", "integer"),
        _date_var("STARTDT", "Time-to-Event Origin Date for Subject"),
        _date_var("ADT", "Analysis Date"),
        Variable("CNSR", "Censor", "integer"),
        Variable("EVNTDESC", "Event or Censoring Description"),
        Variable("CNSDTDSC", "Censor Date Description"),
        Variable("SRCDOM", "Source Data"),
        Variable("SRCVAR", "Source Variable"),
        Variable("SRCSEQ", "Source Sequence Number", "integer"),
        Variable("TRTP", "Planned Treatment"),
        Variable("TRTA", "Actual Treatment"),
    )
    rows = []
    for t in timelines:
        treatment = arm_label(str(t.row["regimen"]))
        base = {
            "STUDYID": study_id,
            "USUBJID": t.usubjid,
            "TRTP": treatment,
            "TRTA": treatment,
            "STARTDT": sas_date(t.start, 0),
        }
        ds_seq = sdtm.ds_seq[t.usubjid]
        rows.append(
            {
                **base,
                "PARAMCD": "OS",
                "PARAM": params["OS"],
                "AVAL": t.os_day,
                "ADT": sas_date(t.start, t.os_day),
                "CNSR": 0 if t.os_event else 1,
                "EVNTDESC": "DEATH" if t.os_event else "ALIVE AT LAST CONTACT",
                "CNSDTDSC": "" if t.os_event else "DATE LAST KNOWN ALIVE",
                "SRCDOM": "DS",
                "SRCVAR": "DSSTDTC",
                "SRCSEQ": ds_seq,
            }
        )
        rows.append(
            {
                **base,
                **_pfs(t, sdtm, ds_seq),
                "PARAMCD": "PFS",
                "PARAM": params["PFS"],
                "AVAL": t.pfs_day,
                "ADT": sas_date(t.start, t.pfs_day),
            }
        )
    return Dataset.build(
        name="ADTTE",
        label="Time-to-Event Analysis Dataset",
        purpose="Analysis",
        dataset_class="BASIC DATA STRUCTURE",
        structure="One record per subject per parameter",
        keys=("STUDYID", "USUBJID", "PARAMCD"),
        variables=variables,
        rows=rows,
        comment="AVAL = ADT - STARTDT (days since day 0). CNSR 0 = event, 1 = censored.",
    )


def _pfs(t: SubjectTimeline, sdtm: SdtmBundle, ds_seq: int) -> dict[str, object]:
    """Event description and SDTM source of the PFS record."""
    assessments = sdtm.rs_rows.get(t.usubjid, [])
    if t.pfs_event:
        for day, seq, response in assessments:
            if response == "PD" and day == t.pfs_day:
                return {
                    "CNSR": 0,
                    "EVNTDESC": "DISEASE PROGRESSION",
                    "CNSDTDSC": "",
                    "SRCDOM": "RS",
                    "SRCVAR": "RSDTC",
                    "SRCSEQ": seq,
                }
        if t.os_event and t.pfs_day == t.os_day:
            return {
                "CNSR": 0,
                "EVNTDESC": "DEATH",
                "CNSDTDSC": "",
                "SRCDOM": "DS",
                "SRCVAR": "DSSTDTC",
                "SRCSEQ": ds_seq,
            }
        return {
            "CNSR": 0,
            "EVNTDESC": "DISEASE PROGRESSION",
            "CNSDTDSC": "",
            "SRCDOM": "",
            "SRCVAR": "",
            "SRCSEQ": None,
        }
    for day, seq, _response in assessments:
        if day == t.pfs_day:
            return {
                "CNSR": 1,
                "EVNTDESC": "",
                "CNSDTDSC": "LAST TUMOR ASSESSMENT",
                "SRCDOM": "RS",
                "SRCVAR": "RSDTC",
                "SRCSEQ": seq,
            }
    return {
        "CNSR": 1,
        "EVNTDESC": "",
        "CNSDTDSC": "DATE LAST KNOWN ALIVE",
        "SRCDOM": "DS",
        "SRCVAR": "DSSTDTC",
        "SRCSEQ": ds_seq,
    }
