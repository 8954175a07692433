"""CDISC controlled terminology used by the exports, and mapping from simulation values.

Submission values and the NCI codelist codes given are from CDISC SDTM Controlled Terminology
(NCI EVS). Codelists without an NCI code are extensible lists used here with the CDISC test codes
(TUTESTCD, TRTESTCD, RSTESTCD) plus sponsor-defined terms where CDISC has none (SPD, VOLUME,
BESTRSP). ``sponsor=True`` marks this platform's own lists; define.xml says which is which.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .errors import ExportError

__all__ = [
    "CODELISTS",
    "CodeList",
    "map_ethnicity",
    "map_race",
    "map_response",
    "map_sex",
]


@dataclass(frozen=True)
class CodeList:
    """A codelist: submission value -> decode."""

    oid: str
    name: str
    items: Mapping[str, str]
    nci_code: str | None = None
    extensible: bool = False
    sponsor: bool = False

    def check(self, value: str, where: str) -> str:
        if value not in self.items:
            raise ExportError(
                f"{where}: {value!r} is not in codelist {self.name} "
                f"(allowed: {', '.join(self.items)})"
            )
        return value


def _same(*values: str) -> dict[str, str]:
    return {value: value for value in values}


CODELISTS: dict[str, CodeList] = {
    # C66731 Sex
    "SEX": CodeList(
        "CL.SEX",
        "Sex",
        {"F": "Female", "M": "Male", "U": "Unknown", "UNDIFFERENTIATED": "Undifferentiated"},
        "C66731",
    ),
    # C74457 Race (extensible)
    "RACE": CodeList(
        "CL.RACE",
        "Race",
        _same(
            "AMERICAN INDIAN OR ALASKA NATIVE",
            "ASIAN",
            "BLACK OR AFRICAN AMERICAN",
            "NATIVE HAWAIIAN OR OTHER PACIFIC ISLANDER",
            "WHITE",
            "MULTIPLE",
            "OTHER",
            "NOT REPORTED",
            "UNKNOWN",
        ),
        "C74457",
        extensible=True,
    ),
    # C66790 Ethnic Group
    "ETHNIC": CodeList(
        "CL.ETHNIC",
        "Ethnic Group",
        _same("HISPANIC OR LATINO", "NOT HISPANIC OR LATINO", "NOT REPORTED", "UNKNOWN"),
        "C66790",
    ),
    # C66781 Age Unit
    "AGEU": CodeList("CL.AGEU", "Age Unit", {"YEARS": "Years"}, "C66781"),
    # C66742 No Yes Response
    "NY": CodeList("CL.NY", "No Yes Response", {"N": "No", "Y": "Yes"}, "C66742"),
    # C96785 Oncology Response Assessment Result (RANO 2010 categories)
    "RSRESP": CodeList(
        "CL.RSRESP",
        "Oncology Response Assessment Result",
        {
            "CR": "Complete Response",
            "PR": "Partial Response",
            "SD": "Stable Disease",
            "PD": "Progressive Disease",
            "NE": "Not Evaluable",
        },
        "C96785",
        extensible=True,
    ),
    # C71620 Unit (subset used here)
    "UNIT": CodeList(
        "CL.UNIT",
        "Unit",
        {
            "mm": "Millimeter",
            "mm2": "Square Millimeter",
            "mL": "Milliliter",
            "Gy": "Gray",
            "mg/m2": "Milligram per Square Meter",
            "mg/kg": "Milligram per Kilogram",
        },
        "C71620",
        extensible=True,
    ),
    # C66729 Route of Administration
    "ROUTE": CodeList(
        "CL.ROUTE",
        "Route of Administration",
        _same("ORAL", "INTRAVENOUS"),
        "C66729",
        extensible=True,
    ),
    # C71113 Frequency (subset)
    "FREQ": CodeList(
        "CL.FREQ", "Frequency", {"QD": "Daily", "ONCE": "Once"}, "C71113", extensible=True
    ),
    # C66727 Completion/Reason for Non-Completion (subset)
    "NCOMPLT": CodeList(
        "CL.NCOMPLT",
        "Completion/Reason for Non-Completion",
        _same("DEATH", "COMPLETED", "LOST TO FOLLOW-UP"),
        "C66727",
        extensible=True,
    ),
    # C74558 Category for Disposition Event
    "DSCAT": CodeList(
        "CL.DSCAT",
        "Category for Disposition Event",
        _same("DISPOSITION EVENT"),
        "C74558",
        extensible=True,
    ),
    # Tumor Identification Test Code
    "TUTESTCD": CodeList(
        "CL.TUTESTCD",
        "Tumor Identification Test Code",
        {"TUMIDENT": "Tumor Identification"},
        extensible=True,
    ),
    # Tumor Identification Result (subset)
    "TURESULT": CodeList(
        "CL.TURESULT", "Tumor Identification Result", _same("TARGET", "NON-TARGET"), extensible=True
    ),
    # Tumor Result Test Code: LDIAM, LPERP are CDISC terms; SPD and VOLUME sponsor-defined
    "TRTESTCD": CodeList(
        "CL.TRTESTCD",
        "Tumor Result Test Code",
        {
            "LDIAM": "Longest Diameter",
            "LPERP": "Longest Perpendicular",
            "SPD": "Sum of Products of Perp Diameters",
            "VOLUME": "Volume",
        },
        extensible=True,
    ),
    # Response Assessment Test Code: OVRLRESP is a CDISC term; BESTRSP sponsor-defined
    "RSTESTCD": CodeList(
        "CL.RSTESTCD",
        "Response Assessment Test Code",
        {"OVRLRESP": "Overall Response", "BESTRSP": "Best Overall Response"},
        extensible=True,
    ),
    # ADaM PARAMCD for ADTTE (sponsor-defined, as usual for ADTTE)
    "PARAMCD": CodeList(
        "CL.PARAMCD",
        "ADTTE Parameter Code",
        {"OS": "Overall Survival (days)", "PFS": "Progression-Free Survival (days)"},
        sponsor=True,
    ),
    "RESECT": CodeList(
        "CL.RESECT",
        "Extent of Resection",
        {"GTR": "Gross total resection", "STR": "Subtotal resection", "BIOPSY": "Biopsy only"},
        sponsor=True,
    ),
}


# ---------------------------------------------------------------------- value mapping

_RACE_SYNONYMS: dict[str, str] = {
    "white": "WHITE",
    "non hispanic white": "WHITE",
    "non hispanic black": "BLACK OR AFRICAN AMERICAN",
    "caucasian": "WHITE",
    "black": "BLACK OR AFRICAN AMERICAN",
    "african american": "BLACK OR AFRICAN AMERICAN",
    "black or african american": "BLACK OR AFRICAN AMERICAN",
    "asian": "ASIAN",
    "american indian": "AMERICAN INDIAN OR ALASKA NATIVE",
    "alaska native": "AMERICAN INDIAN OR ALASKA NATIVE",
    "american indian or alaska native": "AMERICAN INDIAN OR ALASKA NATIVE",
    "american indian alaska native": "AMERICAN INDIAN OR ALASKA NATIVE",
    "aian": "AMERICAN INDIAN OR ALASKA NATIVE",
    "native hawaiian": "NATIVE HAWAIIAN OR OTHER PACIFIC ISLANDER",
    "pacific islander": "NATIVE HAWAIIAN OR OTHER PACIFIC ISLANDER",
    "native hawaiian or other pacific islander": "NATIVE HAWAIIAN OR OTHER PACIFIC ISLANDER",
    "native hawaiian pacific islander": "NATIVE HAWAIIAN OR OTHER PACIFIC ISLANDER",
    "nhpi": "NATIVE HAWAIIAN OR OTHER PACIFIC ISLANDER",
    "multiple": "MULTIPLE",
    "multiracial": "MULTIPLE",
    "other": "OTHER",
    "not reported": "NOT REPORTED",
    "unknown": "UNKNOWN",
    "": "UNKNOWN",
}

_ETHNIC_SYNONYMS: dict[str, str] = {
    "hispanic": "HISPANIC OR LATINO",
    "latino": "HISPANIC OR LATINO",
    "hispanic or latino": "HISPANIC OR LATINO",
    "not hispanic": "NOT HISPANIC OR LATINO",
    "non hispanic": "NOT HISPANIC OR LATINO",
    "nonhispanic": "NOT HISPANIC OR LATINO",
    "not hispanic or latino": "NOT HISPANIC OR LATINO",
    "not reported": "NOT REPORTED",
    "unknown": "UNKNOWN",
    "": "UNKNOWN",
}


def _key(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    text = str(value).strip().lower().replace("/", " or ")
    return " ".join(text.replace("_", " ").replace("-", " ").split())


def map_race(value: object, where: str) -> str:
    """Simulation race (any case, ``_``/``-``/space separated) -> CDISC RACE."""
    mapped = _RACE_SYNONYMS.get(_key(value))
    if mapped is None:
        raise ExportError(f"{where}: race {value!r} has no CDISC RACE mapping")
    return mapped


def map_ethnicity(value: object, where: str) -> str:
    """Simulation ethnicity -> CDISC ETHNIC."""
    mapped = _ETHNIC_SYNONYMS.get(_key(value))
    if mapped is None:
        raise ExportError(f"{where}: ethnicity {value!r} has no CDISC ETHNIC mapping")
    return mapped


def map_sex(value: object, where: str) -> str:
    """Simulation sex (M|F, any case) -> CDISC SEX."""
    text = _key(value).upper()
    text = {"MALE": "M", "FEMALE": "F"}.get(text, text)
    return CODELISTS["SEX"].check(text, where)


def map_response(value: object, where: str) -> str | None:
    """RANO response (CR|PR|SD|PD|NE) -> CDISC value; missing -> None (not assessed)."""
    text = _key(value).upper()
    if not text:
        return None
    return CODELISTS["RSRESP"].check(text, where)
