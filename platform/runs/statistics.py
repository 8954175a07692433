"""Cohort statistics of a run, computed once with lifelines and pandas and stored as JSON.

Sections: Table 1 of baseline characteristics; Kaplan-Meier OS and PFS with 95% CIs and
numbers at risk; objective response; tumour-volume trajectories; the bias breakdown against the
spec's target population (standardised mean differences); outcome medians by subgroup.

Beside them, the per-subject series of the dashboard's waterfall, swimmer and tumour-volume
plots (`subject_plots`), stored apart (``RunStatistics.subject_plots``) so that pages showing
only the summary never load them.
"""

import math
from typing import Any

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test
from lifelines.utils import median_survival_times
from scipy.stats import binomtest

#: |SMD| above which a covariate counts as imbalanced (Austin, Stat Med 2009;28:3083-3107).
SMD_IMBALANCE_THRESHOLD = 0.1
CONFIDENCE_LEVEL = 0.95
#: Objective response = complete + partial response (RANO, Wen 2010).
OBJECTIVE_RESPONSES = ("CR", "PR")
RESPONSE_ORDER = ("CR", "PR", "SD", "PD", "NE")
AT_RISK_STEP_MONTHS = 3
MAX_CURVE_POINTS = 400
CURVE_GRID_STEP_MONTHS = 0.25
AGE_BANDS = ((18, 50, "18-49"), (50, 60, "50-59"), (60, 70, "60-69"), (70, 200, "70+"))
CATEGORICAL_COVARIATES = ("sex", "race", "ethnicity", "resection", "regimen")
BINARY_COVARIATES = ("mgmt_methylated", "idh_mutant")
SUBGROUP_COVARIATES = ("sex", "age_band", "race", "ethnicity", "mgmt_methylated", "resection")
ENDPOINTS = {"os": ("os_months", "os_event"), "pfs": ("pfs_months", "pfs_event")}


def _finite(value: float | None, digits: int = 4) -> float | None:
    if value is None:
        return None
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


# --- Table 1 ------------------------------------------------------------------------------------


def _continuous(values: pd.Series) -> dict[str, Any]:
    return {
        "n": int(values.count()),
        "mean": _finite(values.mean()),
        "sd": _finite(values.std(ddof=1)),
        "median": _finite(values.median()),
        "q1": _finite(values.quantile(0.25)),
        "q3": _finite(values.quantile(0.75)),
        "min": _finite(values.min()),
        "max": _finite(values.max()),
    }


def _categorical(values: pd.Series) -> list[dict[str, Any]]:
    counts = values.astype(str).value_counts().sort_index()
    total = int(counts.sum())
    return [
        {"level": level, "n": int(n), "percent": _finite(100 * n / total, 2)}
        for level, n in counts.items()
    ]


def table_one(subjects: pd.DataFrame) -> dict[str, Any]:
    table: dict[str, Any] = {
        "n": len(subjects),
        "age": _continuous(subjects["age"]),
        "kps": _continuous(subjects["kps"]),
        "kps_levels": _categorical(subjects["kps"]),
    }
    for name in (*CATEGORICAL_COVARIATES, *BINARY_COVARIATES):
        table[name] = _categorical(subjects[name])
    return table


# --- Kaplan-Meier -----------------------------------------------------------------------------


def _fit(durations: pd.Series, events: pd.Series, label: str) -> KaplanMeierFitter:
    kmf = KaplanMeierFitter(alpha=1 - CONFIDENCE_LEVEL)
    kmf.fit(durations.astype(float), events.astype(bool), label=label)
    return kmf


def _median_with_ci(kmf: KaplanMeierFitter) -> dict[str, float | None]:
    ci = median_survival_times(kmf.confidence_interval_)
    return {
        "median": _finite(kmf.median_survival_time_),
        "ci_lower": _finite(ci.iloc[0, 0]),
        "ci_upper": _finite(ci.iloc[0, 1]),
    }


def _step_at(kmf: KaplanMeierFitter, times: np.ndarray) -> tuple[np.ndarray, ...]:
    timeline = kmf.timeline
    index = np.searchsorted(timeline, times, side="right") - 1
    index = np.clip(index, 0, len(timeline) - 1)
    ci = kmf.confidence_interval_.to_numpy()
    return kmf.survival_function_.to_numpy()[index, 0], ci[index, 0], ci[index, 1]


def kaplan_meier(
    durations: pd.Series, events: pd.Series, *, label: str, horizon_months: float
) -> dict[str, Any]:
    kmf = _fit(durations, events, label)
    times = kmf.timeline
    if len(times) > MAX_CURVE_POINTS:
        times = np.arange(0.0, float(times.max()) + CURVE_GRID_STEP_MONTHS, CURVE_GRID_STEP_MONTHS)
    survival, lower, upper = _step_at(kmf, np.asarray(times, dtype=float))
    at_risk_times = np.arange(0, horizon_months + 1e-9, AT_RISK_STEP_MONTHS)
    durations_np = durations.to_numpy(dtype=float)
    landmarks = {}
    for months in (6, 12, 24):
        s, lo, hi = _step_at(kmf, np.asarray([months], dtype=float))
        landmarks[f"{months}_months"] = {
            "survival": _finite(s[0]),
            "ci_lower": _finite(lo[0]),
            "ci_upper": _finite(hi[0]),
        }
    return {
        "n": int(len(durations)),
        "events": int(events.astype(bool).sum()),
        **_median_with_ci(kmf),
        "landmarks": landmarks,
        "curve": {
            "time_months": [_finite(t) for t in times],
            "survival": [_finite(v) for v in survival],
            "ci_lower": [_finite(v) for v in lower],
            "ci_upper": [_finite(v) for v in upper],
        },
        "at_risk": {
            "time_months": [float(t) for t in at_risk_times],
            "n": [int((durations_np >= t).sum()) for t in at_risk_times],
        },
    }


# --- Response and trajectories ---------------------------------------------------------------


def _proportion_ci(successes: int, n: int) -> dict[str, float | None]:
    if n == 0:
        return {"rate": None, "ci_lower": None, "ci_upper": None}
    ci = binomtest(successes, n).proportion_ci(confidence_level=CONFIDENCE_LEVEL, method="exact")
    return {
        "rate": _finite(successes / n),
        "ci_lower": _finite(ci.low),
        "ci_upper": _finite(ci.high),
    }


def response_summary(subjects: pd.DataFrame) -> dict[str, Any]:
    best = subjects["best_response"].fillna("NE").astype(str)
    n = len(best)
    responders = int(best.isin(OBJECTIVE_RESPONSES).sum())
    levels = [*RESPONSE_ORDER, *sorted(set(best) - set(RESPONSE_ORDER))]
    return {
        "objective_response": {"n": n, "responders": responders, **_proportion_ci(responders, n)},
        "best_response": [
            {
                "level": level,
                "n": int((best == level).sum()),
                "percent": _finite(100 * (best == level).sum() / n, 2) if n else None,
            }
            for level in levels
        ],
    }


def trajectory_summary(assessments: pd.DataFrame) -> list[dict[str, Any]]:
    if assessments.empty:
        return []
    rows = []
    for visit, group in assessments.groupby("visit", sort=True):
        row: dict[str, Any] = {
            "visit": int(visit),
            "n": len(group),
            "day_median": _finite(group["day"].median()),
        }
        for column in ("enhancing_ml", "necrosis_ml", "edema_ml", "spd_mm2"):
            row[column] = {
                "median": _finite(group[column].median()),
                "q1": _finite(group[column].quantile(0.25)),
                "q3": _finite(group[column].quantile(0.75)),
            }
        rows.append(row)
    return rows


# --- Bias breakdown -------------------------------------------------------------------------------


def smd_proportion(p_cohort: float, p_target: float) -> float:
    """SMD of a binary covariate: difference over the pooled Bernoulli SD (Austin 2009)."""
    pooled = math.sqrt((p_cohort * (1 - p_cohort) + p_target * (1 - p_target)) / 2)
    if pooled == 0:
        return 0.0 if p_cohort == p_target else math.copysign(math.inf, p_cohort - p_target)
    return (p_cohort - p_target) / pooled


def smd_mean(mean_cohort: float, sd_cohort: float, mean_target: float, sd_target: float) -> float:
    pooled = math.sqrt((sd_cohort**2 + sd_target**2) / 2)
    return 0.0 if pooled == 0 else (mean_cohort - mean_target) / pooled


def _bias_row(
    covariate: str,
    level: str | None,
    cohort: float,
    target: float,
    smd: float,
    reference: str,
    statistic: str,
) -> dict[str, Any]:
    return {
        "covariate": covariate,
        "level": level,
        "statistic": statistic,
        "cohort": _finite(cohort),
        "target": _finite(target),
        "reference": reference,
        "smd": _finite(smd),
        "flagged": bool(abs(smd) > SMD_IMBALANCE_THRESHOLD),
    }


def bias_breakdown(subjects: pd.DataFrame, spec: dict[str, Any]) -> dict[str, Any]:
    """Every covariate against its reference: the target population where the spec gives one
    (age, sex, race, ethnicity), else the spec's design distribution (KPS, biomarkers, resection).
    """
    target = spec.get("target_population", {})
    design = spec.get("demographics", {})
    rows: list[dict[str, Any]] = []
    if "age_median_years" in target:
        sd_target = float(design.get("age", {}).get("sd_years", subjects["age"].std(ddof=1)))
        # The target gives a median; for a near-symmetric age distribution it stands for the mean.
        rows.append(
            _bias_row(
                "age",
                None,
                subjects["age"].mean(),
                target["age_median_years"],
                smd_mean(
                    subjects["age"].mean(),
                    subjects["age"].std(ddof=1),
                    target["age_median_years"],
                    sd_target,
                ),
                "target_population",
                "mean_years",
            )
        )
    if "male_fraction" in target:
        p = float((subjects["sex"] == "M").mean())
        rows.append(
            _bias_row(
                "sex",
                "M",
                p,
                target["male_fraction"],
                smd_proportion(p, target["male_fraction"]),
                "target_population",
                "proportion",
            )
        )
    for name in ("race", "ethnicity"):
        for level, p_target in sorted(target.get(name, {}).items()):
            p = float((subjects[name] == level).mean())
            rows.append(
                _bias_row(
                    name,
                    level,
                    p,
                    p_target,
                    smd_proportion(p, p_target),
                    "target_population",
                    "proportion",
                )
            )
    for level, p_target in sorted(design.get("kps", {}).items()):
        p = float((subjects["kps"].astype(int).astype(str) == str(level)).mean())
        rows.append(
            _bias_row(
                "kps",
                str(level),
                p,
                p_target,
                smd_proportion(p, p_target),
                "spec_design",
                "proportion",
            )
        )
    for name, p_target in sorted(spec.get("biomarkers", {}).items()):
        if name in subjects:
            p = float(subjects[name].astype(bool).mean())
            rows.append(
                _bias_row(
                    name,
                    "true",
                    p,
                    p_target,
                    smd_proportion(p, p_target),
                    "spec_design",
                    "proportion",
                )
            )
    for level, p_target in sorted(spec.get("resection", {}).items()):
        p = float((subjects["resection"] == level).mean())
        rows.append(
            _bias_row(
                "resection",
                level,
                p,
                p_target,
                smd_proportion(p, p_target),
                "spec_design",
                "proportion",
            )
        )
    return {
        "threshold": SMD_IMBALANCE_THRESHOLD,
        "target_name": target.get("name", ""),
        "rows": rows,
        "flagged": sum(row["flagged"] for row in rows),
    }


# --- Subgroups ------------------------------------------------------------------------------------


def age_band(age_years: pd.Series) -> pd.Series:
    bands = pd.Series("", index=age_years.index, dtype=object)
    for low, high, label in AGE_BANDS:
        bands[(age_years >= low) & (age_years < high)] = label
    return bands


def subgroup_medians(subjects: pd.DataFrame) -> list[dict[str, Any]]:
    frame = subjects.assign(age_band=age_band(subjects["age"]))
    rows = []
    for covariate in SUBGROUP_COVARIATES:
        for level, group in frame.groupby(frame[covariate].astype(str), sort=True):
            row: dict[str, Any] = {"covariate": covariate, "level": level, "n": len(group)}
            for endpoint, (duration, event) in ENDPOINTS.items():
                row[endpoint] = _median_with_ci(_fit(group[duration], group[event], endpoint))
            rows.append(row)
    return rows


# --- The whole set, and comparisons ---------------------------------------------------------------


def cohort_statistics(
    subjects: pd.DataFrame, assessments: pd.DataFrame, spec: dict[str, Any]
) -> dict[str, Any]:
    horizon = float(spec.get("follow_up_months", subjects["os_months"].max()))
    return {
        "n_subjects": len(subjects),
        "table_one": table_one(subjects),
        "kaplan_meier": {
            endpoint: kaplan_meier(
                subjects[duration], subjects[event], label=endpoint, horizon_months=horizon
            )
            for endpoint, (duration, event) in ENDPOINTS.items()
        },
        "response": response_summary(subjects),
        "trajectories": trajectory_summary(assessments),
        "bias": bias_breakdown(subjects, spec),
        "subgroups": subgroup_medians(subjects),
    }


def compute_run_statistics_and_plots(*, run: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The statistics and the per-subject plot series of a run, from one read of its rows."""
    from .selectors import assessments_frame, subjects_frame

    subjects, assessments = subjects_frame(run=run), assessments_frame(run=run)
    return (
        cohort_statistics(subjects, assessments, run.spec.data),
        subject_plots(subjects, assessments),
    )


def compare_cohorts(a: pd.DataFrame, b: pd.DataFrame) -> dict[str, Any]:
    """Two runs side by side: medians, response rates, and the log-rank test of OS and PFS."""
    out: dict[str, Any] = {}
    for endpoint, (duration, event) in ENDPOINTS.items():
        test = logrank_test(
            a[duration],
            b[duration],
            event_observed_A=a[event].astype(bool),
            event_observed_B=b[event].astype(bool),
        )
        out[endpoint] = {
            "a": _median_with_ci(_fit(a[duration], a[event], "a")),
            "b": _median_with_ci(_fit(b[duration], b[event], "b")),
            "logrank_p": _finite(test.p_value, 6),
        }
    out["objective_response"] = {
        "a": response_summary(a)["objective_response"],
        "b": response_summary(b)["objective_response"],
    }
    out["age_mean"] = {"a": _finite(a["age"].mean()), "b": _finite(b["age"].mean())}
    out["male_fraction"] = {
        "a": _finite((a["sex"] == "M").mean()),
        "b": _finite((b["sex"] == "M").mean()),
    }
    return out


# --- Per-subject plot series ----------------------------------------------------------------------

#: Bars of the waterfall: more than a plot has pixels across would add nothing to its shape.
WATERFALL_MAX_SUBJECTS = 2000
#: Rows of the swimmer plot: each subject is a labelled row, so a few dozen stay readable.
SWIMMER_MAX_SUBJECTS = 50
#: Lines of the tumour-volume plot: beyond a couple of hundred the lines merge into one band.
SPAGHETTI_MAX_SUBJECTS = 200
DAYS_PER_MONTH = 365.25 / 12  # Julian year, as the simulation converts days to months
SUBJECT_PLOTS_FORMAT = 1


def evenly_spaced(n: int, k: int) -> np.ndarray:
    """``k`` of the positions ``0..n-1``, evenly spaced, first and last included (all when
    ``n <= k``). Taken from a ranking, the sample keeps the distribution's quantiles."""
    if n <= k:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, k)).astype(int))


def _rounded(values: Any, digits: int) -> list[float | None]:
    array = np.asarray(values, dtype=float).round(digits)
    return [float(v) if math.isfinite(v) else None for v in array]


def _responses(values: pd.Series) -> list[str]:
    return [value if isinstance(value, str) and value else "NE" for value in values]


def _sampling(shown: int, total: int, ranked_by: str) -> dict[str, Any]:
    return {"shown": shown, "of": total, "ranked_by": ranked_by}


def subject_plots(subjects: pd.DataFrame, assessments: pd.DataFrame) -> dict[str, Any]:
    """Columnar, rounded series of the waterfall, swimmer and tumour-volume (spaghetti) plots.

    Each plot holds at most its ``*_MAX_SUBJECTS``; a larger cohort is sampled
    deterministically at evenly spaced ranks (`evenly_spaced`): the waterfall by best SPD
    change (so the sampled bars trace the whole cohort's curve), the swimmer by overall
    survival (short to long), the volume lines by subject index (the simulation draws every
    subject from its own stream, so any index set is an unbiased sample). ``sampling`` says how
    many were shown of how many. Subjects are named by ``subject_id`` only (no database key),
    so the series are a function of the cohort alone: same frames, same bytes.
    """
    subjects = subjects.sort_values("subject_index", kind="stable").reset_index(drop=True)
    index_of = dict(zip(subjects["subject_id"], subjects["subject_index"], strict=True))
    visits = (
        assessments.assign(_index=assessments["subject_id"].map(index_of))
        .sort_values(["_index", "visit"], kind="stable")
        .reset_index(drop=True)
    )
    is_baseline = ~visits["subject_id"].duplicated()

    # Waterfall: best (lowest) SPD after baseline, as a change from a measurable baseline.
    baseline_spd = visits.loc[is_baseline].set_index("subject_id")["spd_mm2"]
    best_spd = visits.loc[~is_baseline].groupby("subject_id", sort=False)["spd_mm2"].min()
    change = pd.DataFrame({"baseline": baseline_spd, "best": best_spd}).dropna()
    change = change[change["baseline"] > 0]
    waterfall = subjects.set_index("subject_id").loc[
        change.index, ["subject_index", "best_response"]
    ]
    waterfall = waterfall.assign(
        change=(100 * (change["best"] - change["baseline"]) / change["baseline"]).round(1)
    ).reset_index()
    waterfall = waterfall.sort_values(["change", "subject_index"], ascending=[False, True])
    waterfall = waterfall.iloc[evenly_spaced(len(waterfall), WATERFALL_MAX_SUBJECTS)]

    # Swimmer: time on study, progression, death or censoring, and objective responses.
    swimmer = subjects.sort_values(["os_months", "subject_index"], kind="stable")
    swimmer = swimmer.iloc[evenly_spaced(len(swimmer), SWIMMER_MAX_SUBJECTS)]
    responded = visits[visits["response"].isin(OBJECTIVE_RESPONSES)]
    response_days = responded.groupby("subject_id", sort=False)["day"].apply(list)

    # Spaghetti: tumour core (enhancing + necrosis) at each visit.
    spaghetti = subjects.iloc[evenly_spaced(len(subjects), SPAGHETTI_MAX_SUBJECTS)]
    chosen = visits[visits["subject_id"].isin(set(spaghetti["subject_id"]))]
    by_subject = {sid: rows for sid, rows in chosen.groupby("subject_id", sort=False)}
    spaghetti = spaghetti[spaghetti["subject_id"].isin(by_subject.keys())]

    def ids(frame: pd.DataFrame) -> dict[str, list[str]]:
        return {"subject_id": [str(s) for s in frame["subject_id"]]}

    return {
        "format": SUBJECT_PLOTS_FORMAT,
        "waterfall": {
            **ids(waterfall),
            "best_change_percent": _rounded(waterfall["change"], 1),
            "best_response": _responses(waterfall["best_response"]),
            "sampling": _sampling(len(waterfall), len(change), "best SPD change"),
        },
        "swimmer": {
            **ids(swimmer),
            "os_months": _rounded(swimmer["os_months"], 2),
            "os_event": [int(bool(e)) for e in swimmer["os_event"]],
            "pfs_months": _rounded(swimmer["pfs_months"], 2),
            "pfs_event": [int(bool(e)) for e in swimmer["pfs_event"]],
            "best_response": _responses(swimmer["best_response"]),
            "response_months": [
                _rounded(np.asarray(response_days.get(sid, []), dtype=float) / DAYS_PER_MONTH, 2)
                for sid in swimmer["subject_id"]
            ],
            "sampling": _sampling(len(swimmer), len(subjects), "overall survival"),
        },
        "spaghetti": {
            **ids(spaghetti),
            "day": [[int(d) for d in by_subject[sid]["day"]] for sid in spaghetti["subject_id"]],
            "tumour_ml": [
                _rounded(by_subject[sid]["enhancing_ml"] + by_subject[sid]["necrosis_ml"], 1)
                for sid in spaghetti["subject_id"]
            ],
            "sampling": _sampling(len(spaghetti), len(subjects), "subject index"),
        },
    }
