"""Cohort specification (``spec_version: 1``): JSON Schema, validation with field paths, defaults.

One source of truth: :func:`spec_json_schema` feeds the API and the browser form; :func:`validate_spec`
adds the semantic checks a schema cannot express (proportions summing to 1, empty eligibility
windows, unknown regimens, regimen/indication mismatches).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from simulation.regimens import DRUG_UNITS, INDICATIONS, REGIMENS, Regimen

SPEC_VERSION = 1
PROPORTION_TOLERANCE = 1e-6

SEX_CATEGORIES = ("M", "F")
RACE_CATEGORIES = (
    "white",
    "black",
    "asian",
    "american_indian_alaska_native",
    "native_hawaiian_pacific_islander",
    "other",
)
ETHNICITY_CATEGORIES = ("hispanic_or_latino", "not_hispanic_or_latino")
KPS_CATEGORIES = ("100", "90", "80", "70", "60", "50", "40")
RESECTION_CATEGORIES = ("gtr", "str", "biopsy")
SEQUENCES = ("t1n", "t1c", "t2w", "t2f")

# Defaults: the Stupp 2005 trial population (median age 56, 63-64% male, WHO PS 0-2, resection
# 39% complete / 45% partial / 16% biopsy), MGMT methylated 45% (Hegi 2005), IDH-mutant about 7%
# of histological GBM in trial populations (Yan 2009). Race/ethnicity were not reported by Stupp
# 2005: US GBM epidemiology (CBTRUS, Ostrom 2023) is used.
US_GBM_RACE = {
    "white": 0.885,
    "black": 0.06,
    "asian": 0.035,
    "american_indian_alaska_native": 0.005,
    "native_hawaiian_pacific_islander": 0.002,
    "other": 0.013,
}
US_GBM_ETHNICITY = {"hispanic_or_latino": 0.085, "not_hispanic_or_latino": 0.915}

DEFAULTS: dict[str, Any] = {
    "follow_up_months": 36,
    "visit_interval_weeks": 8,
    "eligibility": {"age_min_years": 18, "age_max_years": 70, "kps_min": 60},
    "demographics": {
        "age": {"median_years": 56.0, "sd_years": 10.5},
        "sex": {"M": 0.63, "F": 0.37},
        "race": US_GBM_RACE,
        "ethnicity": US_GBM_ETHNICITY,
        # WHO PS 0/1/2 = 39/47/13% in Stupp 2005, mapped to KPS 100-90 / 80-70 / 60.
        "kps": {"100": 0.14, "90": 0.25, "80": 0.27, "70": 0.2, "60": 0.14, "50": 0.0, "40": 0.0},
    },
    "biomarkers": {"mgmt_methylated": 0.45, "idh_mutant": 0.07},
    "resection": {"gtr": 0.39, "str": 0.45, "biopsy": 0.16},
    "target_population": {
        "name": "US glioblastoma (CBTRUS 2016-2020)",
        "age_median_years": 65.0,
        "male_fraction": 0.6,
        "race": US_GBM_RACE,
        "ethnicity": US_GBM_ETHNICITY,
    },
    "imaging": {"resolution_mm": 2, "sequences": list(SEQUENCES)},
    "regimens": {},
}

TOP_LEVEL_ORDER = (
    "spec_version",
    "size",
    "seed",
    "indication",
    "regimen",
    "follow_up_months",
    "visit_interval_weeks",
    "eligibility",
    "demographics",
    "biomarkers",
    "resection",
    "target_population",
    "imaging",
    "regimens",
)


@dataclass(frozen=True)
class FieldError:
    """One validation problem: the dotted field path and the reason."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class SpecError(Exception):
    """Raised by :func:`parse_spec`; ``errors`` lists every problem found."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(error) for error in errors))


# --------------------------------------------------------------------------- JSON Schema


def _proportions(categories: tuple[str, ...], title: str, description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "title": title,
        "description": description + " Fractions 0-1 that must sum to 1; missing categories are 0.",
        "properties": {
            name: {"type": "number", "minimum": 0, "maximum": 1, "title": name}
            for name in categories
        },
        "additionalProperties": False,
        "minProperties": 1,
    }


def _regimen_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "title": "User-defined regimen",
        "required": ["indication"],
        "additionalProperties": False,
        "properties": {
            "description": {"type": "string", "maxLength": 500, "default": ""},
            "indication": {"enum": list(INDICATIONS), "title": "Indication it is given in"},
            "surgery": {"type": "boolean", "default": False, "title": "Surgery at day 0"},
            "radiotherapy": {
                "type": ["object", "null"],
                "default": None,
                "title": "Radiotherapy course",
                "required": ["start_day", "dose_per_fraction_gy", "fractions"],
                "additionalProperties": False,
                "properties": {
                    "start_day": {"type": "integer", "minimum": 0, "maximum": 365},
                    "dose_per_fraction_gy": {
                        "type": "number",
                        "exclusiveMinimum": 0,
                        "maximum": 10,
                    },
                    "fractions": {"type": "integer", "minimum": 1, "maximum": 60},
                    "fractions_per_week": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": 7,
                        "default": 5,
                    },
                },
            },
            "drugs": {
                "type": "array",
                "default": [],
                "maxItems": 20,
                "items": {
                    "type": "object",
                    "required": ["drug", "dose", "dose_unit", "start_day"],
                    "additionalProperties": False,
                    "properties": {
                        "drug": {"enum": sorted(DRUG_UNITS)},
                        "dose": {"type": "number", "exclusiveMinimum": 0, "maximum": 1000},
                        "dose_unit": {"enum": sorted(set(DRUG_UNITS.values()))},
                        "start_day": {"type": "integer", "minimum": 0, "maximum": 3650},
                        "days_on": {"type": "integer", "minimum": 1, "maximum": 365, "default": 1},
                        "cycle_days": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": 365,
                            "default": 1,
                        },
                        "cycles": {
                            "type": ["integer", "null"],
                            "minimum": 1,
                            "maximum": 1000,
                            "default": 1,
                            "description": "null: until progression",
                        },
                    },
                },
            },
        },
    }


def spec_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a cohort spec, with defaults, enums, bounds and titles."""
    d = DEFAULTS
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://synthetic-control-arms.example/schemas/cohort-spec-v1.json",
        "title": "Cohort specification",
        "description": "A synthetic control-arm cohort of glioblastoma patients (spec_version 1).",
        "type": "object",
        "required": ["size", "seed", "indication", "regimen"],
        "additionalProperties": False,
        "properties": {
            "spec_version": {
                "const": SPEC_VERSION,
                "default": SPEC_VERSION,
                "title": "Spec version",
            },
            "size": {"type": "integer", "minimum": 1, "maximum": 100_000, "title": "Subjects"},
            "seed": {
                "type": "integer",
                "minimum": 0,
                "maximum": 2**53 - 1,
                "title": "Random seed",
            },
            "indication": {"enum": list(INDICATIONS), "title": "Indication"},
            "regimen": {
                "type": "string",
                "minLength": 1,
                "title": "Regimen",
                "description": "A library regimen or one defined under `regimens`.",
                "examples": sorted(REGIMENS),
            },
            "follow_up_months": {
                "type": "number",
                "exclusiveMinimum": 0,
                "maximum": 120,
                "default": d["follow_up_months"],
                "title": "Follow-up (months)",
            },
            "visit_interval_weeks": {
                "type": "integer",
                "minimum": 1,
                "maximum": 52,
                "default": d["visit_interval_weeks"],
                "title": "MRI every (weeks)",
            },
            "eligibility": {
                "type": "object",
                "title": "Eligibility",
                "default": d["eligibility"],
                "additionalProperties": False,
                "properties": {
                    "age_min_years": {
                        "type": "number",
                        "minimum": 18,
                        "maximum": 100,
                        "default": 18,
                    },
                    "age_max_years": {
                        "type": "number",
                        "minimum": 18,
                        "maximum": 100,
                        "default": 70,
                    },
                    "kps_min": {"type": "integer", "minimum": 40, "maximum": 100, "default": 60},
                },
            },
            "demographics": {
                "type": "object",
                "title": "Demographics",
                "default": d["demographics"],
                "additionalProperties": False,
                "properties": {
                    "age": {
                        "type": "object",
                        "title": "Age (normal, truncated to the eligibility window)",
                        "additionalProperties": False,
                        "default": d["demographics"]["age"],
                        "properties": {
                            "median_years": {"type": "number", "minimum": 18, "maximum": 100},
                            "sd_years": {"type": "number", "exclusiveMinimum": 0, "maximum": 40},
                        },
                    },
                    "sex": _proportions(SEX_CATEGORIES, "Sex", "M/F proportions.")
                    | {"default": d["demographics"]["sex"]},
                    "race": _proportions(RACE_CATEGORIES, "Race", "Race proportions.")
                    | {"default": d["demographics"]["race"]},
                    "ethnicity": _proportions(ETHNICITY_CATEGORIES, "Ethnicity", "Ethnicity.")
                    | {"default": d["demographics"]["ethnicity"]},
                    "kps": _proportions(KPS_CATEGORIES, "Karnofsky performance status", "KPS.")
                    | {"default": d["demographics"]["kps"]},
                },
            },
            "biomarkers": {
                "type": "object",
                "title": "Biomarkers",
                "default": d["biomarkers"],
                "additionalProperties": False,
                "properties": {
                    "mgmt_methylated": {
                        "type": "number",
                        "minimum": 0,
                        "maximum": 1,
                        "default": 0.45,
                    },
                    "idh_mutant": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.07},
                },
            },
            "resection": _proportions(RESECTION_CATEGORIES, "Extent of resection", "Resection.")
            | {"default": d["resection"]},
            "target_population": {
                "type": "object",
                "title": "Target population (reference for bias audits)",
                "default": d["target_population"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "maxLength": 200},
                    "age_median_years": {"type": "number", "minimum": 0, "maximum": 100},
                    "male_fraction": {"type": "number", "minimum": 0, "maximum": 1},
                    "race": _proportions(RACE_CATEGORIES, "Race", "Target race proportions."),
                    "ethnicity": _proportions(ETHNICITY_CATEGORIES, "Ethnicity", "Target."),
                },
            },
            "imaging": {
                "type": "object",
                "title": "Imaging",
                "default": d["imaging"],
                "additionalProperties": False,
                "properties": {
                    "resolution_mm": {"enum": [1, 2], "default": 2, "title": "Voxel size (mm)"},
                    "sequences": {
                        "type": "array",
                        "items": {"enum": list(SEQUENCES)},
                        "minItems": 1,
                        "uniqueItems": True,
                        "default": list(SEQUENCES),
                    },
                },
            },
            "regimens": {
                "type": "object",
                "title": "User-defined regimens",
                "default": {},
                "propertyNames": {"pattern": "^[a-z][a-z0-9_]{0,63}$"},
                "additionalProperties": _regimen_schema(),
            },
        },
    }


# --------------------------------------------------------------------------- validation


def _path(parts: Any) -> str:
    return ".".join(str(part) for part in parts) or "(root)"


def _schema_errors(data: Any) -> list[FieldError]:
    validator = jsonschema.Draft202012Validator(spec_json_schema())
    errors: list[FieldError] = []
    for error in sorted(
        validator.iter_errors(data), key=lambda e: (list(map(str, e.path)), e.message)
    ):
        parts = list(error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, dict):
            for name in error.validator_value:
                if name not in error.instance:
                    errors.append(FieldError(_path([*parts, name]), "is required"))
            continue
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties", {}))
            for name in sorted(set(error.instance) - allowed):
                errors.append(FieldError(_path([*parts, name]), "unknown field"))
            continue
        if error.validator == "propertyNames":
            errors.append(
                FieldError(
                    _path([*parts, error.instance]), "name must match ^[a-z][a-z0-9_]{0,63}$"
                )
            )
            continue
        if error.validator in ("type", "enum", "const") and isinstance(error.instance, bool):
            errors.append(FieldError(_path(parts), f"must not be a boolean ({error.message})"))
            continue
        errors.append(FieldError(_path(parts), error.message))
    # jsonschema accepts True/False for integers/numbers? No, but it accepts 1.0 as an integer.
    return _dedupe(errors)


def _dedupe(errors: list[FieldError]) -> list[FieldError]:
    seen: set[tuple[str, str]] = set()
    unique: list[FieldError] = []
    for error in errors:
        key = (error.path, error.reason)
        if key not in seen:
            seen.add(key)
            unique.append(error)
    return unique


def _fill_defaults(data: dict[str, Any]) -> dict[str, Any]:
    """Complete spec with defaults, in a stable key order (input must be schema-valid)."""
    out: dict[str, Any] = {"spec_version": SPEC_VERSION}
    for key in TOP_LEVEL_ORDER[1:]:
        if key in data:
            value = copy.deepcopy(data[key])
        elif key in DEFAULTS:
            value = copy.deepcopy(DEFAULTS[key])
        else:
            continue
        out[key] = value
    for key in ("eligibility", "biomarkers", "imaging", "target_population"):
        out[key] = {**DEFAULTS[key], **out[key]}
    demo = {**DEFAULTS["demographics"], **out["demographics"]}
    demo["age"] = {**DEFAULTS["demographics"]["age"], **demo["age"]}
    for key, categories in (
        ("sex", SEX_CATEGORIES),
        ("race", RACE_CATEGORIES),
        ("ethnicity", ETHNICITY_CATEGORIES),
        ("kps", KPS_CATEGORIES),
    ):
        demo[key] = {name: float(demo[key].get(name, 0.0)) for name in categories}
    out["demographics"] = {k: demo[k] for k in ("age", "sex", "race", "ethnicity", "kps")}
    out["resection"] = {
        name: float(out["resection"].get(name, 0.0)) for name in RESECTION_CATEGORIES
    }
    target = out["target_population"]
    target["race"] = {name: float(target["race"].get(name, 0.0)) for name in RACE_CATEGORIES}
    target["ethnicity"] = {
        name: float(target["ethnicity"].get(name, 0.0)) for name in ETHNICITY_CATEGORIES
    }
    out["target_population"] = {
        k: target[k] for k in ("name", "age_median_years", "male_fraction", "race", "ethnicity")
    }
    out["eligibility"] = {
        k: out["eligibility"][k] for k in ("age_min_years", "age_max_years", "kps_min")
    }
    out["biomarkers"] = {k: float(out["biomarkers"][k]) for k in ("mgmt_methylated", "idh_mutant")}
    out["imaging"] = {
        "resolution_mm": out["imaging"]["resolution_mm"],
        "sequences": list(out["imaging"]["sequences"]),
    }
    out["regimens"] = {
        name: Regimen.from_dict(name, _regimen_defaults(body)).to_dict()
        for name, body in sorted(out["regimens"].items())
    }
    return out


def _regimen_defaults(body: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(body)
    body.setdefault("description", "")
    body.setdefault("surgery", False)
    body.setdefault("radiotherapy", None)
    if body["radiotherapy"] is not None:
        body["radiotherapy"].setdefault("fractions_per_week", 5)
    drugs = []
    for drug in body.get("drugs", []):
        drug = {"days_on": 1, "cycle_days": 1, "cycles": 1, **drug}
        drugs.append(drug)
    body["drugs"] = drugs
    return body


def _check_proportions(values: dict[str, Any], path: str) -> list[FieldError]:
    total = sum(float(v) for v in values.values())
    if abs(total - 1.0) > PROPORTION_TOLERANCE:
        return [FieldError(path, f"proportions must sum to 1 (they sum to {total:.6g})")]
    return []


def _semantic_errors(spec: dict[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    elig = spec["eligibility"]
    if elig["age_min_years"] > elig["age_max_years"]:
        errors.append(
            FieldError(
                "eligibility",
                f"empty age window: age_min_years {elig['age_min_years']} > "
                f"age_max_years {elig['age_max_years']}",
            )
        )
    demo = spec["demographics"]
    for key in ("sex", "race", "ethnicity", "kps"):
        errors += _check_proportions(demo[key], f"demographics.{key}")
    errors += _check_proportions(spec["resection"], "resection")
    target = spec["target_population"]
    errors += _check_proportions(target["race"], "target_population.race")
    errors += _check_proportions(target["ethnicity"], "target_population.ethnicity")
    eligible_kps = sum(p for name, p in demo["kps"].items() if int(name) >= elig["kps_min"])
    if eligible_kps <= 0:
        errors.append(
            FieldError(
                "eligibility.kps_min",
                f"no KPS category in demographics.kps at or above {elig['kps_min']} has a "
                "non-zero proportion",
            )
        )
    for name, body in spec["regimens"].items():
        if name in REGIMENS:
            errors.append(FieldError(f"regimens.{name}", "shadows a library regimen; rename it"))
        for i, drug in enumerate(body["drugs"]):
            unit = DRUG_UNITS[drug["drug"]]
            if drug["dose_unit"] != unit:
                errors.append(
                    FieldError(
                        f"regimens.{name}.drugs.{i}.dose_unit",
                        f"{drug['drug']} is dosed in {unit}, not {drug['dose_unit']}",
                    )
                )
            if drug["days_on"] > drug["cycle_days"] and drug["cycles"] != 1:
                errors.append(
                    FieldError(
                        f"regimens.{name}.drugs.{i}.days_on",
                        f"days_on ({drug['days_on']}) exceeds cycle_days ({drug['cycle_days']})",
                    )
                )
        if body["radiotherapy"] is None and not body["drugs"] and not body["surgery"]:
            errors.append(FieldError(f"regimens.{name}", "defines no treatment"))
    regimen = spec["regimen"]
    known = {**{k: v.to_dict() for k, v in REGIMENS.items()}, **spec["regimens"]}
    if regimen not in known:
        errors.append(
            FieldError(
                "regimen",
                f"unknown regimen {regimen!r}; choose one of {sorted(known)} or define it under "
                "regimens",
            )
        )
    elif known[regimen]["indication"] != spec["indication"]:
        errors.append(
            FieldError(
                "regimen",
                f"{regimen!r} is a {known[regimen]['indication']} regimen but indication is "
                f"{spec['indication']!r}",
            )
        )
    for key in ("follow_up_months",):
        if not math.isfinite(float(spec[key])):
            errors.append(FieldError(key, "must be finite"))
    return errors


def validate_spec(data: Any) -> list[FieldError]:
    """Every problem with ``data`` as (field path, reason); an empty list means valid."""
    if not isinstance(data, dict):
        return [FieldError("(root)", "the spec must be a JSON object")]
    errors = _schema_errors(data)
    if errors:
        return errors
    return _semantic_errors(_fill_defaults(data))


# --------------------------------------------------------------------------- parsed spec


@dataclass(frozen=True)
class CohortSpec:
    """A validated cohort spec with every default filled in (see :func:`parse_spec`)."""

    size: int
    seed: int
    indication: str
    regimen: str
    follow_up_months: float
    visit_interval_weeks: int
    eligibility: dict[str, Any]
    demographics: dict[str, Any]
    biomarkers: dict[str, float]
    resection: dict[str, float]
    target_population: dict[str, Any]
    imaging: dict[str, Any]
    regimens: dict[str, Any] = field(default_factory=dict)
    spec_version: int = SPEC_VERSION

    def to_dict(self) -> dict[str, Any]:
        """The complete normalised spec (JSON-serialisable, stable key order)."""
        return {key: copy.deepcopy(getattr(self, key)) for key in TOP_LEVEL_ORDER}

    def regimen_definition(self) -> Regimen:
        if self.regimen in self.regimens:
            return Regimen.from_dict(self.regimen, self.regimens[self.regimen])
        return REGIMENS[self.regimen]

    def with_size(self, size: int) -> CohortSpec:
        return parse_spec({**self.to_dict(), "size": size})


def parse_spec(data: Any) -> CohortSpec:
    """Validate ``data`` and return the normalised :class:`CohortSpec`; raise :class:`SpecError`."""
    errors = validate_spec(data)
    if errors:
        raise SpecError(errors)
    full = _fill_defaults(data)
    return CohortSpec(**{key: full[key] for key in TOP_LEVEL_ORDER})
