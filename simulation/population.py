"""Subjects: covariates and per-patient tumour biology, each from its own random stream.

Every subject has independent streams derived from ``SeedSequence([seed, index])``, so adding
subjects to a cohort never changes those already drawn, and any subset of indices can be
simulated on any worker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from simulation.calibration import parameters
from simulation.spec import CohortSpec

STREAMS = ("covariates", "biology", "anatomy", "schedule", "survival")
# IDH-mutant grade 4 astrocytoma patients are about 15-20 years younger (Yan 2009: mean age
# 32-37 vs 59 in IDH-wildtype). The shift is split so the cohort's age distribution is unchanged.
IDH_MUTANT_AGE_SHIFT_YEARS = 17.0


def subject_id(index: int) -> str:
    return f"SCA-{index + 1:06d}"


def subject_streams(seed: int, index: int) -> dict[str, np.random.Generator]:
    """Independent generators per purpose for subject ``index`` of a cohort seeded with ``seed``."""
    children = np.random.SeedSequence([seed, index]).spawn(len(STREAMS))
    return {
        name: np.random.Generator(np.random.PCG64(ss))
        for name, ss in zip(STREAMS, children, strict=True)
    }


def _categorical(rng: np.random.Generator, proportions: dict[str, float]) -> str:
    names = list(proportions)
    cumulative = np.cumsum([proportions[name] for name in names])
    u = rng.random() * cumulative[-1]
    return names[int(min(np.searchsorted(cumulative, u, side="right"), len(names) - 1))]


@dataclass(frozen=True)
class Covariates:
    age: int
    sex: str
    race: str
    ethnicity: str
    kps: int
    mgmt_methylated: int
    idh_mutant: int
    resection: str


def draw_covariates(spec: CohortSpec, rng: np.random.Generator) -> Covariates:
    demo, elig = spec.demographics, spec.eligibility
    idh = int(rng.random() < spec.biomarkers["idh_mutant"])
    p_idh = spec.biomarkers["idh_mutant"]
    shift = -IDH_MUTANT_AGE_SHIFT_YEARS * (1 - p_idh) if idh else IDH_MUTANT_AGE_SHIFT_YEARS * p_idh
    mean = demo["age"]["median_years"] + shift
    sd = demo["age"]["sd_years"]
    lo, hi = elig["age_min_years"], elig["age_max_years"] + 0.999
    a, b = (lo - mean) / sd, (hi - mean) / sd
    age = float(stats.truncnorm.ppf(rng.random(), a, b, loc=mean, scale=sd))
    age_years = int(min(max(math.floor(age), elig["age_min_years"]), elig["age_max_years"]))
    kps_options = {k: v for k, v in demo["kps"].items() if int(k) >= elig["kps_min"] and v > 0}
    return Covariates(
        age=age_years,
        sex=_categorical(rng, demo["sex"]),
        race=_categorical(rng, demo["race"]),
        ethnicity=_categorical(rng, demo["ethnicity"]),
        kps=int(_categorical(rng, kps_options)),
        mgmt_methylated=int(rng.random() < spec.biomarkers["mgmt_methylated"]),
        idh_mutant=idh,
        resection=_categorical(rng, spec.resection),
    )


def _lognormal(rng: np.random.Generator, median: float, log_sd: float) -> float:
    return float(median * math.exp(log_sd * rng.standard_normal()))


ALKYLATING_DRUGS = frozenset({"temozolomide", "lomustine"})


def draw_biology(
    covariates: Covariates, indication: str, rng: np.random.Generator, *, alkylator: bool = False
) -> dict[str, Any]:
    """Per-patient growth, treatment-response and survival parameters (see parameters.json)."""
    g = parameters()["growth"]
    t = parameters()["treatment"]
    s = parameters()["survival"]
    recurrent = indication == "gbm_recurrent"
    rho = _lognormal(rng, g["rho_median_per_day"], g["rho_log_sd"])
    if recurrent:
        rho *= g["rho_recurrent_factor"]
    if covariates.idh_mutant:
        rho *= g["rho_idh_mutant_factor"]
    d_white = min(
        _lognormal(rng, g["d_white_median_mm2_per_day"], g["d_white_log_sd"]),
        g["d_white_max_mm2_per_day"],
    )
    ratio = float(rng.uniform(g["d_white_to_grey_ratio_min"], g["d_white_to_grey_ratio_max"]))
    volume_key = "recurrence_volume_median_ml" if recurrent else "diagnosis_volume_median_ml"
    volume = _lognormal(rng, g[volume_key], g["diagnosis_volume_log_sd"])
    methylated = bool(covariates.mgmt_methylated)
    alpha = _lognormal(rng, t["rt_alpha_median_per_gy"], t["rt_alpha_log_sd"])
    if methylated:
        alpha *= t["rt_alpha_methylated_factor"]
    chemo_factor = math.exp(t["chemo_sensitivity_log_sd"] * rng.standard_normal())
    if covariates.idh_mutant:
        chemo_factor *= t["idh_mutant_chemo_factor"]
    if recurrent:
        chemo_factor *= t["recurrent_prior_therapy_sensitivity"]
    suffix = "methylated" if methylated else "unmethylated"
    log_kill = {
        "temozolomide": t[f"tmz_log_kill_per_200mg_m2_{suffix}"] * chemo_factor,
        "lomustine": t[f"lomustine_log_kill_per_110mg_m2_{suffix}"] * chemo_factor,
    }
    removed = {
        "gtr": float(rng.uniform(t["gtr_removed_fraction_min"], t["gtr_removed_fraction_max"])),
        "str": float(rng.uniform(t["str_removed_fraction_min"], t["str_removed_fraction_max"])),
        "biopsy": float(t["biopsy_removed_fraction"]),
    }[covariates.resection]
    approach = rng.standard_normal(3)
    approach /= np.linalg.norm(approach)
    pseudo_p = t[f"pseudoprogression_fraction_{suffix}"]
    pseudo = bool(rng.random() < pseudo_p)
    log_lethal = (
        math.log(s["lethal_burden_median_ml"])
        + s["lethal_burden_log_sd"] * rng.standard_normal()
        + s["age_effect_per_decade"] * (covariates.age - 55) / 10
        + s["kps_effect_per_10"] * (covariates.kps - 80) / 10
        + s["mgmt_methylated_effect"] * covariates.mgmt_methylated
        + s["mgmt_methylated_alkylator_effect"] * covariates.mgmt_methylated * alkylator
        + s["idh_mutant_effect"] * covariates.idh_mutant
        + {"gtr": s["resection_gtr_effect"], "str": s["resection_str_effect"], "biopsy": 0.0}[
            covariates.resection
        ]
    )
    if recurrent:
        log_lethal += math.log(s["recurrent_lethal_burden_factor"])
    return {
        "rho_per_day": rho,
        "d_white_mm2_per_day": d_white,
        "d_grey_mm2_per_day": d_white / ratio,
        "initial_volume_ml": volume,
        "rt_alpha_per_gy": alpha,
        "chemo_log_kill": log_kill,
        "resected_fraction": removed,
        "surgical_approach": [float(v) for v in approach],
        "pseudoprogression": pseudo,
        "lethal_burden_ml": math.exp(log_lethal),
    }
